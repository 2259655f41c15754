from tests.fixtures.smtp import smtp  # noqa: F401 - an SMTP server on loopback, for every test here

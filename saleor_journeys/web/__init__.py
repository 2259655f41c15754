"""The web channel: the ``journeys.js`` snippet, the collect endpoint, visitors and their
identification, on-site messages and web push."""

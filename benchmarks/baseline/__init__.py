"""A bare Django project that ingests a webhook the cheapest reasonable way: the yardstick."""

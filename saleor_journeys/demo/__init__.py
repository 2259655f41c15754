"""``saleor-journeys demo``: a virtual pet shop whose customers live 30 days in a minute.

Everything goes through the app's real paths — signed Saleor webhooks, the storefront's collect
endpoint, tracked links, the GraphQL API — on a fresh embedded database of its own.
"""

"""Names of the HTTP headers Saleor sends, in one place."""

from collections.abc import Mapping

EVENT = "Saleor-Event"
DOMAIN = "Saleor-Domain"
API_URL = "Saleor-Api-Url"
SIGNATURE = "Saleor-Signature"
SCHEMA_VERSION = "Saleor-Schema-Version"

# Older spellings Saleor still sends next to the new ones (announced to go away in 4.0).
LEGACY = {
    EVENT: "X-Saleor-Event",
    DOMAIN: "X-Saleor-Domain",
    SIGNATURE: "X-Saleor-Signature",
}


def read(headers: Mapping[str, str], name: str) -> str:
    """The header's value, falling back to its legacy spelling; empty when absent."""
    value = headers.get(name) or headers.get(LEGACY.get(name, ""), "")
    return value.strip()

"""The demo Saleor's signing key: a fresh RS256 key pair whose public half is the installation's
JWKS, so every demo webhook passes the same signature check a real Saleor's does."""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class DemoKey:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.kid = f"demo-{public['n'][:12]}"
        self._jws = jwt.api_jws.PyJWS()

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"use": "sig", "alg": "RS256", "kid": self.kid})
        return {"keys": [jwk]}

    def sign(self, body: bytes) -> str:
        """``Saleor-Signature``: a compact JWS with a detached, unencoded payload (RFC 7797)."""
        return self._jws.encode(
            body,
            self.private,
            algorithm="RS256",
            headers={"kid": self.kid, "b64": False, "crit": ["b64"]},
            is_payload_detached=True,
        )

"""A stand-in for the demo shop's Saleor API, on a loopback port of this process.

It answers what the app asks a Saleor for — the JWKS, and the voucher operations of the
``create_voucher`` step (create, find by code, channel by slug, channel listing, private
metadata) — the way Saleor 3.24 answers them, and remembers the vouchers it made for the report.
Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from saleor_journeys.demo.shop import CHANNEL


class SaleorStandIn:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.vouchers: dict[str, dict[str, Any]] = {}  # id -> {code, input, listings, metadata}
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/jwks.json":
                    self._json(200, stand_in.jwks)
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    request = json.loads(self.rfile.read(length))
                except ValueError:
                    self._json(400, {"errors": [{"message": "not JSON"}]})
                    return
                self._json(200, stand_in.answer(request))

            def _json(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo's output is its progress bar and its report

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/graphql/"

    def __enter__(self) -> SaleorStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        query = str(request.get("query", ""))
        variables = request.get("variables") or {}
        with self._lock:
            if "voucherCreate" in query:
                data = variables["input"]
                code = data["addCodes"][0]
                if any(v["code"] == code for v in self.vouchers.values()):
                    error = {
                        "field": "codes",
                        "code": "ALREADY_EXISTS",
                        "message": "Promo code already exists.",
                    }
                    return {"data": {"voucherCreate": {"voucher": None, "errors": [error]}}}
                voucher_id = base64.b64encode(f"Voucher:{len(self.vouchers) + 1}".encode()).decode()
                self.vouchers[voucher_id] = {
                    "code": code,
                    "input": data,
                    "listings": [],
                    "metadata": [],
                }
                return {"data": {"voucherCreate": {"voucher": {"id": voucher_id}, "errors": []}}}
            if "vouchers(" in query:
                search = str(variables.get("code", "")).lower()
                edges = [
                    {"node": {"id": vid, "codes": {"edges": [{"node": {"code": v["code"]}}]}}}
                    for vid, v in self.vouchers.items()
                    if search in v["code"].lower()
                ]
                return {"data": {"vouchers": {"edges": edges}}}
            if "channel(" in query:
                found = variables.get("slug") == CHANNEL["slug"]
                return {"data": {"channel": {"id": CHANNEL["id"]} if found else None}}
            voucher = self.vouchers.get(str(variables.get("id")))
            if voucher is None:
                return {"errors": [{"message": "Couldn't resolve id"}]}
            if "voucherChannelListingUpdate" in query:
                voucher["listings"] += variables["input"]["addChannels"]
                payload = {"voucher": {"id": variables["id"]}, "errors": []}
                return {"data": {"voucherChannelListingUpdate": payload}}
            if "updatePrivateMetadata" in query:
                voucher["metadata"] += variables["input"]
                return {"data": {"updatePrivateMetadata": {"errors": []}}}
        return {"errors": [{"message": "The demo Saleor does not know this operation."}]}

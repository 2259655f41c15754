"""Where the demo's SMS go: the real Twilio client, with its HTTP client (the seam
``messaging.sms.http_client`` offers for this) replaced by one that records the request and
answers like Twilio's ``Messages.json`` does. The SMS channel, its policy (consent, quiet hours)
and its rendering run unchanged; nothing leaves the machine."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio.http import HttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]

from saleor_journeys.core import clock

ACCOUNT_SID = "AC00000000000000000000000000demo"
AUTH_TOKEN = "demo-twilio-auth-token"  # noqa: S105 - a stand-in, it opens nothing
SENDER = "+15125550100"


@dataclass(frozen=True)
class Text:
    at: datetime
    to: str
    body: str
    sid: str


class RecordingTwilio(HttpClient):
    def __init__(self) -> None:
        super().__init__(logging.getLogger(__name__), is_async=False)
        self.sent: list[Text] = []
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        form = data or {}
        with self._lock:
            to, at = str(form.get("To", "")), clock.now()
            # Unique without a shared counter: the demo's customers are played in several
            # processes.
            seed = f"{to}|{at.isoformat()}|{len(self.sent)}"
            sid = "SM" + hashlib.sha256(seed.encode()).hexdigest()[:32]
            text = Text(at, to, str(form.get("Body", "")), sid)
            self.sent.append(text)
        answer: dict[str, Any] = {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": text.to,
            "from": SENDER,
            "body": text.body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "date_created": text.at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        return Response(201, json.dumps(answer), headers={"Content-Type": "application/json"})

"""A storefront for browser tests: a threaded HTTP server on loopback serving the pages a test
gives it, so that the shop's pages are on another origin than the app, as in production.

    with Storefront({"/": "<html>…</html>"}) as shop:
        page.goto(shop.url("/"))

``pages`` maps a path (without the query string) to HTML, or to ``(content type, body)`` for
anything else (a service worker, a stylesheet). It can be changed while the server runs.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

Content = str | tuple[str, str | bytes]


class Storefront:
    def __init__(self, pages: dict[str, Content] | None = None, host: str = "127.0.0.1") -> None:
        self.pages: dict[str, Content] = dict(pages or {})
        self.requests: list[str] = []  # the paths asked for, with their query strings
        self.host = host
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                content = server.pages.get(urlsplit(self.path).path)
                if content is None:
                    content_type, body = "text/plain; charset=utf-8", b"not found"
                    self.send_response(404)
                else:
                    if isinstance(content, str):
                        content = ("text/html; charset=utf-8", content)
                    content_type, text = content
                    body = text.encode() if isinstance(text, str) else text
                    self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def start(self) -> Storefront:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def __enter__(self) -> Storefront:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

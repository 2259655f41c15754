"""The SMTP server ``emails.py`` sends to: aiosmtpd on loopback, in a process of its own.

It takes every message with ``250`` and only counts it (messages, bytes, distinct
``Message-ID`` headers: a regular expression over the header block, no MIME parsing) and keeps
its bytes and envelope in memory, so that the benchmark can check what arrived and send the very
same bytes again as its baseline. Three extra commands, for the benchmark's own connection:

- ``XSTAT``: ``250 messages=<n> bytes=<n> distinct=<n> noid=<n>`` since the last reset;
- ``XDUMP <path>``: writes the messages kept since the last reset to ``<path>``: per message a
  line ``<mail from>\\t<rcpt>[,<rcpt>…]\\t<length>\\n``, then the bytes as received;
- ``XRESET``: forgets everything (counts and messages).

    python benchmarks/email_smtpd.py [--port 0]

It prints
``listening on 127.0.0.1:<port>`` once it takes connections, and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class Sink:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.ids: set[bytes] = set()
        self.no_id = 0
        self.kept: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        head = content[: content.find(b"\r\n\r\n")]
        match = MESSAGE_ID.search(head)
        if match:
            self.ids.add(match.group(1))
        else:
            self.no_id += 1
        self.messages += 1
        self.bytes += len(content)
        self.kept.append((envelope.mail_from or "", list(envelope.rcpt_tos), content))
        return "250 OK"

    def stats(self) -> str:
        return (
            f"messages={self.messages} bytes={self.bytes} distinct={len(self.ids)} "
            f"noid={self.no_id}"
        )

    def dump(self, path: str) -> int:
        with Path(path).open("wb") as out:
            for mail_from, rcpt_tos, content in self.kept:
                out.write(f"{mail_from}\t{','.join(rcpt_tos)}\t{len(content)}\n".encode())
                out.write(content)
        return len(self.kept)


class BenchSMTP(SMTP):
    """aiosmtpd's server with the three commands of the benchmark."""

    sink: Sink

    async def smtp_XSTAT(self, arg: str) -> None:
        await self.push(f"250 {self.sink.stats()}")

    async def smtp_XDUMP(self, arg: str) -> None:
        try:
            count = self.sink.dump(arg.strip())
        except OSError as exc:
            await self.push(f"550 {exc}")
            return
        await self.push(f"250 {count} messages written")

    async def smtp_XRESET(self, arg: str) -> None:
        self.sink.reset()
        await self.push("250 reset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()

    sink = Sink()

    def factory() -> Any:
        # A fixed hostname: without one, aiosmtpd looks up the machine's FQDN per connection.
        server = BenchSMTP(sink, hostname="smtp.bench", ident="bench sink")
        server.sink = sink
        return server

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, args.host, args.port))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, loop.stop)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        loop.run_forever()
    finally:
        # Not server.wait_closed(): it waits for every client connection to end, and a signal
        # must stop the server whatever its clients do.
        server.close()


if __name__ == "__main__":
    main()

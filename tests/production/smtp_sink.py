"""A real SMTP server for the production topology (aiosmtpd), run as its own process so a
test can stop it (an SMTP outage) and start it again.

    python -m tests.production.smtp_sink DIRECTORY PORT

Every message accepted is written to DIRECTORY/<n>.eml (the whole message as received).
While DIRECTORY/slow exists, each RCPT TO waits that many seconds before it is answered: a
sender is then stuck in the middle of a delivery (before DATA, so nothing is stored), which
is where the worker-kill test kills it.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.numbers = itertools.count(len(list(directory.glob("*.eml"))) + 1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        slow = self.directory / "slow"
        if slow.exists():
            (self.directory / "rcpt-waiting").write_text(address)
            await asyncio.sleep(float(slow.read_text() or "30"))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = self.directory / f"{next(self.numbers):06d}.eml"
        temporary = path.with_suffix(".part")
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(path)
        return "250 Message accepted for delivery"


def main(directory: str, port: str) -> None:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=int(port))
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main(*sys.argv[1:3])

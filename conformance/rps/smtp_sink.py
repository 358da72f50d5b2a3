"""A loopback SMTP sink: every message it accepts is written to a folder as JSON.

Usage: smtp_sink.py PORT DIR

Each message becomes DIR/<nanoseconds>-NNNN.json (names sort by arrival) holding
{"mail_from", "rcpt_tos", "data"}, data being the raw message as text. Files appear
atomically (written, then renamed). It listens on 127.0.0.1 only and runs until it gets
SIGTERM or SIGINT.
"""

import itertools
import json
import os
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class FolderHandler:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        name = f"{time.time_ns()}-{n:04d}"
        tmp = os.path.join(self.folder, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, f"{name}.json"))
        print(f"smtp-sink: message {n} for {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(FolderHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp-sink: listening on 127.0.0.1:{port}, writing to {folder}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

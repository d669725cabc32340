"""Many python-socketio clients against one server, in OS threads: connect, broadcast, count.

Run as ``python socketio_clients.py URL WEBSOCKET_CLIENTS POLLING_CLIENTS BATCH TIMEOUT``. All
clients connect (the given number over each transport) and stay connected; then every client
emits one ``bcast`` event carrying its number, ``BATCH`` clients at a time, and each round waits
until every client has received every broadcast so far. Rounds keep the packets queued for a
long-polling client below python-engineio's client limit of 16 packets per poll response
(``payload.Payload.max_decode_packets``; more makes the client drop the connection, whatever
the server). Prints one JSON line: transports used, how many clients received every broadcast,
what was missing or duplicated, and how long it took.
"""

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import socketio


class Member:
    """One client and what it has received."""

    def __init__(self, index, transport):
        self.index = index
        self.transport = transport
        self.seen = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bcast", self.on_bcast)

    def on_bcast(self, data):
        with self.changed:
            self.seen.append(data["from"])
            self.changed.notify_all()

    def connect(self, url):
        self.client.connect(url, transports=[self.transport], wait_timeout=30)
        return self.client.transport()

    def wait_for(self, count, deadline):
        with self.changed:
            return self.changed.wait_for(lambda: len(self.seen) >= count,
                                         max(0.0, deadline - time.monotonic()))


def main():
    url = sys.argv[1]
    n_ws, n_polling, batch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    timeout = float(sys.argv[5])
    total = n_ws + n_polling
    members = [Member(i, "websocket" if i < n_ws else "polling") for i in range(total)]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as executor:
        transports = list(executor.map(lambda m: m.connect(url), members))
    connected_in = time.monotonic() - start
    start = time.monotonic()
    deadline = start + timeout
    sent = 0
    while sent < total and time.monotonic() < deadline:
        for m in members[sent:sent + batch]:
            m.client.emit("bcast", {"from": m.index})
        sent = min(total, sent + batch)
        for m in members:
            if not m.wait_for(sent, deadline):
                break
    broadcast_in = time.monotonic() - start
    for m in members:
        m.client.disconnect()
    print(json.dumps({
        "transports": {t: transports.count(t) for t in sorted(set(transports))},
        "connected_in": connected_in,
        "broadcast_in": broadcast_in,
        "sent": sent,
        "complete": sum(1 for m in members if set(m.seen) == set(range(total))),
        "missing": {m.index: total - len(set(m.seen)) for m in members
                    if len(set(m.seen)) < total},
        "duplicates": sum(len(m.seen) - len(set(m.seen)) for m in members),
    }))


if __name__ == "__main__":
    main()

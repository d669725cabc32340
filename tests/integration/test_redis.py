"""redis-py on green threads against a real Redis server, with the stdlib monkey patched.

redis-py needs nothing of its own from greenlane: once ``socket`` is patched its connections
are green sockets. The scenario runs in a subprocess patched with ``monkey_patch()``, as an
application would be.
"""

from __future__ import annotations

import pytest

from tests._services import Redis
from tests.integration._scripts import need, run_script

pytestmark = pytest.mark.slow

_BLPOP = """
import json, sys, time
import greenlane
greenlane.monkey_patch()
import redis

url, count = sys.argv[1], int(sys.argv[2])
client = redis.Redis.from_url(url)
keys = ["greenlane:list:%d" % i for i in range(count)]
client.delete(*keys, "greenlane:empty")
got = {}

def pop(i):
    got[i] = client.blpop([keys[i]], timeout=20)

waiters = [greenlane.spawn(pop, i) for i in range(count)]

def blocked():
    return sum(1 for c in client.client_list() if c.get("cmd") == "blpop")

# Every waiter must be blocked in BLPOP on the server at once: in a process where one BLPOP
# blocked everything, the second could never be sent. (Polling the server's state: there is
# no event for "the server received a command".)
deadline = time.monotonic() + 10
while blocked() < count and time.monotonic() < deadline:
    greenlane.sleep(0.01)
blocked_at_once = blocked()

def push():
    for i in range(count):
        client.rpush(keys[i], "item %d" % i)

start = time.monotonic()
pusher = greenlane.spawn(push)
pusher.wait()
for gt in waiters:
    gt.wait()
woken_in = time.monotonic() - start

ticks = []
def tick():
    while True:
        ticks.append(1)
        greenlane.sleep(0.02)
ticker = greenlane.spawn(tick)
start = time.monotonic()
timed_out = client.blpop(["greenlane:empty"], timeout=1)
timeout_took = time.monotonic() - start
ticker.kill()
print(json.dumps({
    "blocked_at_once": blocked_at_once,
    "items": [[k.decode(), v.decode()] for k, v in (got[i] for i in range(count))],
    "woken_in": woken_in,
    "timed_out": timed_out,
    "timeout_took": timeout_took,
    "ticks_during_timeout": len(ticks),
}))
"""


def test_blpop_waiters_are_woken_by_pushes(redis_server: Redis) -> None:
    need("redis")
    count = 50
    facts = run_script(_BLPOP, redis_server.url, str(count))
    assert facts["blocked_at_once"] == count
    assert facts["items"] == [[f"greenlane:list:{i}", f"item {i}"] for i in range(count)]
    assert facts["woken_in"] < 5.0
    # A BLPOP that times out returns None after its timeout, while other green threads run.
    assert facts["timed_out"] is None
    assert 0.9 <= facts["timeout_took"] < 5.0
    assert facts["ticks_during_timeout"] >= 20

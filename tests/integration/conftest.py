"""Integration tests: real servers (PostgreSQL, Redis, a WSGI server) and real client libraries.

The servers come from ``tests._services`` (session-scoped, loopback only). Scenarios that need
the whole standard library patched, as an application would have it, run in a subprocess
(``run_script``), so that the test process itself stays unpatched.
"""

from __future__ import annotations

from tests._services import postgres, redis_server

__all__ = ["postgres", "redis_server"]

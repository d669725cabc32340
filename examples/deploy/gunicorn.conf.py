"""Gunicorn settings for greenlane's worker behind nginx (/srv/hello/gunicorn.conf.py).

Run: gunicorn -c gunicorn.conf.py 'hello:create_app()'. tests/nginx/test_nginx.py runs this
file (with its own --bind).
"""

import os

# greenlane's worker: one green thread per connection, greenlane's HTTP server.
worker_class = "greenlane.gunicorn.Worker"
# One worker per core: each one serves thousands of connections on its own.
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
worker_connections = 10000

# Loopback only: nginx is the one that listens on the outside (ports 80 and 443).
bind = "127.0.0.1:8000"

# Longer than nginx's upstream keepalive_timeout (60 s): nginx, not greenlane, closes an idle
# upstream connection, so nginx never sends a request on a connection being closed.
keepalive = 75

# nginx on this machine is the trusted proxy: its X-Forwarded-Proto decides the scheme, and
# with GREENLANE_PROXY_HEADERS=1 its X-Forwarded-For is REMOTE_ADDR.
forwarded_allow_ips = "127.0.0.1,::1"
raw_env = ["GREENLANE_PROXY_HEADERS=1"]

# SIGTERM (systemctl stop) lets requests finish for up to 20 s; a green thread that blocks the
# process for 30 s (CPU-bound code that never yields) gets its worker replaced.
graceful_timeout = 20
timeout = 30

# Restart each worker now and then (memory growth in the application), not all at once.
max_requests = 100000
max_requests_jitter = 10000

accesslog = "-"

"""A greenlane WSGI server whose every answer takes 0.2 s: ``python slow_http.py PORT``.

Answers ``echo:<query string>`` after a green ``sleep(0.2)``, so many requests overlap.
"""

import sys

import greenlane
from greenlane import wsgi

DELAY = 0.2


def app(environ, start_response):
    greenlane.sleep(DELAY)
    body = ("echo:" + environ["QUERY_STRING"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    wsgi.server(greenlane.listen(("127.0.0.1", int(sys.argv[1])), backlog=512), app,
                log_output=False)

"""A Flask-SocketIO application in eventlet mode, written as its users write it, on greenlane.

Run as ``python socketio_app.py PORT [patched]``. The first import installs the eventlet
alias, so python-engineio picks its eventlet driver and ``socketio.run()`` serves the app with
``eventlet.wsgi.server``: greenlane's. Nothing is monkey patched, as in Flask-SocketIO's
eventlet deployments without a message queue; with ``patched``, ``eventlet.monkey_patch()``
runs first, as Flask-SocketIO's documentation asks when a message queue is used.
"""

import greenlane.compat.eventlet_alias  # noqa: F401,I001 - first: eventlet is greenlane from here on

import sys

import eventlet
import eventlet.patcher

if sys.argv[2:] == ["patched"]:
    eventlet.monkey_patch()

from flask import Flask, jsonify
from flask_socketio import SocketIO, emit

app = Flask(__name__)
socketio = SocketIO(app, async_mode="eventlet")


@app.route("/info")
def info():
    return jsonify(async_mode=socketio.async_mode, eventlet=eventlet.__name__,
                   socket_patched=eventlet.patcher.is_monkey_patched("socket"))


@socketio.on("echo")
def echo(data):
    emit("echo", data)


@socketio.on("nap")
def nap(seconds):
    # An acknowledged event whose handler sleeps: handlers run in green threads of their own,
    # so several naps overlap.
    socketio.sleep(seconds)
    return seconds


@socketio.on("bcast")
def bcast(data):
    emit("bcast", data, broadcast=True)


@socketio.on("stop")
def stop():
    socketio.stop()  # raises SystemExit in this handler's green thread: the server ends


if __name__ == "__main__":
    print("serving", flush=True)
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]))
    print("stopped", flush=True)

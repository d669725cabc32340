"""The example Flask application (app factory, as in Flask's deployment docs)."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """Build the example app."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> str:
        return "Hello, World!"

    return app

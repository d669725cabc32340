"""The opt-in ``import eventlet`` alias: run eventlet code on greenlane without editing it.

Once the alias is installed, ``import eventlet`` gives the ``greenlane`` package and every
``eventlet.X.Y`` gives ``greenlane.X.Y`` -- the very same module objects, so there is one hub
per thread and one copy of every module's state whichever name the code uses::

    import greenlane.compat.eventlet_alias      # 1. an import, first thing in the program
    import eventlet                             #    ... is greenlane from here on
    from eventlet import wsgi                   #    greenlane.wsgi

    import greenlane.compat
    greenlane.compat.install()                  # 2. or a call (uninstall() undoes it)

    # 3. or, for every interpreter of an environment, subprocesses included:
    #    python -m greenlane.compat install-pth     (once per environment)
    #    GREENLANE_EVENTLET_ALIAS=1 python app.py   (per run; inherited by child processes)

Why opt-in: greenlane's wheel contains no top-level ``eventlet`` package, because installing it
would overwrite (or be overwritten by) a real eventlet in the same environment. The ``.pth``
from ``install-pth`` acts only when ``GREENLANE_EVENTLET_ALIAS`` is set, for the same reason:
an unconditional alias would hijack the real eventlet for every program in the environment.

eventlet's defaults (the default of all three ways; ``install(eventlet_defaults=False)`` or
``GREENLANE_EVENTLET_ALIAS=strict`` keeps greenlane's): four defaults where greenlane alone
differs from eventlet, none of them about the server's safety, switch to eventlet's
process-wide, so code and clients that worked against eventlet keep working: HTTP/1.1 requests
without ``Host`` are served (greenlane answers them 400, as RFC 9112 requires), ``wsgi.server()``
holds response pieces back until 4 KiB are ready, ``WebSocketWSGI`` accepts the hixie-75/76
drafts, and the patched ``threading.currentThread()`` does not warn. Nothing that protects the
server changes: strict request framing, size limits, timeouts and ``debug=False`` stay
(``install``).

Where it differs from having eventlet installed:

* ``eventlet.__version__`` is greenlane's version, and module ``__name__``/``repr`` say
  ``greenlane.*`` (code that tests for the string ``"eventlet."`` in a module name sees it).
* A name greenlane does not have raises ``ModuleNotFoundError`` naming the eventlet module and
  the greenlane module looked for; ``from eventlet.green import zmq`` raises ``ImportError``.
* If the real eventlet is already imported, ``install()`` warns (``EventletAliasWarning``,
  naming the real eventlet's file) and leaves it alone: mixing two hubs in one thread cannot
  work. Install the alias before anything imports eventlet.
* greenlane reads ``GREENLANE_HUB``, not ``EVENTLET_HUB``, and shows no deprecation warning on
  import.
"""

from __future__ import annotations

from greenlane.compat._alias import (
    ALIAS,
    TARGET,
    EventletAliasFinder,
    EventletAliasWarning,
    has_eventlet_defaults,
    install,
    is_installed,
    uninstall,
)
from greenlane.compat._pth import (
    ENV_VAR,
    PTH_LINE,
    PTH_NAME,
    env_enabled,
    install_pth,
    site_packages,
    uninstall_pth,
)

__all__ = [
    "ALIAS",
    "ENV_VAR",
    "PTH_LINE",
    "PTH_NAME",
    "TARGET",
    "EventletAliasFinder",
    "EventletAliasWarning",
    "env_enabled",
    "has_eventlet_defaults",
    "install",
    "install_pth",
    "is_installed",
    "site_packages",
    "uninstall",
    "uninstall_pth",
]

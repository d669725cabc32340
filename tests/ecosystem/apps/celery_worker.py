"""``celery`` with the eventlet alias switched on by its ``.pth`` file, as a deployment has it.

Run as ``GREENLANE_EVENTLET_ALIAS=1 python celery_worker.py SITE_DIR <celery arguments>``:
``SITE_DIR`` holds the ``.pth`` written by ``python -m greenlane.compat install-pth
--site-dir SITE_DIR``. ``site.addsitedir`` processes it as the interpreter processes
site-packages at start-up (the test leaves the environment's own site-packages alone), then
Celery's command line runs; with ``-P eventlet`` it calls ``eventlet.monkey_patch()`` first.
"""

import site
import sys

site.addsitedir(sys.argv.pop(1))

from celery.__main__ import main

sys.argv[0] = "celery"
main()

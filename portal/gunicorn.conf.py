"""gunicorn's configuration for the portal: `gunicorn -c portal/gunicorn.conf.py` (bin/run, the
web benchmark; a deployment adds its own --bind and --workers).

The application is loaded once, in the master, and every worker is forked from it with the
loaded objects frozen out of the garbage collector's view (`pre_fork`).
"""

import gc

from django.urls import get_resolver

wsgi_app = "portal.wsgi:application"
# Import Django and the portal in the master before forking: the workers start with it loaded
# and share those pages with the master (copy-on-write) instead of each loading its own copy.
preload_app = True


def when_ready(server: object) -> None:
    # Load every URL pattern and view now rather than on each worker's first request.
    get_resolver().url_patterns  # noqa: B018


def pre_fork(server: object, worker: object) -> None:
    # Move everything loaded so far (Django, DRF, pyarrow, plotly: about 140,000 objects that
    # live as long as the process) out of the garbage collector's view, right before the fork,
    # as the gc module's documentation advises for forking servers:
    # - a collection in a worker would write to the GC header of every object it walks, copying
    #   the master's page that holds it; frozen objects are never walked, so their pages stay
    #   shared between the forked workers;
    # - each full collection would otherwise walk all of them: 30-100 ms stalls on one request
    #   in a hundred, the whole of the catalog's p99.
    gc.freeze()

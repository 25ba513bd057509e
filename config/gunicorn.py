"""gunicorn settings for the `web` process; every value can be overridden on the command line."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20
accesslog = "-"


def post_worker_init(worker):
    """Keep the garbage collector off the request path.

    Everything imported at start-up is moved out of the collector's sight (gc.freeze), and the
    young generation is collected less often: request handling allocates many short-lived
    objects, and frequent full scans of a large Django heap showed as latency spikes.
    """
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)

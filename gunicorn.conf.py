"""gunicorn settings for the `web` process (Procfile). Every value can be overridden by env."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Room for a sales burst: thousands of connections wait in the kernel queue, not refused.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "8192"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # off by default: the app logs requests
errorlog = "-"

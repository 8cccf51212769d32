"""WSGI entry point: gunicorn wsgi:app (see Procfile)."""

from nibog import create_app

app = create_app()

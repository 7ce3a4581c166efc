"""ASGI entry point for uvicorn: `uvicorn api.main:app` (settings from MAUNTIC_* variables)."""

from api.app import create_app

app = create_app()

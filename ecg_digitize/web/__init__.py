"""The web tool: upload a paper ECG, see what was read, correct it, download signals.

``ecg-digitize serve`` runs :func:`create_app` under uvicorn. FastAPI is imported only
when this package is used, so ``import ecg_digitize`` stays light.
"""
from __future__ import annotations


def create_app(*args, **kwargs):
    """Build the FastAPI app; see :func:`ecg_digitize.web.app.create_app`."""
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app"]

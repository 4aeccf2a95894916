"""The ``fastrelu`` command: ``fastrelu sweep``, ``compare``, ``plot``, ``bench``, ``backends``."""

from .main import main

__all__ = ["main"]

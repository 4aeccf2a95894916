"""The model: networks, their layers and activations."""

from .network import Network

__all__ = ["Network"]

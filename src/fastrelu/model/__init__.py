"""The model: networks, their layers and activations."""

from .activations import NAMES, Activation
from .network import Layer, Network

__all__ = ["Activation", "Layer", "NAMES", "Network"]

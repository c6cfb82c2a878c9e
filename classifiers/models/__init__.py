"""Keras model builders (Keras is imported inside each builder, not here)."""
from .kachuee import TRUNK_OUTPUT, build_kachuee
from .mi import build_mi_head
from .resnet1d import build_resnet1d

__all__ = ["build_kachuee", "build_resnet1d", "build_mi_head", "TRUNK_OUTPUT"]

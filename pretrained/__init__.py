"""Pretrained weights shipped with ecg-digitize (see the model card beside each file)."""
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent

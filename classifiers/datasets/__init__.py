"""Loaders for the training data sets, in their PhysioNet layouts (no downloads)."""
from .mitdb import AAMI_CLASSES, AAMI_MAP, ALL_RECORDS, DS1, DS2, PACED, load_mitdb, load_mitdb_record

__all__ = ["AAMI_CLASSES", "AAMI_MAP", "ALL_RECORDS", "DS1", "DS2", "PACED", "load_mitdb",
           "load_mitdb_record"]

"""Loaders for the training data sets, in their PhysioNet layouts (no downloads)."""
from .cinc2017 import RHYTHM_CLASSES, cinc2017_labels, load_cinc2017
from .mitdb import AAMI_CLASSES, AAMI_MAP, ALL_RECORDS, DS1, DS2, PACED, load_mitdb, load_mitdb_record
from .ptbxl import PTBXL_LEADS, SUPERCLASSES, load_ptbxl_beats, ptbxl_table

__all__ = ["AAMI_CLASSES", "AAMI_MAP", "ALL_RECORDS", "DS1", "DS2", "PACED", "load_mitdb",
           "load_mitdb_record", "RHYTHM_CLASSES", "cinc2017_labels", "load_cinc2017",
           "SUPERCLASSES", "PTBXL_LEADS", "ptbxl_table",
           "load_ptbxl_beats"]

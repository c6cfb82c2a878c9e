"""Exceptions raised by ecg-digitize.

Every problem with a user's input raises a subclass of :class:`EcgDigitizeError`
whose message names the file (when there is one) and the reason.
"""
from __future__ import annotations


class EcgDigitizeError(Exception):
    """Base class of every exception this toolkit raises on purpose."""

    def __init__(self, reason: str, source: str | None = None):
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


class DigitizeError(EcgDigitizeError):
    """A page image could not be turned into a Record."""


class ImageReadError(DigitizeError):
    """The file is missing, empty, corrupt, not an image, or too large to decode."""


class NotAnEcgError(DigitizeError):
    """The image decoded but holds no recognisable ECG (blank, no traces, too small)."""


class CalibrationError(DigitizeError):
    """The grid or calibration could not be measured."""


class LayoutError(DigitizeError):
    """The arrangement of leads on the page could not be recognised."""


class DigitizeInternalError(DigitizeError):
    """An unexpected exception inside ``digitize()`` (a bug, or memory exhausted), reported
    with the stage it came from and the file, so one page cannot stop a batch."""


class RecordFormatError(EcgDigitizeError):
    """A Record (or a file meant to hold one) is malformed."""


class DataNotFoundError(EcgDigitizeError):
    """A data set expected under ``ECG_DATA_DIR`` is not there."""


class RecordNameWarning(UserWarning):
    """A record name was changed so that WFDB tools can read the record back."""

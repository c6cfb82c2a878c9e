"""The :class:`Record`: one digitized (or rendered) ECG page as calibrated signals.

Conventions (see ``docs/conventions.md``): ``signal`` is ``n_samples x n_leads`` in
millivolts at ``fs`` Hz; samples a lead did not plot are NaN (a 3x4 page plots each lead
for 2.5 s of the 10 s), as in the PhysioNet/CinC Challenge 2024.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RecordFormatError, RecordNameWarning
from .geometry import PageGeometry, jsonable

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# WFDB stores integers: 1000 ADC units per mV keeps 1 uV resolution and +-32 mV range.
_WFDB_ADC_GAIN = 1000.0
_WFDB_META_PREFIX = "ecg_digitize:"
# WFDB record names allow letters, digits, _ and - (wfdb-python reads ``[-\w]+``).
_UNSAFE_RECORD_CHARS = re.compile(r"[^-\w]")


def wfdb_record_name(name: str, default: str = "record") -> str:
    """A record name WFDB tools can read, made from any text (a file stem, a title).

    Every character other than a letter, digit, ``_`` or ``-`` becomes ``_`` and
    leading/trailing ``_`` are dropped; a name with nothing left becomes ``default``.
    :meth:`Record.to_wfdb`, ``ecg-digitize digitize`` and ``ecg-digitize batch`` all
    name their records with it.

    Parameters
    ----------
    name : str
        The wished-for name, e.g. ``Path(image).stem``.
    default : str
        The name used when nothing readable is left.

    Returns
    -------
    str
        ``name`` itself when it is already a valid WFDB record name.

    Examples
    --------
    >>> wfdb_record_name("MI(112)")
    'MI_112'
    >>> wfdb_record_name("page 1")
    'page_1'
    >>> wfdb_record_name("100")
    '100'
    """
    return _UNSAFE_RECORD_CHARS.sub("_", str(name)).strip("_") or default


MAX_LEAD_NAME = 32


def check_lead_names(leads: list[str], source: str | None = None) -> None:
    """Refuse lead names that would corrupt or subvert a CSV, WFDB or JSON file.

    A name must be 1 to 32 printable characters without commas, quotes, semicolons or
    backslashes, must not start with a character a spreadsheet reads as a formula
    (``=``, ``+``, ``@``, or ``-`` followed by anything but letters and digits, so
    Cabrera's ``-aVR`` stays allowed), and must not start or end with a space.

    Parameters
    ----------
    leads : list of str
        The names, in column order.
    source : str, optional
        Named in the error.

    Raises
    ------
    RecordFormatError
        Naming the first bad lead and why.

    Examples
    --------
    >>> check_lead_names(["I", "II", "-aVR", "V4R", "II (rhythm)"])
    >>> check_lead_names(['=HYPERLINK("x")'])
    Traceback (most recent call last):
    ...
    ecg_digitize.errors.RecordFormatError: lead name '=HYPERLINK("x")' ...
    """
    for lead in leads:
        why = None
        if not isinstance(lead, str) or not lead:
            why = "is empty"
        elif len(lead) > MAX_LEAD_NAME:
            why = f"is longer than {MAX_LEAD_NAME} characters"
        elif not lead.isprintable() or any(c in lead for c in ',;"\\\'`'):
            why = "holds a control character, comma, quote, semicolon or backslash"
        elif lead != lead.strip():
            why = "starts or ends with a space"
        elif lead[0] in "=+@" or (lead[0] == "-" and not lead[1:].isalnum()):
            why = "starts like a spreadsheet formula"
        if why:
            shown = repr(lead[:40]) if isinstance(lead, str) else repr(lead)
            raise RecordFormatError(f"lead name {shown} {why}", source)


@dataclass
class Calibration:
    """How pixels map to time and voltage on the page.

    ``px_per_mm`` is the scale across the page (time); ``px_per_mm_y`` the scale down it
    (voltage) where the page's pixels are not square (a page resized to a fixed size, a
    fax, an export), ``None`` where one scale serves both.

    Examples
    --------
    >>> from ecg_digitize.record import Calibration
    >>> c = Calibration(px_per_mm=7.75, px_per_mm_y=7.44)
    >>> c.px_per_s, round(c.px_per_mv, 1)   # 25 mm/s across, 10 mm/mV down
    (193.75, 74.4)
    """

    px_per_mm: float | None = None
    mm_per_s: float = 25.0
    mm_per_mv: float = 10.0
    # Which values were measured on the page and which were assumed (standard paper).
    guessed: list[str] = field(default_factory=list)
    px_per_mm_y: float | None = None

    @property
    def px_per_mm_down(self) -> float | None:
        """px per mm down the page: ``px_per_mm_y``, or ``px_per_mm`` on a square page."""
        return self.px_per_mm if self.px_per_mm_y is None else self.px_per_mm_y

    @property
    def px_per_s(self) -> float | None:
        return None if self.px_per_mm is None else self.px_per_mm * self.mm_per_s

    @property
    def px_per_mv(self) -> float | None:
        down = self.px_per_mm_down
        return None if down is None else down * self.mm_per_mv


@dataclass
class Record:
    """One ECG page as signals.

    Parameters
    ----------
    signal : ndarray, shape (n_samples, n_leads)
        Millivolts; NaN where a lead was not plotted.
    fs : float
        Sampling frequency in Hz.
    leads : list of str
        Lead names, one per column of ``signal``.
    layout : str
        Page layout, e.g. ``"3x4+II"``, ``"6x2"``, ``"12x1"``, ``"strip"``.
    calibration : Calibration
        px per mm, paper speed (mm/s) and gain (mm/mV).
    quality : dict
        ``{"overall": float, "leads": {name: float}}`` and any further scores.
    source : str
        Where the page came from (a path, ``"synth"``, ...).
    geometry : PageGeometry
        Where the signals are on the page (lead boxes, rows, skew, scale evidence; the
        renderer's truth adds grid and trace masks); a dict is converted. See
        :class:`~ecg_digitize.geometry.PageGeometry`.
    warnings : list of str
        What had to be guessed or looked doubtful.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize import Record
    >>> rec = Record(np.zeros((5000, 2)), fs=500, leads=["I", "II"])
    >>> rec
    Record(5000 samples x 2 leads, fs=500 Hz, 10.00 s, leads=[I, II], layout='unknown')
    """

    signal: np.ndarray
    fs: float
    leads: list[str]
    layout: str = "unknown"
    calibration: Calibration = field(default_factory=Calibration)
    quality: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    geometry: PageGeometry = field(default_factory=PageGeometry, repr=False)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signal = np.asarray(self.signal, dtype=float)
        if self.signal.ndim == 1:
            self.signal = self.signal[:, None]
        self.leads = [str(lead) for lead in self.leads]
        if self.signal.ndim != 2 or self.signal.shape[1] != len(self.leads):
            raise RecordFormatError(
                f"signal of shape {self.signal.shape} does not match {len(self.leads)} lead names",
                self.source or None,
            )
        if not self.fs or self.fs <= 0:
            raise RecordFormatError(f"fs must be positive, got {self.fs!r}", self.source or None)
        if isinstance(self.calibration, dict):
            self.calibration = Calibration(**self.calibration)
        if not isinstance(self.geometry, PageGeometry):
            self.geometry = PageGeometry.from_dict(self.geometry)

    # ------------------------------------------------------------------ access
    @property
    def n_samples(self) -> int:
        return self.signal.shape[0]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs

    @property
    def time(self) -> np.ndarray:
        """Sample times in seconds."""
        return np.arange(self.n_samples) / self.fs

    def lead(self, name: str) -> np.ndarray:
        """Return one lead's samples (a view), raising ``KeyError`` with the names known."""
        try:
            return self.signal[:, self.leads.index(name)]
        except ValueError:
            raise KeyError(f"lead {name!r} not in record; leads are {self.leads}") from None

    def plotted_fraction(self) -> dict[str, float]:
        """Fraction of the record's samples each lead has (not NaN)."""
        return {lead: float(np.isfinite(self.signal[:, i]).mean()) for i, lead in enumerate(self.leads)}

    def __repr__(self) -> str:
        fs = f"{self.fs:g}"
        names = ", ".join(self.leads)
        return (
            f"Record({self.n_samples} samples x {len(self.leads)} leads, fs={fs} Hz, "
            f"{self.duration:.2f} s, leads=[{names}], layout={self.layout!r})"
        )

    # ------------------------------------------------------------------ metadata
    def metadata(self) -> dict[str, Any]:
        """JSON-ready metadata: everything but the samples and the pixel mask."""
        return {
            "fs": float(self.fs),
            "n_samples": int(self.n_samples),
            "leads": list(self.leads),
            "layout": self.layout,
            "calibration": asdict(self.calibration),
            "quality": jsonable(self.quality),
            "source": self.source,
            "warnings": list(self.warnings),
            "geometry": jsonable(self.geometry.to_dict()),
            "plotted_seconds": {
                lead: float(np.isfinite(self.signal[:, i]).sum() / self.fs)
                for i, lead in enumerate(self.leads)
            },
        }

    def to_json(self, path: str | Path, *, include_signal: bool = False) -> Path:
        """Write the metadata (and optionally the samples, NaN as null) as JSON.

        Raises :class:`~ecg_digitize.errors.RecordFormatError` for a lead name that
        :func:`check_lead_names` refuses.
        """
        check_lead_names(self.leads, self.source or None)
        meta = self.metadata()
        if include_signal:
            meta["signal"] = {
                lead: [None if not np.isfinite(v) else float(v) for v in self.signal[:, i]]
                for i, lead in enumerate(self.leads)
            }
        path = Path(path)
        path.write_text(json.dumps(meta, indent=2))
        return path

    # ------------------------------------------------------------------ CSV
    def to_csv(self, path: str | Path) -> Path:
        """Write a CSV: a header row ``time,<lead>,...``, seconds then mV; NaN as empty.

        Raises :class:`~ecg_digitize.errors.RecordFormatError` for a lead name that
        :func:`check_lead_names` refuses (a comma, a newline, a formula).
        """
        check_lead_names(self.leads, self.source or None)
        path = Path(path)
        table = np.column_stack([self.time, self.signal])
        header = ",".join(["time"] + self.leads)
        with path.open("w") as fh:
            fh.write(header + "\n")
            for row in table:
                fh.write(",".join("" if not np.isfinite(v) else repr(float(v)) for v in row) + "\n")
        return path

    @classmethod
    def from_csv(cls, path: str | Path, fs: float | None = None) -> "Record":
        """Read a CSV written by :meth:`to_csv` (fs from the time column when not given)."""
        path = Path(path)
        try:
            with path.open() as fh:
                header = fh.readline().strip().split(",")
            data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=float,
                                 missing_values="", filling_values=np.nan)
        except (OSError, ValueError) as exc:
            raise RecordFormatError(f"cannot read CSV: {exc}", str(path)) from exc
        data = np.atleast_2d(data)
        if header[0].lower() == "time":
            if fs is None:
                fs = 1.0 / float(np.median(np.diff(data[:, 0])))
            data, header = data[:, 1:], header[1:]
        if fs is None:
            raise RecordFormatError("no time column; pass fs=", str(path))
        return cls(data, fs=round(fs, 6), leads=header, source=str(path))

    # ------------------------------------------------------------------ WFDB
    def to_wfdb(self, directory: str | Path, name: str) -> Path:
        """Write a WFDB record (``name.hea`` + ``name.dat``) readable by ``wfdb.rdrecord``.

        Samples are stored in format 16 at 1000 units per mV (1 uV resolution); NaN
        samples are written as WFDB invalid samples (-32768) and read back as NaN.
        Layout, calibration and quality travel in the header's comments as JSON.

        WFDB record names hold only letters, digits, ``_`` and ``-``: any other
        character of ``name`` becomes ``_`` (see :func:`wfdb_record_name`) and a
        :class:`~ecg_digitize.errors.RecordNameWarning` names the record written.
        A lead name that :func:`check_lead_names` refuses (a newline would break the
        header) raises :class:`~ecg_digitize.errors.RecordFormatError`.

        Returns
        -------
        Path
            The header written, ``directory / (cleaned name + ".hea")``.

        Examples
        --------
        >>> import tempfile, warnings
        >>> rec = Record(np.zeros((500, 1)), fs=500, leads=["II"])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     rec.to_wfdb(tempfile.mkdtemp(), "MI(112)").name
        'MI_112.hea'
        """
        import wfdb

        clean = wfdb_record_name(name)
        if clean != name:
            warnings.warn(f"{name!r} is not a valid WFDB record name (letters, digits, _ and - "
                          f"only); writing record {clean!r}", RecordNameWarning, stacklevel=2)
            name = clean
        check_lead_names(self.leads, self.source or None)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        signal = self.signal
        finite = np.isfinite(signal)
        if np.any(np.abs(signal[finite]) > 32.0):
            raise RecordFormatError("samples beyond +-32 mV cannot be stored in WFDB format 16",
                                    self.source or None)
        digital = np.where(finite, np.round(signal * _WFDB_ADC_GAIN), -32768).astype(np.int32)
        meta = self.metadata()
        meta.pop("geometry", None)
        wfdb.wrsamp(
            record_name=name,
            fs=float(self.fs),
            units=["mV"] * len(self.leads),
            sig_name=list(self.leads),
            d_signal=digital,
            fmt=["16"] * len(self.leads),
            adc_gain=[_WFDB_ADC_GAIN] * len(self.leads),
            baseline=[0] * len(self.leads),
            comments=[_WFDB_META_PREFIX + json.dumps(meta)],
            write_dir=str(directory),
        )
        return directory / f"{name}.hea"

    @classmethod
    def from_wfdb(cls, path: str | Path, leads: list[str] | None = None) -> "Record":
        """Read a WFDB record (path with or without ``.hea``); invalid samples become NaN."""
        import wfdb

        path = Path(path)
        base = path.with_suffix("") if path.suffix in (".hea", ".dat") else path
        try:
            wrec = wfdb.rdrecord(str(base), channel_names=leads)
        except Exception as exc:  # wfdb raises many types; name the file either way
            raise RecordFormatError(f"cannot read WFDB record: {exc}", str(base)) from exc
        signal = wrec.p_signal
        units = wrec.units or ["mV"] * signal.shape[1]
        scale = np.array([1e-3 if u.lower() in ("uv", "µv") else 1.0 for u in units])
        meta = {}
        for comment in wrec.comments or []:
            if comment.startswith(_WFDB_META_PREFIX):
                meta = json.loads(comment[len(_WFDB_META_PREFIX):])
        return cls(
            signal * scale,
            fs=wrec.fs,
            leads=list(wrec.sig_name),
            layout=meta.get("layout", "unknown"),
            calibration=meta.get("calibration", {}),
            quality=meta.get("quality", {}),
            source=meta.get("source", str(base)),
            warnings=meta.get("warnings", []),
        )

    # ------------------------------------------------------------------ plot
    def plot(self, *, ax=None, leads: list[str] | None = None, spacing_mv: float = 3.0):
        """Plot the leads stacked on ECG paper (1 mm = 0.04 s x 0.1 mV, 5 mm major lines).

        Returns the matplotlib ``Figure``.
        """
        from .plotting import plot_record

        return plot_record(self, ax=ax, leads=leads, spacing_mv=spacing_mv)

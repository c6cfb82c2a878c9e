"""``digitize(image)``: a page image to a calibrated Record, as a short sequence of stages.

==  ============  ======================  ==============================================
 #  stage         module                  decides
==  ============  ======================  ==============================================
 1  load          :mod:`.load`            the file's pixels (RGB) and dpi
 2  trace view    :mod:`.views`           where trace pixels come from (``method=``), skew
 3  ink           :mod:`.threshold`       the trace's ink mask (adaptive Otsu, pen core)
 4  scale         :mod:`.calibration`     px/mm (grid, else dpi, else row width)
 5  rows          :mod:`.rows`            the rows of trace (fainter thresholds if lost)
 6  paths         :mod:`.extract`         one sub-pixel path per row
 7  calibration   :mod:`.calibration`     pulses -> gain and paper speed
 *  orientation   :mod:`.orientation`     upside down (pulses hang down) or on its side
 8  time axis     :mod:`.timebase`        each row's time zero and length
 9  layout        :mod:`.layout`          3x4, 3x4+rhythm, 6x2, 12x1 or strip
10  panels        :mod:`.panels`          each lead's stretch of path, in mV
11  lead order    :mod:`.limb_order`      standard or Cabrera
12  quality       :mod:`.quality`         per-lead confidence, refusals
==  ============  ======================  ==============================================

Stages 2-7 make a :class:`TracedPage`; the orientation stage reads it and, where the page
lies upside down, traces the turned page instead; stages 8-12 make the Record.
"""
from __future__ import annotations

import contextlib
import functools
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import DigitizeError, DigitizeInternalError, NotAnEcgError
from ..geometry import LeadBox, PageGeometry, PulseMark, RowBand
from ..layouts import Panel, parse_layout
from ..record import Record
from . import calibration as cal
from . import deskew, extract, layout, limb_order, orientation, perspective, quality, sheet, threshold, timebase
from .load import PageImage, load_image
from .panels import SLANTED_TIME_ZERO, PanelTrace, place_panels, pulse_free_columns, read_panels
from .rows import Row, RowSearch, find_rows, find_trace_rows
from .views import CLASSICAL, PHOTO, TraceView, TraceViewProvider, straighten, trace_view_provider, turned_over

# method="auto" keeps a classical reading of more than one lead from this overall quality
# on without running the U-Net: chosen on fold-9 renders, the highest threshold at which
# auto is not worse than the classical route on clean pages (the U-Net reads them less
# precisely), while scans and photos keep most of the U-Net's gain
# (``benchmarks/image_branch_segmenter.py --fold 9 --routes classical unet auto``).
AUTO_SKIP_UNET_QUALITY = 0.85
MIN_ROW_MM = 10.0  # rows whose trace proper is shorter than this are not read
ROW_REACH_MM = 15.0  # a row's path is traced this far past the row's ink on either side
SHORT_ROW_MM = 5.0  # a row's path ending this far before the time axis does is traced again to it


@dataclass
class ReadOptions:
    """What the user fixed (see :func:`digitize`)."""

    fs: float = 500
    layout: str = "auto"
    paper_speed: float | None = None
    gain: float | None = None
    lead_order: str = "auto"


def digitize(image: Any, *, fs: float = 500, layout: str = "auto", paper_speed: float | None = None,
             gain: float | None = None, method: str = "auto", page: int = 0,
             lead_order: str = "auto") -> Record:
    """Recover calibrated ECG signals from a page image.

    Parameters
    ----------
    image : str, Path, ndarray or PIL.Image.Image
        A PNG/JPEG/TIFF/BMP/WebP or PDF file (``page`` picks the PDF page), an RGB or
        grey array, or a PIL image.
    fs : float
        Output sampling frequency (Hz).
    layout : str
        ``"auto"`` (detect) or one of ``"3x4"``, ``"3x4+II"``, ``"3x4+II,V1,V5"``,
        ``"6x2"``, ``"12x1"``, ``"strip"``.
    paper_speed, gain : float, optional
        mm/s and mm/mV. ``None``: from the calibration pulse, else the 25 mm/s and
        10 mm/mV standard (then listed in ``record.calibration.guessed``).
    method : {"auto", "classical", "photo", "unet"}
        The trace view (:mod:`.views`): ``"classical"`` thresholds the page's darkness
        (adaptive Otsu, no weights); ``"photo"`` first finds a photographed sheet,
        flattens it from its grid and divides its grid lines out (no weights); ``"unet"`` takes the trace probability of the U-Net
        segmenter (``pretrained/unet-trace.keras``, TensorFlow imported on first use)
        after undoing a photo's perspective and the bending of its paper (from the
        grid lines). Both then share every later stage.
        ``"auto"`` (the default) reads a sheet found on a background (a photo) with
        ``"photo"``, and a page seen at a slant with it where that reads as well; other
        pages: it keeps the classical reading when it has more than one lead and an
        overall quality of at least :data:`AUTO_SKIP_UNET_QUALITY`, or all twelve and a
        verdict other than "failed", or a single-lead strip with a "good" verdict.
        Otherwise, where the classical route refused the page or read fewer than twelve
        leads, the photo route's reading replaces it where it reads more leads (a
        refused page: at a quality of at least
        :data:`~ecg_digitize.digitizer.quality.MIN_RESCUED_QUALITY`); then it also runs
        the U-Net route and keeps the U-Net's Record when it read more leads, or as many
        at no lower overall quality where the verdict is "failed", or when both other
        routes failed and the U-Net reading's quality is at least
        :data:`~ecg_digitize.digitizer.quality.MIN_RESCUED_QUALITY`.
        ``record.geometry.method`` says which route produced it. Without TensorFlow
        or the U-Net's weights, auto returns the classical (or photo) reading (with a warning
        where it would have tried the U-Net).
    page : int
        PDF page (0-based).
    lead_order : {"auto", "standard", "cabrera"}
        Which limb leads the panels show: ``"standard"`` I, II, III, aVR, aVL, aVF;
        ``"cabrera"`` aVL, I, -aVR, II, aVF, III. ``"auto"`` takes the Cabrera order
        where the limb leads plotted together obey their relations in it (see
        :func:`~ecg_digitize.digitizer.limb_order.apply_lead_order`), else the standard one.

    Returns
    -------
    Record
        Signals in mV at ``fs`` (NaN where a lead was not plotted), leads, layout,
        calibration, per-lead quality, ``geometry`` (a
        :class:`~ecg_digitize.geometry.PageGeometry`: lead boxes in the measured page's
        pixels, skew angle, rows, ...) and ``warnings``.

    Raises
    ------
    ImageReadError, NotAnEcgError, CalibrationError, LayoutError
        Subclasses of :class:`~ecg_digitize.errors.DigitizeError`, naming the file.
    DigitizeInternalError
        Any other exception inside, with its stage (a bug: please report it).
    FileNotFoundError
        ``method="unet"`` without the U-Net's weights (``"auto"`` then reads classically).
    ValueError
        An unknown ``method`` or ``lead_order`` (a malformed ``layout``: LayoutError).

    Examples
    --------
    >>> from ecg_digitize import digitize
    >>> from ecg_digitize.synth import render, simulate_12lead
    >>> from ecg_digitize.metrics import score_record
    >>> sig, fs, leads = simulate_12lead(seed=0)
    >>> image, truth = render(sig, fs, leads, layout="3x4+II", seed=0)
    >>> rec = digitize(image)
    >>> rec.layout, rec.calibration.mm_per_mv
    ('3x4+II', 10.0)
    >>> score_record(rec, truth).snr > 20
    True
    """
    provider = None if method == "auto" else trace_view_provider(method)
    missing = provider.unavailable() if provider is not None and provider.unavailable else None
    if missing:  # a setting to fix, not a page the digitizer failed on
        raise FileNotFoundError(f"method={method!r} {missing}; use method='classical'")
    if layout != "auto":
        parse_layout(layout)  # fail early on a malformed layout
    if lead_order not in limb_order.LEAD_ORDERS:
        raise ValueError(f"unknown lead_order {lead_order!r}; choose one of {limb_order.LEAD_ORDERS}")
    with _as_project_errors(str(image) if isinstance(image, (str, Path)) else "image"):
        pg = load_image(image, page=page)
    options = ReadOptions(fs, layout, paper_speed, gain, lead_order)
    try:
        return _digitize_auto(pg, options) if provider is None else _read(pg, provider, options)
    except DigitizeError as exc:
        if exc.source:
            raise
        raise type(exc)(exc.reason, pg.source) from exc


def internal_error(exc: BaseException, source: str) -> DigitizeInternalError:
    """An unexpected exception as a :class:`DigitizeInternalError` naming the stage
    (the innermost module of this package in its traceback) and the file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "ecg_digitize" in Path(f.filename).parts]
    stage = f"{Path(frames[-1].filename).stem}.{frames[-1].name}" if frames else "digitize"
    what = "out of memory" if isinstance(exc, MemoryError) else "internal error"
    return DigitizeInternalError(f"{what} in stage {stage}: {type(exc).__name__}: "
                                 f"{str(exc).strip()[:300]} (please report it)", source)


@contextlib.contextmanager
def _as_project_errors(source: str):
    """The safety net: any exception other than a refusal becomes a
    :class:`DigitizeInternalError` naming the stage and ``source``."""
    try:
        yield
    except DigitizeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure inside digitize is the project's own
        raise internal_error(exc, source) from exc


def _read(pg: PageImage, provider: TraceViewProvider, options: ReadOptions) -> Record:
    """:func:`read_page` inside the safety net (:func:`_as_project_errors`)."""
    with _as_project_errors(pg.source):
        return read_page(pg, provider, options)


def read_page(pg: PageImage, provider: TraceViewProvider, options: ReadOptions) -> Record:
    """Stages 2-12 on one page, read upright.

    A refused page whose long curves run down the page is read again turned a quarter
    (:func:`~.orientation.lies_on_its_side`); its first refusal stands if that fails too.
    """
    try:
        return _read_upright(pg, provider, options)
    except DigitizeError as refusal:
        if not provider.try_sideways or not orientation.lies_on_its_side(pg.rgb):
            raise
        try:
            return _read_upright(orientation.turned(pg, 1), provider, options, quarter_turns=1)
        except DigitizeError:
            raise refusal from None


def _read_upright(pg: PageImage, provider: TraceViewProvider, options: ReadOptions,
                  quarter_turns: int = 0) -> Record:
    """The page traced, turned 180 deg first where more of its pulses hang down than
    stand up, then read."""
    traced = trace_page(pg, provider)
    upright = sum(p is not None for p in traced.pulses)
    if orientation.pulses_hang_down(traced.traces, traced.rows, traced.scale.px_per_mm, traced.scale.px_per_mm_y,
                                    more_than=upright) or (
            not upright and traced.view.turned_by_shape
            and orientation.rows_sit_high(traced.baselines, traced.view.trace_dark.shape[0])):
        turned = orientation.turned(pg, 2)
        traced = trace_page(turned, provider, view=turned_over(traced.view, pg.rgb.shape[:2]))
        quarter_turns += 2
    record = read_traced_page(traced, options, pg.source)
    if quarter_turns % 4:
        record.geometry.quarter_turns = quarter_turns % 4
        has_pulses = any(record.geometry.pulses)
        record.warnings.insert(0, orientation.turn_note(quarter_turns % 4, has_pulses))
    return record


@dataclass
class TracedPage:
    """Stages 2-7 of a page: its trace view, scale, rows with their ink, each row's own
    path, the paths with neighbouring rows separated, and each row's calibration pulse."""

    view: TraceView
    scale: cal.Scale
    search: RowSearch
    own_paths: list[extract.RowTrace]
    traces: list[extract.RowTrace]
    pulses: list[cal.Pulse | None]

    @property
    def rows(self) -> list[Row]:
        return self.search.rows

    @property
    def ink(self) -> threshold.Ink:
        return self.search.ink

    @property
    def baselines(self) -> list[float]:
        return [r.baseline for r in self.search.rows]

    def trace_row(self, y_lo: int, y_hi: int, baseline: float, x_lo: float, x_hi: float,
                  px_per_mm: float) -> extract.RowTrace:
        """:func:`~.extract.trace_row` on this page's ink."""
        return _trace_row(self.ink.mask, self.view, y_lo, y_hi, baseline, x_lo, x_hi, px_per_mm)


def _trace_row(mask: np.ndarray, view: TraceView, y_lo: int, y_hi: int, baseline: float, x_lo: float,
               x_hi: float, px_per_mm: float) -> extract.RowTrace:
    """:func:`~.extract.trace_row` in ``view``, with the stairs of its pen's edges: a 1-bit
    page's row crossings lie up to :data:`~.extract.BILEVEL_STAIR_PX` apart in one stair.
    Faint ink bridges broken strokes on a low-resolution page's darkness (a 1-bit page's
    grey edges are its blur's, no ink's)."""
    stair_px = extract.BILEVEL_STAIR_PX if view.bilevel else extract.STAIR_PX
    faint_bridges = (view.thresholded and not view.bilevel
                     and px_per_mm < extract.FAINT_BRIDGE_MAX_PX_PER_MM)
    return extract.trace_row(mask, view.trace_dark, y_lo, y_hi, baseline, x_lo, x_hi,
                             px_per_mm=px_per_mm, stair_px=stair_px, faint_bridges=faint_bridges)


def trace_page(pg: PageImage, provider: TraceViewProvider, view: TraceView | None = None) -> TracedPage:
    """Stages 2-7: trace view, ink, scale, rows, one path per row, pulses.

    ``view``: the page's trace view where it is already made (straightened).

    Rows and paths are found at the scale across the page (their tolerances, a fraction
    of a millimetre, hold for pages up to :data:`~.grid.MAX_ANISOTROPY` off square); the
    pulses are read at both scales.
    """
    view = view if view is not None else straighten(provider.make(pg.rgb))
    ink = threshold.find_ink(view.trace_dark, view.ink_threshold)
    scale = cal.measure_scale(view.grid_dark, ink.mask, pg.dpi)
    ppm = scale.px_per_mm
    if view.thresholded:  # the grid and the pen's width above read the whole line
        t_core, core = threshold.pen_core(view.trace_dark, ink.threshold, ink.mask, evidence=ink.pen_core)
        search = find_trace_rows(threshold.Ink(t_core, core, ink.pen_core), view.trace_dark, ppm)
    else:
        search = RowSearch(find_rows(ink.mask, ppm), ink)
    own_paths = [_trace_row(search.ink.mask, view, r.y_lo, r.y_hi, r.baseline,
                            r.x_lo - ROW_REACH_MM * ppm, r.x_hi + ROW_REACH_MM * ppm, ppm)
                 for r in search.rows]
    # each row's own path (before neighbours are separated) is redrawn at the lead
    # changes once the layout has placed them
    traces = extract.separate_neighbours(own_paths, [r.baseline for r in search.rows])
    return TracedPage(view, scale, search, own_paths, traces,
                      cal.find_pulses(traces, search.rows, ppm, scale.px_per_mm_y))


def read_traced_page(traced: TracedPage, options: ReadOptions, source: str = "") -> Record:
    """Stages 7-12: calibration, time axis, layout, panels, lead order, quality."""
    calib = cal.calibrate(traced.scale, traced.traces, traced.pulses,
                          paper_speed=options.paper_speed, gain=options.gain)
    traced, starts, ends = _long_rows_only(traced, calib.px_per_mm)
    timing = timebase.row_timing(traced.traces, traced.pulses, starts, ends, traced.view.trace_dark,
                                 calib.px_per_mm, calib.px_per_s)
    quality.check_ecg_evidence(traced.traces, starts, ends, calib.scale_source == "grid",
                               any(p is not None for p in traced.pulses), traced.view.rgb.shape)
    choice = layout.choose_layout(options.layout, traced.traces, traced.rows, timing.x_start,
                                  timing.span, calib.px_per_mm)
    plan = place_panels(choice, timing, traced.baselines, traced.ink.mask, traced.view.trace_dark, calib,
                        traced.ink.threshold, reframed=traced.view.reframed)
    calib = plan.timed(calib)
    reading = read_panels(_panel_traces(traced, plan, calib), plan.leads,
                          int(np.ceil(max(p.t1 for p in plan.panels) * options.fs - 1e-9)), options.fs, calib)
    signal, layout_name, note = reading.signal, choice.name, choice.note
    if choice.n_rows:
        signal, layout_name, note = limb_order.apply_lead_order(options.lead_order, signal, plan.leads,
                                                                layout_name, reading.boxes, note)
    record = Record(signal, fs=options.fs, leads=plan.leads, layout=layout_name,
                    calibration=calib.as_record_calibration(), source=source,
                    geometry=_page_geometry(traced, plan, calib, reading.boxes),
                    warnings=traced.view.warnings + traced.scale.warnings + traced.search.warnings
                    + calib.warnings + choice.warnings + ([note] if note else []))
    record.quality = quality.assess(record, reading.coverage)
    if traced.view.thresholded:
        quality.refuse_weak_reading(record, traced.search.rescued_from)
    return record


def _long_rows_only(traced: TracedPage, px_per_mm: float) -> tuple[TracedPage, np.ndarray, np.ndarray]:
    """The page without rows whose trace proper (pulse left out) is under
    :data:`MIN_ROW_MM`, and the kept rows' first and last columns."""
    starts, ends = timebase.row_extents(traced.traces, traced.pulses)
    ok = (ends - starts) > MIN_ROW_MM * px_per_mm
    if not ok.any():
        raise NotAnEcgError("no ECG trace rows long enough to read")

    def keep(items: list) -> list:
        return [x for x, k in zip(items, ok) if k]

    traced = replace(traced, search=replace(traced.search, rows=keep(traced.rows)),
                     own_paths=keep(traced.own_paths), traces=keep(traced.traces), pulses=keep(traced.pulses))
    return traced, starts[ok], ends[ok]


def _panel_traces(traced: TracedPage, plan, calib: cal.PageCalibration) -> list[PanelTrace]:
    """Each panel with its row's path, redrawn at the row's lead changes."""
    changes = plan.lead_changes()
    paths, own = traced.traces, _paths_to_the_end(traced, plan.x_end)
    if any(changes.values()):
        own = [extract.redraw_at_lead_changes(tr, traced.ink.mask, traced.view.trace_dark, changes.get(i, ()))
               for i, tr in enumerate(own)]
    if own is not traced.own_paths:
        paths = extract.separate_neighbours(own, traced.baselines)
    out = []
    for p in plan.panels:
        if p.row >= len(paths):
            continue
        row, pulse = traced.rows[p.row], traced.pulses[p.row]
        out.append(PanelTrace(p, paths[p.row], plan.row_x0[p.row], (row.y_lo, row.y_hi),
                              changes.get(p.row, ()), None if pulse is None else pulse.foot_y,
                              pulse_free_columns(pulse, paths[p.row]), plan.row_size(p.row)))
    return out


def _paths_to_the_end(traced: TracedPage, x_end: float) -> list[extract.RowTrace]:
    """The rows' own paths, those ending over :data:`SHORT_ROW_MM` before the page's time
    axis ends traced again up to it: a faint trace broken into pieces gave its row only
    the extent of its long pieces (phone-photos 03648), and the path reaches
    :data:`ROW_REACH_MM` past that. ``traced.own_paths`` itself where none is short."""
    ppm = traced.scale.px_per_mm
    short = [tr.extent()[1] < x_end - SHORT_ROW_MM * ppm for tr in traced.own_paths]
    if not any(short):
        return traced.own_paths
    return [traced.trace_row(r.y_lo, r.y_hi, r.baseline, r.x_lo - ROW_REACH_MM * ppm, x_end + ppm, ppm) if s else tr
            for tr, r, s in zip(traced.own_paths, traced.rows, short)]


def _page_geometry(traced: TracedPage, plan, calib: cal.PageCalibration, boxes: list[LeadBox]) -> PageGeometry:
    view = traced.view
    return PageGeometry(
        boxes=boxes, skew_deg=float(view.skew_deg), image_shape=list(view.rgb.shape[:2]),
        homography=None if view.homography is None else view.homography.tolist(), bend=view.bend,
        rows=[RowBand(r.baseline, r.y_lo, r.y_hi) for r in traced.rows],
        x_start=plan.x_start, x_end=plan.x_end, time_zero=plan.time_zero,
        threshold=traced.ink.threshold, pen_core=traced.ink.pen_core, method=view.method,
        scale_source=calib.scale_source, grid_strength=traced.scale.grid.strength,
        pulses=[None if p is None else PulseMark(p.side, p.x_left, p.x_right, p.height_px, p.width_px)
                for p in traced.pulses])


# ---------------------------------------------------------------- method="auto"


def _plotted_leads(record: Record) -> int:
    return sum(f > 0 for f in record.plotted_fraction().values())


def _reading_suffices(reading: Record) -> bool:
    """A reading (the classical one, or the photo route's taken instead) that no further
    route is run against: of more than one lead and overall quality
    :data:`AUTO_SKIP_UNET_QUALITY` or more, or with all twelve leads and a verdict other
    than "failed" (the U-Net could only replace it by reading more leads), or a single-lead
    strip with a "good" verdict (a 12-lead page read as a strip is rarely "good"; the U-Net
    cost a strip 1.9 CPU s instead of 0.4)."""
    n_leads = _plotted_leads(reading)
    verdict = reading.quality.get("verdict")
    if n_leads == 1:
        return reading.layout == "strip" and verdict == "good"
    return n_leads > 1 and (reading.quality["overall"] >= AUTO_SKIP_UNET_QUALITY
                            or (verdict != "failed" and n_leads >= 12))


def _u_net_reads_better(reading: Record, learned: Record) -> bool:
    """More leads than ``reading`` (the classical one, or the photo route's taken instead);
    or as many at no lower quality where its verdict is "failed" (real scans read weakly
    by both stay classical). The U-Net's readings score a
    higher overall quality than the classical ones of the same page, often on pages it
    reads worse: ECG-Image-Kit scans of folds 1-9 (``python benchmarks/eik_accuracy.py
    --folds 1-9 -n 16 --only "200 dpi PNG" --method ...``), classical 24.34 dB, U-Net
    20.69, auto without a verdict's gate (0683348) 24.05, with it 24.34. The gate was
    "not good" until the quality model was refitted with a stricter "good" (15.4 dB
    expected): both gates then read the same on folds 1-9 (scans 24.34, photo style
    13.91 dB), the "failed" one running the U-Net less."""
    n_r, n_u = _plotted_leads(reading), _plotted_leads(learned)
    return n_u > n_r or (n_u == n_r and reading.quality.get("verdict") == "failed"
                         and learned.quality["overall"] >= reading.quality["overall"])


def _seen_at_a_slant(pg: PageImage, classical: Record) -> bool:
    """A sheet photographed filling the frame: its rows' ends on a trapezoid (the
    classical reading's time zero), or its grid lines off square by
    :data:`~.perspective.SLANT_DEG` or more (rows whose ends line up: our tilted pages of
    fold 9 read 1.3 and 3.9 dB the classical way, ecg-image-kit-photos ecg00048)."""
    return (classical.geometry.time_zero == SLANTED_TIME_ZERO
            or perspective.grid_slant_deg(pg.rgb) >= perspective.SLANT_DEG)


def _photo_reading(pg: PageImage, options: ReadOptions) -> Record | None:
    """The photo route's reading of the page, None where it refuses it."""
    try:
        return _read(pg, PHOTO, options)
    except DigitizeError:
        return None


def _photo_reading_of_slanted_page(photo: Record | None, classical: Record) -> Record | None:
    """The photo route's reading (``photo``) of a page seen at a slant
    (:func:`_seen_at_a_slant`), where it reads as many leads, nothing in it is implausible
    (its ``quality["findings"]``) and its quality is no lower: its perspective is undone
    from the grid, where the classical route gave each row a time axis of its own at most."""
    if photo is None:
        return None
    if _plotted_leads(photo) < _plotted_leads(classical) or photo.quality.get("findings"):
        return None  # fewer leads, or a reading no paper ECG gives (the grid misread)
    if photo.quality["overall"] < classical.quality["overall"]:
        return None  # ecg-image-kit-photos ecg00038: rows 8.3 s long, quality 0.49 against 0.58
    photo.warnings.append("method='auto': the page is seen at a slant (its rows' ends or its grid lines); "
                          "its perspective was undone from its grid (the photo route)")
    return photo


def _photo_reading_instead(photo: Callable[[], Record | None], classical: Record | None) -> Record | None:
    """The photo route's reading (``photo()``) of a page the classical route refused or
    read as fewer than twelve leads, where it reads more leads (or reads a refused page at
    an overall quality of :data:`~.quality.MIN_RESCUED_QUALITY` or more) with nothing
    implausible in it (its ``quality["findings"]``). A photo of a sheet filling the frame
    at a slant too slight to tell (ecg-image-kit-photos ecg00028: 3.2 deg) had its
    dotted 1 mm grid misread the classical way, at four times its scale, and was read as
    a one-lead strip; the photo route, whose flattening finds the grid's lattice, reads
    its twelve leads. The photo route is not run against a twelve-lead reading: on
    ECG-Image-Kit's photo-style pages, where the U-Net's reading won anyway, that tripled
    ``auto``'s CPU time (docs/digitizer.md)."""
    n_c = 0 if classical is None else _plotted_leads(classical)
    if n_c >= 12 or (reading := photo()) is None or reading.quality.get("findings"):
        return None
    n_p = _plotted_leads(reading)
    if classical is None and reading.quality["overall"] >= quality.MIN_RESCUED_QUALITY:
        reading.warnings.append("method='auto': the classical route refused the page; read as a photo")
        return reading
    if classical is not None and n_p > n_c:
        reading.warnings.append(f"method='auto': the classical reading had {n_c} lead(s), the photo "
                                f"route's {n_p}")
        return reading
    return None


def _digitize_auto(pg: PageImage, options: ReadOptions) -> Record:
    """The classical Record when it is good enough, else the best of the routes'
    (see ``digitize`` and :data:`AUTO_SKIP_UNET_QUALITY`). The photo route reads the page
    once at most, where one of its uses needs it."""
    photo = functools.cache(lambda: _photo_reading(pg, options))
    if sheet.sheet_on_background(pg.rgb) and (record := photo()) is not None:  # a photo
        record.warnings.append("method='auto': a sheet on a background, read as a photo")
        return record
    classical, error = None, None
    try:
        classical = _read(pg, CLASSICAL, options)
    except DigitizeError as exc:
        error = exc
    if classical is not None and _seen_at_a_slant(pg, classical):
        slanted = _photo_reading_of_slanted_page(photo(), classical)
        if slanted is not None:
            return slanted
    if classical is not None and _reading_suffices(classical):
        return classical
    # the reading the U-Net must beat: the photo route's where it reads the page better
    best = _photo_reading_instead(photo, classical) or classical
    if best is not None and best is not classical and _reading_suffices(best):
        return best
    unet = trace_view_provider("unet")
    missing = unet.unavailable() if unet.unavailable else None
    if missing:
        if best is None:
            raise error
        best.warnings.append(f"method='auto': the U-Net route is unavailable ({missing}); "
                             f"the {best.geometry.method} reading is returned")
        return best
    try:
        learned = _read(pg, unet, options)
    except DigitizeError as exc:
        if best is None:
            raise error from None
        if isinstance(exc, DigitizeInternalError):
            best.warnings.append(f"method='auto': the U-Net route failed ({exc.reason}); "
                                 f"the {best.geometry.method} reading is returned")
        return best
    if best is not None and not _u_net_reads_better(best, learned):
        return best
    if best is None and learned.quality["overall"] < quality.MIN_RESCUED_QUALITY:
        # a clear refusal is worth more than a reading this weak
        raise type(error)(f"{error.reason} (method='auto': the U-Net route's reading scored "
                          f"only {learned.quality['overall']:.2f} overall quality)") from error
    why = (f"the classical route failed ({error.reason})" if best is None else
           f"the {best.geometry.method} reading had {_plotted_leads(best)} lead(s) with quality "
           f"{best.quality['overall']:.2f}, the U-Net's {_plotted_leads(learned)} with "
           f"{learned.quality['overall']:.2f}")
    learned.warnings.append(f"method='auto' chose the U-Net route: {why}")
    return learned


# ---------------------------------------------------------------- the page as read


def page_as_measured(image: Any, record: Record, *, page: int = 0) -> np.ndarray:
    """The page image (RGB) in the frame ``record.geometry`` is measured in.

    The page is turned as it was to read it upright, the trace view's perspective (and
    bending) correction is re-applied, then the page is deskewed, so lead boxes and
    traces of the Record line up with it (overlays, lead crops, previews).
    """
    rgb = _upright(load_image(image, page=page), record).rgb
    geo = record.geometry
    provider = trace_view_provider(geo.method) if geo.method else CLASSICAL
    if provider.reframe is not None and (geo.homography is not None or geo.bend):
        rgb = provider.reframe(rgb, geo)
    angle = float(geo.skew_deg or 0.0)
    return deskew.rotate(rgb, -angle, border=(255, 255, 255)) if angle else rgb


def trace_page_as_read(image: Any, record: Record, *, page: int = 0) -> TracedPage:
    """Stages 2-7 of ``image`` as they ran for ``record`` (same turn, trace view, skew and
    ink), for reading other lead boxes on it (:func:`read_lead_boxes`)."""
    pg = _upright(load_image(image, page=page), record)
    return trace_page(pg, trace_view_provider(record.geometry.method or "classical"))


def _upright(pg: PageImage, record: Record) -> PageImage:
    turns = record.geometry.quarter_turns
    return orientation.turned(pg, turns) if turns else pg


def read_lead_boxes(traced: TracedPage, boxes: list[dict], base: Record) -> Record:
    """Read each lead from the box given for it, on the page ``base`` was read from.

    Parameters
    ----------
    traced : TracedPage
        The page as ``base`` was read (:func:`trace_page_as_read`): the same trace view,
        skew and ink as the automatic reading.
    boxes : list of dict
        ``{"lead": name, "bbox": [x0, y0, x1, y1], "t0": s}`` in the measured page's
        pixels (as ``base.geometry.boxes``); ``t0`` (default 0) is the time of the box's
        left edge and the box's width sets how many seconds it holds. Optional:
        ``"inverted"``, ``"row"``, ``"col"``, ``"baseline_y"`` (its 0 mV line).
    base : Record
        The automatic reading: its calibration is kept, and each lead its 0 mV line
        while its box still spans it.

    Returns
    -------
    Record
        Leads read from the boxes (NaN elsewhere), the boxes (``edited``) in
        ``geometry.boxes``, quality recomputed.
    """
    calib = cal.PageCalibration(float(base.calibration.px_per_mm), base.calibration.mm_per_s,
                                base.calibration.mm_per_mv, base.geometry.scale_source or "grid",
                                px_per_mm_y=base.calibration.px_per_mm_y)
    fs = float(base.fs)
    leads = list(dict.fromkeys(list(base.leads) + [b["lead"] for b in boxes]))
    items = [_box_trace(traced, box, base.geometry.boxes, calib) for box in boxes]
    n_total = max(base.n_samples, int(np.ceil(max(it.panel.t1 for it in items) * fs)))
    reading = read_panels(items, leads, n_total, fs, calib)
    for box in reading.boxes:
        box.edited = True
    geometry = replace(base.geometry, boxes=reading.boxes)
    record = Record(reading.signal, fs=fs, leads=leads, layout=base.layout, calibration=base.calibration,
                    source=base.source, geometry=geometry,
                    warnings=[w for w in base.warnings if not w.startswith(("low confidence", "limb leads"))]
                    + ["lead boxes were set by hand"])
    record.quality = quality.assess(record, reading.coverage)
    return record


def _box_trace(traced: TracedPage, box: dict, base_boxes: list[LeadBox], calib) -> PanelTrace:
    """The path inside one hand-set box, as a panel starting at the box's left edge."""
    x0, y0, x1, y1 = (float(v) for v in box["bbox"])
    t0 = max(0.0, float(box.get("t0", 0.0)))
    trace = traced.trace_row(int(y0), int(np.ceil(y1)), (y0 + y1) / 2, int(x0), int(np.ceil(x1)), calib.px_per_mm)
    panel = Panel(box["lead"], box.get("row"), box.get("col"), t0, t0 + (x1 - x0) / calib.px_per_s, 0.0,
                  inverted=bool(box.get("inverted", False)))
    return PanelTrace(panel, trace, x0, (y0, y1), zero_y=_zero_line(box, base_boxes))


def _zero_line(box: dict, base_boxes: list[LeadBox]) -> float | None:
    """The 0 mV line (page y) the automatic reading used for this lead, if it lies in ``box``.

    The pipeline takes 0 mV from the row's calibration-pulse foot when the lead's
    isoelectric level is within 1 mV of it; the line is a property of the page, so a
    corrected box keeps it as long as the box still spans it (``panel_samples`` applies
    the same 1 mV rule). A ``baseline_y`` sent with the box wins. None: isoelectric level.
    """
    y0, y1 = box["bbox"][1], box["bbox"][3]
    given = box.get("baseline_y")
    if isinstance(given, (int, float)) and np.isfinite(given) and y0 <= given <= y1:
        return float(given)
    levels = [float(b.baseline_y) for b in base_boxes
              if b.lead == box["lead"] and np.isfinite(b.baseline_y) and y0 <= b.baseline_y <= y1]
    if not levels:
        return None
    middle = (y0 + y1) / 2
    return min(levels, key=lambda y: abs(y - middle))

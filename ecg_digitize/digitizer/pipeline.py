"""``digitize(image)``: the classical pipeline from a page image to a calibrated Record.

Stages (one module each): :mod:`.load` -> :mod:`.greyscale` -> :mod:`.threshold` ->
:mod:`.deskew` -> :mod:`.grid` -> :mod:`.layout` (rows) -> :mod:`.extract` ->
:mod:`.calibration` -> :mod:`.layout` (lead placement) -> :mod:`.signals` -> :mod:`.quality`.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..errors import CalibrationError, DigitizeError, LayoutError, NotAnEcgError
from ..record import STANDARD_LEADS, Calibration, Record
from ..synth.layouts import parse_layout, plan_panels
from . import calibration as cal
from . import deskew, extract, greyscale, grid, layout as lay, quality, signals, threshold
from . import limb_order
from .load import PageImage, load_image
from .timebase import SOURCE_DT, pen_end, separator_time_zero, time_axis

MM_PER_INCH = 25.4
METHODS = ("classical", "unet", "auto")
LEAD_ORDERS = ("auto", "standard", "cabrera")
# lead_order="auto" reads a page in the Cabrera order where its limb leads agree at least
# this much in it, and by this much more than in the standard order (real pictures, all
# standard: at most 1.33 dB as Cabrera, and never more than 1.41 dB above their standard
# reading; ``python benchmarks/lead_order_evidence.py``)
CABRERA_MIN_DB = 6.0
UNET_THRESHOLD = 0.5  # trace probability above which a pixel is ink
# method="auto" replaces a classical refusal by the U-Net's reading only from this overall
# quality on (the U-Net route's readings of fold-9 renders all score 0.52 or more); a
# trace rescued by joining its faint pixels must read as well.
AUTO_MIN_QUALITY_OVER_REFUSAL = 0.4
# method="auto" keeps a classical reading of more than one lead from this overall quality
# on without running the U-Net: chosen on fold-9 renders, the highest threshold at which
# auto is not worse than the classical route on clean pages (the U-Net reads them less
# precisely), while scans and photos keep most of the U-Net's gain
# (``benchmarks/image_branch_segmenter.py --fold 9 --routes classical unet auto``).
AUTO_SKIP_UNET_QUALITY = 0.85
# Pages finer than this (about 140 dpi) are denoised before the trace view. Coarser, the
# filter's 5x5 window spans more than two pen widths and smooths the trace itself (an
# ungated trial, not committed, lost on fold-9 100 dpi renders and on low-resolution photos).
DENOISE_MIN_PX_PER_MM = 5.5
STANDARD_ROW_MM = 250.0  # 10 s at 25 mm/s: the usual width of a 12-lead page's rows
SHORT_ROW_SHARE = 0.6    # rows under this share of it are short for a page (a grid read double?)
# a classical reading with more than this share of its leads of low confidence is refused
MAX_UNFOLLOWED_SHARE = 2 / 3
# below this share of the ink in curves of trace length, the trace broke into pieces at the
# threshold (``python benchmarks/pen_core_evidence.py``: fold-9 renders of five conditions
# 0.83 and more, khan2021 scans 0.68 and more, ecg-image-kit photos from 0.00)
MIN_LONG_INK_SHARE = 0.15
# rows narrower than this share of the page's width (median) may be a box or text above a
# fainter trace (rows' median width: khan2021 scans 0.89, real photos mostly 0.7-0.98; a
# throwaway count); the fainter threshold's rows are then tried
MIN_ROW_WIDTH_SHARE = 0.5
# fainter thresholds tried for them, one Otsu split further down each (the first may stop
# at black text's anti-aliased edges)
MAX_FAINTER_STEPS = 3


def digitize(image: Any, *, fs: float = 500, layout: str = "auto", paper_speed: float | None = None,
             gain: float | None = None, method: str = "classical", page: int = 0,
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
    method : {"classical", "unet", "auto"}
        Where the trace pixels come from: ``"classical"`` thresholds the page's darkness
        (adaptive Otsu, no weights); ``"unet"`` takes the trace probability of the U-Net
        segmenter (``pretrained/unet-trace.keras``, TensorFlow imported on first use)
        after undoing a photo's perspective and the bending of its paper (from the
        grid lines; ``geometry["bend"]``). Both then share every later stage.
        ``"auto"`` keeps the classical reading when it has more than one lead and an
        overall quality of at least :data:`AUTO_SKIP_UNET_QUALITY`; otherwise it also
        runs the U-Net route and keeps the U-Net's Record when it read more leads,
        or as many at no lower overall quality, or when the classical route failed and
        the U-Net reading's quality is at least :data:`AUTO_MIN_QUALITY_OVER_REFUSAL`.
        The Record's ``geometry["method"]`` says which route produced it.
    page : int
        PDF page (0-based).
    lead_order : {"auto", "standard", "cabrera"}
        Which limb leads the panels show: ``"standard"`` I, II, III, aVR, aVL, aVF;
        ``"cabrera"`` aVL, I, -aVR, II, aVF, III. ``"auto"`` takes the Cabrera order
        where the limb leads plotted together obey their relations in it (at least
        :data:`CABRERA_MIN_DB`, and by that much more than in the standard order; see
        :mod:`~ecg_digitize.digitizer.limb_order`), else the standard one.

    Returns
    -------
    Record
        Signals in mV at ``fs`` (NaN where a lead was not plotted), leads, layout,
        calibration, per-lead quality, ``geometry`` (lead boxes in the deskewed page's
        pixels, skew angle, rows) and ``warnings``.

    Raises
    ------
    ImageReadError, NotAnEcgError, CalibrationError, LayoutError
        Subclasses of :class:`~ecg_digitize.errors.DigitizeError`, naming the file.

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
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if layout != "auto":
        parse_layout(layout)  # fail early on a malformed layout
    if lead_order not in LEAD_ORDERS:
        raise ValueError(f"unknown lead_order {lead_order!r}; choose one of {LEAD_ORDERS}")
    pg = load_image(image, page=page)
    options = dict(fs=fs, layout=layout, paper_speed=paper_speed, gain=gain, lead_order=lead_order)
    try:
        if method == "auto":
            return _digitize_auto(pg, **options)
        return _digitize_page(pg, method=method, **options)
    except DigitizeError as exc:
        if exc.source:
            raise
        raise type(exc)(exc.reason, pg.source) from exc


def _plotted_leads(record: Record) -> int:
    return sum(f > 0 for f in record.plotted_fraction().values())


def _u_net_reads_better(classical: Record, learned: Record) -> bool:
    """More leads, or as many at no lower quality (real scans read weakly by both stay classical)."""
    n_c, n_u = _plotted_leads(classical), _plotted_leads(learned)
    return n_u > n_c or (n_u == n_c and learned.quality["overall"] >= classical.quality["overall"])


def _digitize_auto(pg: PageImage, **options) -> Record:
    """The classical Record when it is good enough, else the better of both routes'
    (see ``digitize`` and :data:`AUTO_SKIP_UNET_QUALITY`)."""
    from ..neural.segment import default_model_path

    classical, error = None, None
    try:
        classical = _digitize_page(pg, method="classical", **options)
    except DigitizeError as exc:
        error = exc
    if (classical is not None and _plotted_leads(classical) > 1
            and classical.quality["overall"] >= AUTO_SKIP_UNET_QUALITY):
        return classical
    if not default_model_path().exists():
        if classical is None:
            raise error
        classical.warnings.append("method='auto': the U-Net route is unavailable without "
                                  f"{default_model_path()}; the classical reading is returned")
        return classical
    try:
        learned = _digitize_page(pg, method="unet", **options)
    except DigitizeError:
        if classical is None:
            raise error from None
        return classical
    if classical is not None and not _u_net_reads_better(classical, learned):
        return classical
    if classical is None and learned.quality["overall"] < AUTO_MIN_QUALITY_OVER_REFUSAL:
        # a clear refusal is worth more than a reading this weak
        raise type(error)(f"{error.reason} (method='auto': the U-Net route's reading scored "
                          f"only {learned.quality['overall']:.2f} overall quality)") from error
    why = (f"the classical route failed ({error.reason})" if classical is None else
           f"the classical reading had {_plotted_leads(classical)} lead(s) with quality "
           f"{classical.quality['overall']:.2f}, the U-Net's {_plotted_leads(learned)} with "
           f"{learned.quality['overall']:.2f}")
    learned.warnings.append(f"method='auto' chose the U-Net route: {why}")
    return learned


class _UpsideDown(Exception):
    """Raised by :func:`_read_page` when the page's calibration pulses hang down at the
    far end of its rows: the page was read upside down."""


def _digitize_page(pg: PageImage, *, method: str, **options) -> Record:
    """Read one page, turned upright first where it lies on its side or upside down.

    - Upside down (turned 180 deg): the calibration pulses hang below the rows at their
      far ends (:func:`_inverted_pulses`). A page without pulses gives no such sign.
    - On its side (turned 90 deg): tried only where the page as given is refused and its
      long curves of ink run down the page (:func:`_lies_on_its_side`); the upright
      reading is then told from the upside-down one by the pulses as above.
    """
    try:
        return _read_page_upright(pg, method=method, **options)
    except DigitizeError as exc:
        if method == "unet" or not _lies_on_its_side(pg.rgb):
            raise
        turned = replace(pg, rgb=np.ascontiguousarray(np.rot90(pg.rgb, -1)))
        try:
            return _read_page_upright(turned, method=method, quarter_turns=1, **options)
        except DigitizeError:
            raise exc from None


def _read_page_upright(pg: PageImage, *, method: str, quarter_turns: int = 0, **options) -> Record:
    """:func:`_read_page`, again on the page turned 180 deg where it was upside down;
    ``quarter_turns``: clockwise quarter turns already applied to the image as loaded."""
    try:
        record = _read_page(pg, method=method, **options)
    except _UpsideDown:
        turned = replace(pg, rgb=np.ascontiguousarray(np.rot90(pg.rgb, 2)))
        record = _read_page(turned, method=method, pulses_down_means_turned=False, **options)
        quarter_turns += 2
    turns = quarter_turns % 4
    if turns:
        record.geometry["quarter_turns"] = turns
        note = f"the page was turned {90 * turns} deg clockwise to read it upright"
        if turns % 2 and not any(record.geometry.get("pulses") or []):
            note += " (without calibration pulses, upright and upside down could not be told apart)"
        record.warnings.insert(0, note)
    return record


def _lies_on_its_side(rgb: np.ndarray) -> bool:
    """Whether the page's long curves of ink run down the page rather than across it:
    ink in components at least 40 % of the page's height tall and under a quarter of
    its width wide holds over twice the ink of components the other way round."""
    dark = threshold.normalise_background(greyscale.trace_view(rgb[::2, ::2]))
    _, mask = threshold.adaptive_otsu(dark)
    stats = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)[2]
    h, w = mask.shape
    wide = (stats[1:, cv2.CC_STAT_WIDTH] >= 0.4 * w) & (stats[1:, cv2.CC_STAT_HEIGHT] < 0.25 * h)
    tall = (stats[1:, cv2.CC_STAT_HEIGHT] >= 0.4 * h) & (stats[1:, cv2.CC_STAT_WIDTH] < 0.25 * w)
    area = stats[1:, cv2.CC_STAT_AREA]
    return bool(area[tall].sum() > 2 * area[wide].sum())


def _read_page(pg: PageImage, *, fs, layout, paper_speed, gain, method, lead_order,
               pulses_down_means_turned: bool = True) -> Record:
    warnings: list[str] = []
    guessed: list[str] = []
    rgb, homography, bend = pg.rgb, None, None
    if method == "unet":
        rgb, homography, bend, trace_dark = _unet_trace_view(rgb, warnings)
    grid_dark = threshold.normalise_background(greyscale.grid_view(rgb))
    if method != "unet":
        trace_dark = threshold.normalise_background(greyscale.trace_view(_denoised_if_fine(rgb, grid_dark)))

    angle = deskew.estimate_skew(grid_dark)
    if abs(angle) <= 0.05:  # below this the drift across a page is about a pixel: leave it
        angle = 0.0
    else:
        # bicubic: the trace's edges place it to a fraction of a pixel (fold-9 scans
        # +0.8 dB over bilinear); the grid view only needs its period
        trace_dark = deskew.rotate(trace_dark, -angle, border=0.0, method="bicubic")
        grid_dark = deskew.rotate(grid_dark, -angle, border=0.0)

    if method == "unet":
        thr, mask = UNET_THRESHOLD, trace_dark >= UNET_THRESHOLD
    else:
        thr, mask = threshold.adaptive_otsu(trace_dark)
    if mask.sum() < 200:
        raise NotAnEcgError("no dark trace on the page after thresholding")
    if mask.mean() > 0.25:
        raise NotAnEcgError(f"{mask.mean():.0%} of the page is dark ink: a photo or a dark page, "
                            "not an ECG line drawing")

    # ---- scale: grid, else dpi, else the standard row width (refined by the pulse below)
    dilated = cv2.dilate(mask.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    est = grid.estimate_grid(grid_dark, trace_mask=dilated)
    grid_ink = float(((grid_dark > 0.08) & ~dilated).mean())
    px_per_mm = est.px_per_mm if grid_ink > 0.004 else None
    scale_source = "grid"
    if px_per_mm is None:
        if pg.dpi:
            px_per_mm, scale_source = pg.dpi / MM_PER_INCH, "dpi"
        else:
            provisional = lay.long_components(mask, 4.0)
            xs = np.nonzero(provisional.any(axis=0))[0]
            span = (xs[-1] - xs[0]) if len(xs) else rgb.shape[1] * 0.8
            px_per_mm, scale_source = span / STANDARD_ROW_MM, "page width"
    if scale_source == "grid" and _grid_lines_are_1mm(est.minor_contrast, mask, px_per_mm):
        px_per_mm *= 5
        warnings.append("the grid has no distinct 5 mm lines and at that scale the pen would be "
                        "implausibly wide: its lines were read as 1 mm apart")
    if not (1.0 <= px_per_mm <= 60.0):
        raise CalibrationError(f"implausible grid scale ({px_per_mm:.2f} px/mm)")

    core_evidence: dict[str, Any] = {}
    if method != "unet":  # the grid and the pen's width above read the whole line
        thr, mask = threshold.pen_core(trace_dark, thr, mask, evidence=core_evidence)
    if method == "unet":
        rows, rescued_from = lay.find_rows(mask, px_per_mm), None
    else:
        mask, rows, rescued_from = _rows_or_rescue(mask, trace_dark, thr, px_per_mm, warnings)
    traces = [extract.trace_row(mask, trace_dark, r.y_lo, r.y_hi, r.baseline,
                                r.x_lo - 15 * px_per_mm, r.x_hi + 15 * px_per_mm, px_per_mm=px_per_mm)
              for r in rows]
    # each row's own path (before neighbours are separated) is redrawn at the lead
    # changes once the layout has placed them
    own_paths = traces
    traces = extract.separate_neighbours(own_paths, [r.baseline for r in rows])

    # ---- calibration pulses
    pulses = [cal.find_pulse(tr, r.baseline, px_per_mm, side="left") for tr, r in zip(traces, rows)]
    if not any(pulses):  # a page puts its pulses on one side; try the right only if none on the left
        pulses = [cal.find_pulse(tr, r.baseline, px_per_mm, side="right") for tr, r in zip(traces, rows)]
    pulses = cal.consistent(pulses)
    found = [p for p in pulses if p is not None]
    if not found and pulses_down_means_turned and _inverted_pulses(traces, rows, px_per_mm):
        raise _UpsideDown()
    if scale_source == "grid" and found:
        px_per_mm = _unless_grid_read_double(px_per_mm, found, traces, warnings)
    if scale_source != "grid" and found:
        # No grid: a 1 mV pulse of standard 10 mm gives the scale (stated as guessed),
        # unless it makes a 12-lead page's rows far from the standard 250 mm
        from_pulse = float(np.median([p.height_px for p in found])) / 10.0
        longest_mm = _longest_row(traces) / from_pulse
        if scale_source == "page width" and len(rows) >= 3 and abs(longest_mm / STANDARD_ROW_MM - 1) > 0.25:
            # the rows without their pulses, 250 mm long
            px_per_mm, scale_source = _trace_span(traces, pulses) / STANDARD_ROW_MM, "row width (250 mm)"
            warnings.append(f"the pulses, taken as 10 mm, would make the rows {longest_mm:.0f} mm long")
        else:
            px_per_mm, scale_source = from_pulse, "pulse"
    pulse_gain, pulse_speed = cal.gain_from_pulses(found, px_per_mm)
    if scale_source != "grid":
        guessed.append("px_per_mm")
        warnings.append(f"no grid found: scale taken from the {scale_source}"
                        + (" assuming a 10 mm/mV pulse" if scale_source == "pulse" else ""))
        pulse_gain = None if scale_source == "pulse" else pulse_gain
    if gain is None:
        if pulse_gain is not None:
            gain = pulse_gain
            if scale_source.startswith("row width"):   # the pulse disagreed with that scale
                guessed.append("mm_per_mv")
                warnings.append(f"gain {gain:g} mm/mV from the pulse's height at the scale guessed "
                                "from the rows' width")
        else:
            gain = 10.0
            guessed.append("mm_per_mv")
            warnings.append("gain not measured (no usable calibration pulse): assumed 10 mm/mV")
    if paper_speed is None:
        if pulse_speed is not None and scale_source == "grid":
            paper_speed = pulse_speed
        else:
            paper_speed = 25.0
            guessed.append("mm_per_s")
            warnings.append("paper speed not measured: assumed 25 mm/s")
    px_per_s = px_per_mm * paper_speed
    px_per_mv = px_per_mm * gain

    # ---- row extents (trace proper, without the pulse)
    starts, ends = [], []
    for tr, p in zip(traces, pulses):
        a, b = tr.extent()
        if p is not None and p.side == "left":
            a = p.trace_bound
        if p is not None and p.side == "right":
            b = p.trace_bound
        starts.append(a)
        ends.append(b)
    starts, ends = np.array(starts, float), np.array(ends, float)
    ok_rows = (ends - starts) > 10 * px_per_mm
    if not ok_rows.any():
        raise NotAnEcgError("no ECG trace rows long enough to read")
    traces = [t for t, k in zip(traces, ok_rows) if k]
    rows = [r for r, k in zip(rows, ok_rows) if k]
    starts, ends = starts[ok_rows], ends[ok_rows]

    pulses = [p for p, k in zip(pulses, ok_rows) if k]
    pen_starts = np.array([pen_end(t, trace_dark, int(a), -1) for t, a in zip(traces, starts)])
    pen_ends = np.array([pen_end(t, trace_dark, int(b), +1) for t, b in zip(traces, ends)])
    x_start, x_end, row_seconds = time_axis(pen_starts, pen_ends, pulses, px_per_mm, px_per_s)
    span = x_end - x_start
    _check_ecg_evidence(traces, starts, ends, scale_source, any(p is not None for p in pulses),
                        min(rgb.shape[:2]), rgb.shape[1])
    layout_name, lead_order_note = _choose_layout(layout, traces, rows, x_start, span, px_per_mm, warnings)
    n_rows_layout, _, _ = parse_layout(layout_name)
    if n_rows_layout and len(rows) != n_rows_layout + len(parse_layout(layout_name)[2]):
        raise LayoutError(f"layout {layout_name!r} needs {n_rows_layout + len(parse_layout(layout_name)[2])} "
                          f"rows but {len(rows)} were found")

    # ---- panels -> signals
    time_zero = "pen ends"
    if n_rows_layout == 0:  # strip: rows consecutive in time, each row_seconds long
        # rows start at the common left edge unless one clearly starts elsewhere
        own = pen_starts
        row_x0 = np.where(np.abs(own - x_start) <= 1.5 * px_per_mm, x_start, own)
        last = (ends[-1] - row_x0[-1]) / px_per_s + SOURCE_DT
        duration = (len(rows) - 1) * row_seconds + min(row_seconds, last)
        strip_lead = "II"
        panels = plan_panels("strip", row_seconds, duration=duration, strip_lead=strip_lead)[: len(rows)]
        leads = [strip_lead]
    else:
        panels = plan_panels(layout_name, row_seconds)
        leads = list(STANDARD_LEADS)
        # the column separators, where a page has them, place time zero better than the
        # pen's ends, whose reach depends on the pen's cap
        breaks = [(p.row, p.x_offset_s) for p in panels if p.col > 0]
        x_sep = separator_time_zero(mask, trace_dark, [r.baseline for r in rows], breaks,
                                    x_start, px_per_s, px_per_mm)
        if x_sep is not None:
            x_start, x_end = x_sep, x_end + (x_sep - x_start)
            time_zero = "separators"
        row_x0 = np.full(len(rows), x_start)
    n_total = int(np.ceil(max(p.t1 for p in panels) * fs - 1e-9))
    sig = np.full((n_total, len(leads)), np.nan)
    covered: dict[str, list[float]] = {}
    boxes = []
    boundaries = _boundaries(panels, row_x0, px_per_s)
    if any(boundaries.values()):
        traces = [extract.redraw_at_lead_changes(tr, mask, trace_dark, boundaries.get(i, ()))
                  for i, tr in enumerate(own_paths)]
        traces = extract.separate_neighbours(traces, [r.baseline for r in rows])
    # rhythm strips (full-width panels) last, so that they win for their lead
    order = sorted(range(len(panels)), key=lambda k: (panels[k].t1 - panels[k].t0))
    for k in order:
        p = panels[k]
        if p.row >= len(traces):
            continue
        tr = traces[p.row]
        pulse = pulses[p.row]
        n, v, base = signals.panel_samples(tr, row_x0[p.row], p, fs, px_per_s, px_per_mv, px_per_mm,
                                           boundaries=boundaries.get(p.row, ()),
                                           zero_y=None if pulse is None else pulse.foot_y)
        keep = n < n_total
        n, v = n[keep], v[keep]
        j = leads.index(p.lead)
        sig[n, j] = v
        xs = row_x0[p.row] + (p.x_offset_s + n / fs - p.t0) * px_per_s
        cols = np.clip(np.round(xs - tr.x0).astype(int), 0, len(tr.y) - 1)
        covered.setdefault(p.lead, []).append(float(tr.covered[cols].mean()) if len(cols) else 0.0)
        x0 = float(row_x0[p.row] + p.x_offset_s * px_per_s)
        x1 = x0 + (p.t1 - p.t0) * px_per_s
        r = rows[p.row]
        boxes.append({"lead": p.lead, "row": p.row, "col": p.col, "t0": n[0] / fs if len(n) else p.t0,
                      "t1": (n[-1] + 1) / fs if len(n) else p.t1, "x0": x0 + ((n[0] / fs - p.t0) * px_per_s if len(n) else 0.0),
                      "baseline_y": float(base), "inverted": p.inverted,
                      "bbox": [x0, float(r.y_lo), x1, float(r.y_hi)]})

    if n_rows_layout:
        sig, layout_name, lead_order_note = _limb_lead_order(lead_order, sig, leads, layout_name, boxes,
                                                             lead_order_note)
    record = Record(
        sig, fs=fs, leads=leads, layout=layout_name,
        calibration=Calibration(px_per_mm=float(px_per_mm), mm_per_s=float(paper_speed),
                                mm_per_mv=float(gain), guessed=guessed),
        source=pg.source,
        geometry={
            "boxes": boxes,
            "skew_deg": float(angle),
            "image_shape": list(rgb.shape[:2]),
            # the U-Net route's perspective correction (original image -> measured page)
            "homography": None if homography is None else homography.tolist(),
            "bend": None if bend is None else bend.to_dict(),
            "rows": [{"baseline_y": r.baseline, "y_lo": r.y_lo, "y_hi": r.y_hi} for r in rows],
            "x_start": x_start, "x_end": x_end, "time_zero": time_zero,
            "threshold": thr,
            "pen_core": core_evidence,
            "method": method,
            "scale_source": scale_source,
            "grid_strength": est.strength,
            "pulses": [None if p is None else {"side": p.side, "x_left": p.x_left, "x_right": p.x_right,
                                               "height_px": p.height_px, "width_px": p.width_px}
                       for p in pulses],
        },
        warnings=warnings,
    )
    if lead_order_note:
        record.warnings.append(lead_order_note)
    record.quality = quality.assess(record, {k: float(np.mean(v)) for k, v in covered.items()})
    if method == "classical":
        _refuse_weak_reading(record, rescued_from)
    return record


def _longest_row(traces) -> int:
    """The widest row's path, pulse included, in px."""
    return max(b - a for a, b in (t.extent() for t in traces))


def _trace_span(traces, pulses) -> float:
    """The widest row's trace proper (without its pulse), in px."""
    spans = []
    for t, p in zip(traces, pulses):
        a, b = t.extent()
        if p is not None:
            a, b = (p.trace_bound, b) if p.side == "left" else (a, p.trace_bound)
        spans.append(b - a)
    return float(max(spans))


def _unless_grid_read_double(px_per_mm: float, pulses: list, traces: list, warnings: list) -> float:
    """``px_per_mm``, or half of it where the grid's period was read at twice its size.

    The sign: at the grid's scale the rows are short for a page (under
    ``SHORT_ROW_SHARE`` of the standard 250 mm) and the pulses not standard (gain or
    speed), while at half of it the longest row is 250 mm (to 15 %) and the pulses are
    standard in both (10 mm/mV, 0.2 s at 25 mm/s, or the like). A narrow pulse alone
    (0.1 s) reads standard at half the scale too; the row's length tells them apart.
    """
    longest = _longest_row(traces)
    half = px_per_mm / 2
    if (longest / px_per_mm >= SHORT_ROW_SHARE * STANDARD_ROW_MM
            or abs(longest / half / STANDARD_ROW_MM - 1) > 0.15
            or None not in cal.gain_from_pulses(pulses, px_per_mm)
            or None in cal.gain_from_pulses(pulses, half)):
        return px_per_mm
    warnings.append(f"the grid's period was read at twice its size ({px_per_mm:.2f} px/mm): at half of it "
                    f"the rows are {longest / half:.0f} mm long and the pulses standard")
    return half


def _limb_lead_order(lead_order: str, sig: np.ndarray, leads: list[str], layout_name: str,
                     boxes: list[dict], note: str) -> tuple[np.ndarray, str, str]:
    """The signal, layout name and lead-order note of a 12-lead page read in the standard
    order, relabelled where its panels show the Cabrera order (``lead_order``: see
    :func:`digitize`); ``boxes`` get their leads' new names in place."""
    if lead_order == "standard":
        return sig, layout_name, note
    cabrera = limb_order.as_cabrera(sig, leads)
    why = ""
    if lead_order == "auto":
        as_std = limb_order.limb_consistency(sig, leads)
        as_cab = limb_order.limb_consistency(cabrera, leads)
        if not (as_cab >= CABRERA_MIN_DB and as_cab >= as_std + CABRERA_MIN_DB):
            return sig, layout_name, note
        why = f": they agree at {as_cab:.1f} dB in it, {as_std:.1f} dB in the standard order"
    rename = {panel: lead for panel, (lead, _) in limb_order.CABRERA.items()}
    for box in boxes:
        box["lead"] = rename.get(box["lead"], box["lead"])
    rhythm = parse_layout(layout_name)[2]
    if rhythm:
        layout_name = layout_name.split("+")[0] + "+" + ",".join(rename.get(r, r) for r in rhythm)
    note = f"limb leads placed by position in the Cabrera order (aVL, I, -aVR, II, aVF, III){why}; " \
           "printed labels are not read"
    return cabrera, layout_name, note


def _rows_or_rescue(mask, trace_dark, thr: float, px_per_mm: float, warnings: list):
    """The rows of trace of a classical reading: ``(mask, rows, rescued_from)``.

    Where no rows are found, the long curves hold little of the ink, or the rows found
    are narrow (their median under ``MIN_ROW_WIDTH_SHARE`` of the page's width), the
    threshold may have lost a thin trace. Two rescues are tried, in this order:

    - The trace is fainter than the threshold, which fell between it and black text
      (:func:`threshold.faint_threshold`, a step at a time): the first fainter threshold
      whose rows are wide enough is taken.
    - Where no rows were found: a thin line drawn in few grey levels may have broken
      into dots at the threshold. Its fainter pixels are joined
      (:func:`threshold.reconnect_faint`) and the rows looked for again.

    ``rescued_from`` is then ``(why, how)``: the first search's trouble and the rescue,
    which stand as the reason if the rescued reading turns out weak
    (:func:`_refuse_weak_reading`).
    """
    try:
        rows = lay.find_rows(mask, px_per_mm, min_long_share=MIN_LONG_INK_SHARE)
    except NotAnEcgError as exc:
        rows, why = None, exc.reason
    else:
        width = _median_row_width(rows, mask.shape[1])
        if width >= MIN_ROW_WIDTH_SHARE:
            return mask, rows, None
        why = f"the rows found at the threshold ({thr:.2f}) span {width:.0%} of the page's width"
    faint, faint_rows, t_faint = _rows_at_fainter_threshold(trace_dark, thr, px_per_mm)
    if faint_rows is not None:
        how = f"read at a fainter threshold ({t_faint:.2f})"
        warnings.append(f"{why}: {how}")
        return faint, faint_rows, (why, how)
    if rows is not None:
        return mask, rows, None
    joined = threshold.reconnect_faint(trace_dark, mask, thr)
    rows = lay.find_rows(joined, px_per_mm)
    warnings.append("the trace broke into dots at the threshold: its fainter pixels were joined")
    return joined, rows, (why, "with its fainter pixels joined")


def _rows_at_fainter_threshold(trace_dark, thr: float, px_per_mm: float):
    """``(mask, rows, threshold)`` at the first of up to ``MAX_FAINTER_STEPS`` ever
    fainter thresholds whose rows are wide enough; ``(None, None, None)`` if none is (a
    step may stop at the anti-aliased edges of black text)."""
    t_faint = thr
    for _ in range(MAX_FAINTER_STEPS):
        t_faint = threshold.faint_threshold(trace_dark, t_faint)
        if t_faint is None:
            break
        faint = threshold.mask_at(trace_dark, t_faint)
        try:
            rows = lay.find_rows(faint, px_per_mm, min_long_share=MIN_LONG_INK_SHARE)
        except NotAnEcgError:
            continue
        if _median_row_width(rows, faint.shape[1]) >= MIN_ROW_WIDTH_SHARE:
            return faint, rows, t_faint
    return None, None, None


def _inverted_pulses(traces, rows, px_per_mm: float) -> bool:
    """Whether most rows (at least two, or a one-row strip's row) end in a calibration
    pulse hanging down from the row: an upright page's pulses, seen upside down
    (mirrored about each baseline and looked for at either end)."""
    mirrored = [replace(t, y=2 * r.baseline - t.y, top=2 * r.baseline - t.bottom, bottom=2 * r.baseline - t.top)
                for t, r in zip(traces, rows)]
    for side in ("right", "left"):
        pulses = cal.consistent([cal.find_pulse(t, r.baseline, px_per_mm, side=side)
                                 for t, r in zip(mirrored, rows)])
        n = sum(p is not None for p in pulses)
        if n >= min(2, len(rows)) and n >= len(rows) / 2:
            return True
    return False


def _median_row_width(rows, page_width: int) -> float:
    """The median row's width, as a share of the page's."""
    return float(np.median([r.x_hi - r.x_lo for r in rows])) / page_width


def _refuse_weak_reading(record: Record, rescued_from: tuple[str, str] | None) -> None:
    """Raise where a classical reading is not worth returning as one.

    - Most leads of a multi-lead reading could not be followed: rows found in the wrong
      places (grid remnants, text, pieces of one wandering strip) give a layout whose
      panels hold little of the trace.
    - The trace was rescued (:func:`_rows_or_rescue`) and reads weakly: a clear refusal
      is worth more.
    """
    leads = record.quality["leads"]
    low = [n for n, c in leads.items() if c < quality.LOW_CONFIDENCE]
    if len(leads) > 1 and len(low) > MAX_UNFOLLOWED_SHARE * len(leads):
        raise LayoutError(f"{len(low)} of {len(leads)} leads of the {record.layout} layout read could "
                          "not be followed: the rows found are probably not the page's traces")
    if rescued_from is not None and record.quality["overall"] < AUTO_MIN_QUALITY_OVER_REFUSAL:
        why, how = rescued_from
        raise NotAnEcgError(f"{why}; {how} it read only {record.quality['overall']:.2f} overall quality")


def _denoised_if_fine(rgb: np.ndarray, grid_dark: np.ndarray) -> np.ndarray:
    """``rgb`` smoothed by :func:`greyscale.denoise` when its grid shows at least
    ``DENOISE_MIN_PX_PER_MM``; else unchanged (no grid: no scale to judge by).

    Only the trace view is made from it: on photos, a smoothed grid view changed which
    grid lines were found.
    """
    provisional = grid.estimate_grid(grid_dark).px_per_mm
    if provisional is None or provisional < DENOISE_MIN_PX_PER_MM:
        return rgb
    return greyscale.denoise(rgb)


def _unet_trace_view(rgb: np.ndarray, warnings: list[str]):
    """The page with a photo's perspective (and bending) undone, the homography, the
    bending undone (a :class:`~ecg_digitize.neural.unbend.BendField` or None), and the
    page's U-Net trace probability."""
    from ..neural.geometry import rectify
    from ..neural.segment import default_model_path, trace_probability
    from ..neural.unbend import unbend

    if not default_model_path().exists():
        raise FileNotFoundError(f"method='unet' needs {default_model_path()}, which this "
                                "installation does not have; use method='classical'")
    rgb, homography = rectify(rgb)
    bend = None
    if not np.allclose(homography, np.eye(3)):
        warnings.append("perspective undone from the page outline (method='unet')")
        rgb, homography = _square_grid(rgb, homography)
        rgb, bend = unbend(rgb)
        if bend is not None:
            warnings.append("paper bending undone from the grid lines (method='unet')")
    return rgb, homography, bend, trace_probability(rgb)


def _square_grid(rgb: np.ndarray, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stretch a rectified photo along x so its grid cells are square again.

    The sheet's outline fixes the perspective but not the aspect ratio (the sides keep
    their lengths as photographed); a few percent of stretch in x is a time-scale error
    that shifts late columns by tenths of a second. Left alone when the two directions
    agree within 1 % or no grid is measured.
    """
    periods = grid.axis_periods(threshold.normalise_background(greyscale.grid_view(rgb)))
    if periods is None or abs(periods[0] / periods[1] - 1) <= 0.01:
        return rgb, homography
    sx = periods[1] / periods[0]
    h, w = rgb.shape[:2]
    stretched = cv2.resize(rgb, (max(1, int(round(w * sx))), h), interpolation=cv2.INTER_LINEAR)
    return stretched, np.diag([sx, 1.0, 1.0]) @ homography


def page_as_measured(image: Any, record: Record, *, page: int = 0) -> np.ndarray:
    """The page image (RGB) in the frame ``record.geometry`` is measured in.

    The U-Net route's perspective (and bending) correction is re-applied, then the page is deskewed, so
    lead boxes and traces of the Record line up with it (overlays, lead crops, previews).
    """
    rgb = load_image(image, page=page).rgb
    homography = record.geometry.get("homography")
    if homography is not None:
        h, w = record.geometry["image_shape"]
        rgb = cv2.warpPerspective(rgb, np.asarray(homography, float), (w, h),
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    if record.geometry.get("bend"):
        from ..neural.unbend import BendField, apply_bend

        rgb = apply_bend(rgb, BendField.from_dict(record.geometry["bend"]))
    angle = float(record.geometry.get("skew_deg") or 0.0)
    return deskew.rotate(rgb, -angle, border=(255, 255, 255)) if angle else rgb


def pen_thickness_px(mask: np.ndarray) -> float:
    """Median over columns of the thinnest vertical ink run: the pen width on flat stretches."""
    thinnest = []
    for col in mask[:, ::3].T:
        d = np.diff(np.r_[0, col.view(np.uint8), 0].astype(np.int8))
        starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
        if len(starts):
            thinnest.append(int((ends - starts).min()))
    return float(np.median(thinnest)) if thinnest else 0.0


MAX_TRACE_SPAN_MM = 300.0  # the ink of a paper ECG spans at most about an A4/Letter width


def _grid_lines_are_1mm(minor_contrast: float, mask, px_per_mm: float) -> bool:
    """True when the grid's "5 mm" period is really 1 mm: equal lines, an implausible pen
    and an implausibly wide trace.

    Paper without major lines has no 1 mm-vs-5 mm contrast in its spectrum, so the comb
    takes the line spacing for 5 mm. ECG pens draw 0.1-0.5 mm: read five times too small,
    such a pen looks 1-2.5 mm wide. A blurred scan of dotted paper also hides the 5 mm
    lines and widens the pen, to 0.7-0.85 mm on our renders, so a pen of 0.6-0.95 mm only
    counts when the ink also spans more than any ECG paper is wide.
    """
    # real grids: 2 or more; equal-line paper about 1 (up to 1.5 once deskewed)
    if minor_contrast >= 1.75:   # grid.minor_line_contrast
        return False
    pen_mm = pen_thickness_px(mask) / px_per_mm
    cols = np.flatnonzero(mask.any(axis=0))
    span_mm = (cols[-1] - cols[0]) / px_per_mm if len(cols) else 0.0
    return pen_mm > 0.95 or (pen_mm > 0.6 and span_mm > MAX_TRACE_SPAN_MM)


def _check_ecg_evidence(traces, starts, ends, scale_source: str, has_pulse: bool, side: int,
                        page_width: int) -> None:
    """Traces are thin lines; without a grid or a pulse, only long continuous ones make
    the page an ECG."""
    width = float(np.median([t.line_width for t in traces]))
    if width > 0.02 * side + 4:
        raise NotAnEcgError(f"the dark shapes are {width:.0f} px thick blobs, not ECG trace lines")
    if scale_source == "grid" or has_pulse:
        return
    cover, smooth = [], []
    for t, a, b in zip(traces, starts, ends):
        seg = slice(max(0, int(a) - t.x0), int(b) - t.x0 + 1)
        cover.append(float(np.isfinite(t.y[seg]).mean()))
        top, bot = t.top[seg], t.bottom[seg]
        # consecutive runs that touch: a drawn line does, speckle does not
        touch = (top[1:] <= bot[:-1] + 1) & (bot[1:] >= top[:-1] - 1)
        both = np.isfinite(top[1:]) & np.isfinite(top[:-1])
        smooth.append(float(touch[both].mean()) if both.any() else 0.0)
    longest = float(np.max(ends - starts)) / page_width
    weights = np.maximum(ends - starts, 1.0)  # long rows count more than specks
    cover_m, smooth_m = np.average(cover, weights=weights), np.average(smooth, weights=weights)
    if cover_m < 0.95 or smooth_m < 0.9 or longest < 0.3:
        raise NotAnEcgError("no ECG grid, calibration pulse or continuous trace found "
                            f"(trace coverage {cover_m:.0%}, continuity {smooth_m:.0%}, "
                            f"longest row {longest:.0%} of the page width)")


def _boundaries(panels, row_x0, px_per_s) -> dict[int, list[float]]:
    """Page columns where each row changes lead."""
    out: dict[int, list[float]] = {}
    for p in panels:
        if p.col > 0 and p.row < len(row_x0):
            out.setdefault(p.row, []).append(float(row_x0[p.row] + p.x_offset_s * px_per_s))
    return out


def _choose_layout(layout, traces, rows, x_start, span, px_per_mm, warnings) -> tuple[str, str]:
    """The layout string (with rhythm leads named) and a note on how leads were placed."""
    n = len(rows)
    note = "leads placed by position in the standard order (I II III aVR ... V6); printed labels are not read"
    if layout != "auto":
        n_r, n_c, rhythm = parse_layout(layout)
        return layout, note if n_r else ""
    # row r against the 12 panels, computed once (the rhythm match and names share it)
    matches = functools.cache(lambda r: _panel_matches(traces, r, x_start, span, px_per_mm))

    upper = traces[: min(3, n)] if n < 12 else traces
    ev = lay.row_breaks(upper, x_start, span, [0.25, 0.5, 0.75], px_per_mm)
    breaks = {"quarters": float(ev[:, [0, 2]].mean()), "half": float(ev[:, 1].mean())}
    if n == 6:
        ev6 = lay.row_breaks(traces, x_start, span, [0.25, 0.5, 0.75], px_per_mm)
        breaks.update({"quarters_all": float(ev6[:, [0, 2]].mean()), "half_all": float(ev6[:, 1].mean()),
                       "lower_all": float(ev6[3:].mean())})
    # Every 12-lead layout shows all its rows over the same seconds (QRS complexes line
    # up down the page); the rows of a wrapped strip follow one another.
    sims = []
    for tr in traces[:12]:
        a = int(x_start - tr.x0)
        sims.append(tr.y[max(0, a): max(0, a) + int(span)])
    simult = (lay.simultaneity(sims, sigma=max(3.0, 0.8 * px_per_mm), max_lag=int(round(2 * px_per_mm)))
              if len(sims) > 1 else 0.0)
    if n >= 2:
        breaks["beats_alike"] = lay.beats_alike_across_columns(sims, px_per_mm)
    if 4 <= n <= 6:
        breaks["rhythm_match"] = _rhythm_match(matches)
    kind = lay.classify(n, breaks, simult)
    if kind.startswith("3x4+"):
        k = int(kind[4:])
        names = _name_rhythm(matches, k)
        kind = "3x4+" + ",".join(names)
    if kind == "strip":
        warnings.append("single-lead strip: the lead's name is not read from the page (called II)")
        return kind, ""
    return kind, note


def _same_curve(ta, tb, a: float, b: float, max_shift: int) -> float | None:
    """How much two rows' paths over page columns ``a..b`` are the same curve: 1 minus
    their residual over their amplitude (offsets removed), at the best horizontal shift
    up to ``max_shift`` px (rows of a scan or photo are not perfectly aligned). None
    when they do not even correlate."""
    ya = _slice(ta, a, b)
    sigma = max(1.0, max_shift / 2)
    best = None
    # every shift's correlation at once: most panel pairs do not correlate at any shift
    shifted = np.lib.stride_tricks.sliding_window_view(
        _slice(tb, int(a) - max_shift, int(a) - max_shift + len(ya) + 2 * max_shift), len(ya))
    both = np.isfinite(ya)[None, :] & np.isfinite(shifted)
    n_ok = both.sum(axis=1)
    ca = np.where(both, ya - _masked_mean(ya[None, :], both)[:, None], 0.0)
    cb = np.where(both, shifted - _masked_mean(shifted, both)[:, None], 0.0)
    saa, sbb, sab = (ca * ca).sum(axis=1), (cb * cb).sum(axis=1), (ca * cb).sum(axis=1)
    corr = sab / np.sqrt(np.maximum(saa * sbb, 1e-300))
    for i in np.nonzero((n_ok >= 20) & (saa > 0) & (sbb > 0) & (corr >= 0.5))[0]:
        ok, yb = both[i], shifted[i]
        # the same lead is the same curve, amplitude included (II and aVF correlate too)
        # compared smoothed over ~1 mm: a sharp QRS a pixel apart is still the same curve
        da = gaussian_filter1d(ya[ok] - np.median(ya[ok]), sigma)
        db = gaussian_filter1d(yb[ok] - np.median(yb[ok]), sigma)
        c = 1.0 - float(np.sqrt(np.mean((da - db) ** 2)) / (0.5 * (np.std(da) + np.std(db))))
        best = c if best is None else max(best, c)
    return best


def _panel_matches(traces, r: int, x_start, span, px_per_mm: float) -> dict[str, float]:
    """:func:`_same_curve` of row ``r`` against each of the 12 panels of the three rows
    above it, by lead (leads that do not even correlate are left out)."""
    max_shift = max(1, int(round(1.0 * px_per_mm)))
    out = {}
    for idx, lead in enumerate(STANDARD_LEADS):
        col, row = divmod(idx, 3)
        a = x_start + col * span / 4 + 0.1 * span / 4
        b = x_start + (col + 1) * span / 4 - 0.1 * span / 4
        c = _same_curve(traces[r], traces[row], a, b, max_shift)
        if c is not None:
            out[lead] = c
    return out


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row means of ``values`` over ``mask`` (broadcast; 0 where a row has none)."""
    return np.where(mask, values, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def _rhythm_match(matches) -> float:
    """How well the 4th row repeats one of the 12 panels of the three rows above it (best
    of ``matches(3)``, see :func:`_panel_matches`; 0 when none correlates)."""
    return max(matches(3).values(), default=0.0)


def _name_rhythm(matches, k: int) -> list[str]:
    """Name each of the ``k`` rhythm strips (rows 3..) by the short panel it matches best
    where they overlap (``matches(row)``, see :func:`_panel_matches`)."""
    names = []
    for r in range(3, 3 + k):
        corr = matches(r)
        ranked = sorted(corr.items(), key=lambda kv: kv[1], reverse=True) + [(None, -1.0)] * 2
        (best, best_c), (_, second_c) = ranked[:2]
        # a match over 0.8, or one clearly ahead of all others (a photo's panels match
        # less closely: ecg-image-kit ecg00009's V1 strip 0.75, the next panel 0.52)
        if not (best_c > 0.8 or (best_c >= 0.6 and best_c - second_c >= 0.2)):
            best = None
        # limb leads look alike: keep the standard rhythm lead unless another is clearly better
        std = lay.DEFAULT_RHYTHM[k][r - 3]
        if best is not None and corr.get(std, -1.0) >= 0.7 and best_c - corr[std] < 0.1:
            best = std
        names.append(best)
    defaults = [d for d in lay.DEFAULT_RHYTHM[k]]
    out = []
    for i, nm in enumerate(names):
        if nm is None or nm in out:
            nm = next((d for d in defaults if d not in out and d not in names), defaults[i])
        out.append(nm)
    return out


def _slice(trace, a: float, b: float) -> np.ndarray:
    """The path over page columns ``a..b`` (NaN outside the trace)."""
    cols = np.arange(int(a), int(b)) - trace.x0
    inside = (cols >= 0) & (cols < len(trace.y))
    out = np.full(len(cols), np.nan)
    out[inside] = trace.y[cols[inside]]
    return out

"""Stage 2: the trace view, where the page's trace pixels come from (``digitize(method=)``).

A *trace view* is the page as the later stages see it: ``trace_dark`` (0..1, high where
trace ink is likely) and ``grid_dark`` (the grid's darkness), in the frame the page is
measured in. Every ``method`` of :func:`~ecg_digitize.digitizer.digitize` is one entry of
:data:`TRACE_VIEWS`, a provider that returns the same :class:`TraceView`:

* ``"classical"`` (:func:`classical_view`): the page's darkness; no weights.
* ``"photo"`` (:func:`photo_view`): a photographed sheet found, flattened from its grid,
  and its grid lines divided out; no weights.
* ``"unet"`` (:mod:`ecg_digitize.neural.views`): a photo's perspective and bending undone,
  then the U-Net segmenter's trace probability.

Providers are named by ``"module:attribute"`` and imported on first use, so the
digitizer never imports the image branch (or TensorFlow) until a page asks for it;
:func:`register_trace_view` adds your own.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from . import deskew, greyscale, grid, threshold

# Pages finer than this (about 140 dpi) are denoised before the trace view. Coarser, the
# filter's 5x5 window spans more than two pen widths and smooths the trace itself (an
# ungated trial, not committed, lost on fold-9 100 dpi renders and on low-resolution photos).
DENOISE_MIN_PX_PER_MM = 5.5
# Below this skew the drift across a page is about a pixel: the page is left as it is.
MIN_SKEW_DEG = 0.05
# Straight runs that the grid-line removals (a photo's flattened page, a thresholded 1-bit
# page) take for a grid line: a 5 mm grid cell, longer than the trace's flat stretches
# between grid crossings are wide.
GRID_LINE_RUN_MM = 5.0
# On a skewed thresholded page a line is found within a row of its skewed course
# (greyscale.SKEWED_LINE_FILL), where a trace's flat stretch of a thin pen also fits over
# 5 mm: skewed lines are taken as such over this length. ECG-Image-Kit scans of folds 1-9
# as G4 TIFF 2 deg askew (`python benchmarks/eik_accuracy.py --folds 1-9 -n 10 --only
# skewed --method auto`) / our scan preset cut at a threshold, fold 9 (`python
# benchmarks/digitize_accuracy.py --folds 9 -n 12 --only "scan 200 dpi bilevel"`), this
# constant set to each value: 5 mm 17.14 / 15.64 dB, 20 mm 18.36 / 16.43, 25 mm 19.33 /
# 16.45, 35 mm 19.56 / 16.43, 50 mm 19.49 / 16.39, 70 mm 19.56 / 16.36 (the lines left
# in: 16.65 / 14.24). These were measured before DASHED_GRID; with it, 35 mm: 19.56 / 16.40.
SKEWED_LINE_RUN_MM = 35.0
# A skewed thresholded page whose grid broke into dashes: at least this share of its ink
# thin (one pixel across, greyscale.thin_ink_shares), and under this share of that taken
# out as lines. Our renderer's light grid turned 2 deg and then cut breaks so; read with
# the cleaned page's 0.6 px blur its dashes passed for rows
# (test_a_skewed_page_whose_grid_broke_into_dashes_keeps_the_wider_blur fails without
# this rule). ECG-Image-Kit's G4 pages askew lose nearly all their thin ink as lines.
DASHED_GRID = (0.3, 0.5)
# A thresholded page's 5 mm lines may come out two pixels thick (our renderer's bilevel scans
# at 200 dpi), and stay in the trace view as rails the path follows past a pulse's top, or
# as rows of their own. Lines up to this thick are taken out where the pen is thicker by
# PEN_OVER_LINE_PX (greyscale.pen_width_px): a thinner pen's flat stretches would go too.
THICK_LINE_PX = 2
PEN_OVER_LINE_PX = 2
# On a photo's flattened page, a straight run is a grid line where it also runs on for
# this long (greyscale.without_grid_lines ``span``), else a QRS stroke or a flat stretch of
# trace, spared when darker than most grid lines. phone-photos self-consistency median
# (`python benchmarks/real_pictures.py --sets phone-photos`): without a span 7.03 dB,
# 20 mm 10.49 (03932 read as 3x4+V6,II,V1), 30 mm 10.44 (a 3 mV stroke at 10 mm/mV).
GRID_LINE_SPAN_MM = 30.0
# A photographed grid still this coloured (greyscale.grid_chroma of the flattened sheet:
# phone-photos 0.020-0.031, our photo preset 0.047-0.24) is faded by the trace view's colour
# separation, and its lines are not divided out: the opening also took a thin pen's 5 mm
# pulse edges and QRS strokes for grid lines. Our photo preset, fold 9, 24 pages
# (`python benchmarks/image_branch_segmenter.py --fold 9 --pages 24 --presets photo
# --routes photo`, this constant set to each value): 0.06 11.43 dB, 0.04 11.84; on the
# first 12 pages, 7.01 dB with no such rule (above every page's chroma).
COLOURED_GRID_CHROMA = 0.04


@dataclass
class TraceView:
    """The page as the trace stages see it.

    Attributes
    ----------
    rgb : ndarray
        The page (after any geometric correction of the provider), before deskewing.
    trace_dark, grid_dark : ndarray, float
        Trace and grid darkness (0..1), deskewed once :func:`straighten` ran.
    kind : {"darkness", "probability"}
        ``"darkness"``: ink is found by thresholding (adaptive Otsu, pen core, fainter
        thresholds where rows are missing); ``"probability"``: a segmenter's trace
        probability, ink above :attr:`ink_threshold`.
    ink_threshold : float, optional
        The fixed threshold of a probability view.
    skew_deg : float
        The rotation :func:`straighten` undid (degrees).
    homography, bend : optional
        The provider's perspective correction (original image -> measured page, 3x3) and
        paper-bending field (a JSON-ready dict), for :func:`page_as_measured`.
    warnings : list of str
        What the provider did to the page.
    turned_by_shape : bool
        The provider turned the page a quarter because of its shape alone (a portrait
        sheet in a photo): upright and upside down are still to be told apart.
    bilevel : bool
        The page was 1-bit: its pen edges place the trace to the pixel only
        (:data:`~.extract.BILEVEL_STAIR_PX`).
    grid_skew_deg : float, optional
        The grid view's skew where the provider already measured it
        (:func:`~.deskew.estimate_skew`), so that :func:`straighten` does not again.
    """

    rgb: np.ndarray
    trace_dark: np.ndarray
    grid_dark: np.ndarray
    method: str
    kind: str = "darkness"
    ink_threshold: float | None = None
    skew_deg: float = 0.0
    homography: np.ndarray | None = None
    bend: dict | None = None
    warnings: list[str] = field(default_factory=list)
    turned_by_shape: bool = False
    bilevel: bool = False
    grid_skew_deg: float | None = None

    @property
    def reframed(self) -> bool:
        """True where the provider undid a perspective or a paper's bending."""
        return self.homography is not None or bool(self.bend)

    @property
    def thresholded(self) -> bool:
        """True for a darkness view (ink found by thresholding)."""
        return self.kind == "darkness"


@dataclass(frozen=True)
class TraceViewProvider:
    """One ``method=`` of :func:`~ecg_digitize.digitizer.digitize`.

    Attributes
    ----------
    make : callable
        ``make(rgb) -> TraceView``.
    reframe : callable, optional
        ``reframe(rgb, geometry) -> rgb``: the provider's geometric correction (from the
        Record's :class:`~ecg_digitize.geometry.PageGeometry` ``homography`` and ``bend``)
        applied again to the page image (overlays, corrected lead boxes).
    unavailable : callable, optional
        ``unavailable() -> str | None``: why the provider cannot run here (missing
        weights), or None.
    try_sideways : bool
        Whether a refused page whose curves run down the page is read again turned a
        quarter (:mod:`.orientation`).
    """

    make: Callable[[np.ndarray], TraceView]
    reframe: Callable[[np.ndarray, Any], np.ndarray] | None = None
    unavailable: Callable[[], str | None] | None = None
    try_sideways: bool = True


def classical_view(rgb: np.ndarray) -> TraceView:
    """The page's darkness: the grid view, and the trace view of the page smoothed by
    :func:`~.greyscale.denoise` where its grid shows at least :data:`DENOISE_MIN_PX_PER_MM`.

    Only the trace view is made from the smoothed page: on photos, a smoothed grid view
    changed which grid lines were found. A page frame or a scanner's dark margin is taken
    out of the trace view (:func:`~.threshold.clear_border`). A 1-bit page gets its grey
    levels back first (:func:`~.greyscale.grey_from_bilevel`); one cut at a threshold,
    whose grid came out as black as the pen, loses its thin grid lines from the trace
    view (:func:`~.greyscale.without_thin_lines`).
    """
    bilevel = greyscale.is_bilevel(rgb)
    one_bit, rgb = rgb, greyscale.grey_from_bilevel(rgb)
    # a black surround (see dark_surround) is neither grid nor trace
    surround = greyscale.dark_surround(rgb)
    grid_dark = greyscale.blanked(threshold.normalise_background(greyscale.grid_view(rgb)), surround)
    # a page cut at a threshold: its grid as black as the pen, to be taken out
    cut = bilevel and not greyscale.is_dithered(one_bit)
    skew = deskew.estimate_skew(grid_dark) if cut else None
    # a skewed grid's lines smear the projections the grid is measured from (found at a
    # multiple of its pitch, or not at all, on 1-bit pages 2 deg askew): measured straightened
    provisional = grid.estimate_grid(grid_dark if not skew else deskew.rotate(grid_dark, -skew, border=0.0)).px_per_mm
    trace_rgb = rgb
    if cut and provisional is not None:
        trace_rgb = _without_grid_lines_1bit(one_bit, provisional, skew, rgb)
    fine = provisional is not None and provisional >= DENOISE_MIN_PX_PER_MM
    trace_dark = threshold.normalise_background(greyscale.trace_view(greyscale.denoise(trace_rgb) if fine
                                                                     else trace_rgb))
    # a page frame or a scanner's dark margin is neither trace nor grid (see border_widths)
    trace_dark = threshold.clear_border(greyscale.blanked(trace_dark, surround))
    return TraceView(rgb, trace_dark, grid_dark, method="classical", bilevel=bilevel, grid_skew_deg=skew)


def _without_grid_lines_1bit(one_bit: np.ndarray, px_per_mm: float, skew_deg: float,
                             grey: np.ndarray) -> np.ndarray:
    """A 1-bit page cut at a threshold, its thin grid lines taken out
    (:func:`~.greyscale.without_thin_lines`; on a skewed page, lines of
    :data:`SKEWED_LINE_RUN_MM` along the skew; up to :data:`THICK_LINE_PX` thick where
    the pen is :data:`PEN_OVER_LINE_PX` thicker) and blurred by
    :data:`~.greyscale.THRESHOLDED_BLUR_PX`. ``grey`` (the page as blurred for its grid)
    where it is skewed and its grid broke into dashes at the threshold: much of its ink
    thin, little of that taken out (:data:`DASHED_GRID`); the wider blur fades them."""
    length = int(round(GRID_LINE_RUN_MM * px_per_mm))
    skewed = greyscale.lines_step_across(length, skew_deg)
    if skewed:
        length = int(round(SKEWED_LINE_RUN_MM * px_per_mm))
    thick_pen = greyscale.pen_width_px(one_bit, length) >= THICK_LINE_PX + PEN_OVER_LINE_PX
    cleaned = greyscale.without_thin_lines(one_bit, length, skew_deg, THICK_LINE_PX if thick_pen else 1)
    if skewed:
        thin, taken_out = greyscale.thin_ink_shares(one_bit, cleaned)
        if thin >= DASHED_GRID[0] and taken_out < DASHED_GRID[1]:
            return grey
    return greyscale.grey_from_bilevel(cleaned, greyscale.THRESHOLDED_BLUR_PX)


CLASSICAL = TraceViewProvider(make=classical_view)


# A rectified sheet this much taller than wide is a landscape ECG sheet photographed with
# the phone upright (12-lead printouts are landscape): it is turned a quarter clockwise,
# and the pipeline turns it over where its rows then sit above its header
# (:func:`~.orientation.rows_sit_high`).
PORTRAIT_ASPECT = 1.15


def photo_view(rgb: np.ndarray) -> TraceView:
    """A photographed sheet cropped from its background and its perspective undone
    (:func:`.sheet.rectify`), flattened from its grid (:func:`.flatten.flatten_grid`),
    and its grid lines divided out of the trace view
    (:func:`~.greyscale.without_grid_lines`): on photos the grid is often as dark and as
    neutral as the pen, so the classical view's colour separation does not part them.
    A grid that kept its colour (:data:`COLOURED_GRID_CHROMA`) is left to that separation.

    Where the grid cannot be flattened, the rectified sheet is read as it is.
    """
    from . import flatten, sheet

    warnings = []
    rect, homography = sheet.rectify(rgb)
    found_sheet = not np.allclose(homography, np.eye(3))
    if found_sheet:
        warnings.append("sheet found in the photo and its perspective undone (method='photo')")
    turned = rect.shape[0] > PORTRAIT_ASPECT * rect.shape[1]
    if turned:  # a landscape sheet photographed with the phone upright
        rect, homography = sheet.turned_clockwise(rect, homography)
        found_sheet = True
        warnings.append("the sheet stood upright in the photo: turned a quarter to read it")
    flat, flattening = flatten.flatten_grid(rect)
    if flattening is None:
        warnings.append("grid not flattened (no consistent lattice); read as rectified")
        page, bend = rect, None
        px_per_mm = grid.estimate_grid(threshold.normalise_background(greyscale.grid_view(rect))).px_per_mm
    else:
        if found_sheet:  # one resampling from the photo itself, not two
            flattening = flattening.through(np.linalg.inv(homography))
            flat = flattening.apply(rgb)
        page, bend = flat, flattening.to_dict()
        px_per_mm = flattening.px_per_period / (1 if flattening.minor else 5)
        med, p90 = flattening.residual_px
        warnings.append(f"paper flattened from its grid (grid lines within {med:.1f} px median, "
                        f"{p90:.1f} px 90th percentile of a straight lattice)")
    grid_dark = threshold.normalise_background(greyscale.grid_view(page))
    dark = threshold.normalise_background(greyscale.trace_view(page))
    if greyscale.grid_chroma(page) >= COLOURED_GRID_CHROMA:
        trace_dark = dark   # the trace view has faded the lines by their colour
    else:
        run = int(round(GRID_LINE_RUN_MM * (px_per_mm or 8.0))) | 1
        span = int(round(GRID_LINE_SPAN_MM * (px_per_mm or 8.0)))
        trace_dark, _ = greyscale.without_grid_lines(dark, run, span=span)
    trace_dark = threshold.clear_border(trace_dark)
    return TraceView(page, trace_dark, grid_dark, method="photo",
                     homography=homography if (found_sheet and bend is None) else None,
                     bend=bend, warnings=warnings, turned_by_shape=turned)


def photo_reframe(rgb: np.ndarray, geometry) -> np.ndarray:
    """The original photo in the frame a ``method="photo"`` reading was measured in."""
    from .flatten import GridFlattening
    from .sheet import warped

    if geometry.bend:
        return GridFlattening.from_dict(geometry.bend).apply(rgb)
    if geometry.homography is not None:
        return warped(rgb, geometry.homography, geometry.image_shape)
    return rgb


PHOTO = TraceViewProvider(make=photo_view, reframe=photo_reframe)

# method name -> provider, or "module:attribute" naming one (imported on first use)
TRACE_VIEWS: dict[str, TraceViewProvider | str] = {
    "classical": CLASSICAL,
    "photo": PHOTO,
    "unet": "ecg_digitize.neural.views:UNET",
}


def register_trace_view(name: str, provider: TraceViewProvider | str) -> None:
    """Add (or replace) a ``method=`` of :func:`~ecg_digitize.digitizer.digitize`.

    Examples
    --------
    >>> from ecg_digitize.digitizer.views import CLASSICAL, register_trace_view, trace_view_provider
    >>> register_trace_view("mine", CLASSICAL)
    >>> trace_view_provider("mine") is CLASSICAL
    True
    """
    TRACE_VIEWS[name] = provider


def trace_view_provider(method: str) -> TraceViewProvider:
    """The provider of ``method`` (imported on first use); ValueError if none is known."""
    try:
        entry = TRACE_VIEWS[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(TRACE_VIEWS)} "
                         "or 'auto'") from None
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = TRACE_VIEWS[method] = getattr(importlib.import_module(module), attr)
    return entry


def turned_over(view: TraceView, input_shape: tuple[int, int]) -> TraceView | None:
    """The view of the page turned 180 degrees, from ``view`` of the page as it was
    (``input_shape``: the page image's rows and columns), where the view was flattened
    from the page's grid; None for other views (made again from the turned page, which
    costs less than a flattening)."""
    if not view.bend or view.bend.get("kind") != "grid_flattening" or view.homography is not None:
        return None
    from .flatten import GridFlattening

    def turn(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[::-1, ::-1])

    bend = GridFlattening.from_dict(view.bend).turned_over(input_shape).to_dict()
    # a deskew turns about the centre, so it is the same angle upside down
    return replace(view, rgb=turn(view.rgb), trace_dark=turn(view.trace_dark),
                   grid_dark=turn(view.grid_dark), bend=bend, warnings=list(view.warnings))


def straighten(view: TraceView) -> TraceView:
    """The view deskewed by the angle of its grid and traces (:func:`~.deskew.estimate_skew`,
    or ``view.grid_skew_deg`` where the provider measured it)."""
    angle = deskew.estimate_skew(view.grid_dark) if view.grid_skew_deg is None else view.grid_skew_deg
    if abs(angle) <= MIN_SKEW_DEG:
        return replace(view, skew_deg=0.0)
    # bicubic: the trace's edges place it to a fraction of a pixel (fold-9 scans
    # +0.8 dB over bilinear); the grid view only needs its period
    return replace(view, skew_deg=angle,
                   trace_dark=deskew.rotate(view.trace_dark, -angle, border=0.0, method="bicubic"),
                   grid_dark=deskew.rotate(view.grid_dark, -angle, border=0.0))

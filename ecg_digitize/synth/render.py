"""Render ECG signals as a paper-ECG page image with exact ground truth."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ..errors import LayoutError
from ..record import Calibration, Record, STANDARD_LEADS
from . import _draw
from .distort import PRESETS, apply_distortions, sample_preset
from ..layouts import Panel, n_rows_of, parse_layout, plan_panels

MM_PER_INCH = 25.4
PULSE_LABEL = 255   # calibration pulses' pixels while the mask is distorted (then split off)


@dataclass(frozen=True)
class PaperStyle:
    """How the page looks (every field can be passed to :func:`render` as a keyword)."""

    grid_color: str | tuple = "red"
    grid_style: str = "solid"          # solid | dotted | none
    paper_color: tuple = (255, 253, 250)
    trace_color: tuple = (20, 20, 30)
    trace_width_mm: float = 0.28
    trace_width_px: int | None = None  # the pen's integer OpenCV thickness (overrides trace_width_mm)
    labels: bool = True
    cal_pulse: str = "left"            # left | right | none
    separators: bool = True
    header: bool | str = True          # True, False, your text, or "eik" (ECG-Image-Kit's "ID: ... Name:")
    footer: bool | str = False         # True ("25mm/s   10mm/mV" as ECG-Image-Kit prints it) or your text
    record_id: str = ""                # the ID an "eik" header prints
    frame_px: int = 0                  # a black frame this wide at the page's edge (ECG-Image-Kit: 1 px)
    lead_order: str = "standard"       # standard | cabrera
    plot_width_mm: float = 250.0
    row_pitch_mm: float | None = None  # None: chosen from the number of rows
    margin_mm: float = 10.0
    strip_lead: str | None = None      # for layout="strip": which lead (default: first)
    max_rows: int = 12                 # for layout="strip": rows on one page
    fit_page: bool = False             # True: the page is only as large as its content (no A4 minimum);
                                       # with margin_mm=0 and cal_pulse="right" the traces touch its left edge


def _row_pitch(n_rows: int) -> float:
    if n_rows <= 4:
        return 40.0
    if n_rows <= 6:
        return 30.0
    return 21.0


def render(signal, fs: float, leads, *, layout: str = "3x4+II", paper_speed: float = 25.0,
           gain: float = 10.0, dpi: float = 200.0, seed: int | None = None,
           preset: str = "clean", distortions: dict | None = None, stretch=(1.0, 1.0),
           jpeg: int | None = None, bilevel: float | bool = False, page_coordinates: bool = False,
           **style):
    """Draw ECG signals as a paper-ECG image and return it with its ground truth.

    Parameters
    ----------
    signal : array_like, shape (n_samples, n_leads) or (n_samples,)
        Millivolts.
    fs : float
        Sampling frequency (Hz).
    leads : list of str
        Lead names (standard names for 12-lead layouts).
    layout : str
        ``"3x4"``, ``"3x4+II"``, ``"3x4+II,V1,V5"``, ``"6x2"``, ``"12x1"`` or ``"strip"``.
    paper_speed : {25, 50}
        mm/s.
    gain : {5, 10, 20}
        mm/mV.
    dpi : float
        Page resolution.
    seed : int, optional
        Makes every random choice (preset strengths, noise, marks) repeatable.
    preset : {"clean", "scan", "photo"}
        A named family of distortions (drawn at random strengths from ``seed``).
    distortions : dict, optional
        Explicit distortion strengths, overriding the preset's (see
        :mod:`ecg_digitize.synth.distort`).
    stretch : (float, float)
        Non-square pixels: the page is drawn at ``dpi * stretch[0]`` across and
        ``dpi * stretch[1]`` down (a scanner or generator whose axes differ, e.g.
        ``(1.0, 0.96)``). Drawn natively (lines stay as crisp as on a square page). The
        truth's ``calibration.px_per_mm`` is the horizontal (time) scale and
        ``calibration.px_per_mm_y`` the vertical one (None when square);
        ``geometry["px_per_mm_xy"]`` holds both.
    jpeg : int, optional
        JPEG quality that replaces the preset's (``0``: no JPEG, a lossless page).
    bilevel : float or bool
        A 1-bit page: luminance thresholded at this level (``True``: 0.6; a scan preset's
        blurred 100 dpi pen keeps 86 % of its pixels black there, 19 % at 0.5) after the
        sensor noise; the preset's JPEG is dropped unless ``jpeg`` asks for one.
    page_coordinates : bool
        Also give, in ``geometry["page_xy"]``, where each output pixel lies on the clean
        page (x and y images; NaN off the page), moved as the trace mask is: the truth for
        undoing a photo's geometry (``benchmarks/flattening_accuracy.py``).
    **style
        Any :class:`PaperStyle` field (grid colour and style, labels, calibration pulse,
        separators, header, Cabrera order, ...).

    Returns
    -------
    image : ndarray, (H, W, 3) uint8
    truth : Record
        The plotted samples (NaN where a lead was not drawn) and, in ``truth.geometry``,
        the lead boxes, the trace mask (``trace_mask``: 0 background, k+1 for box k),
        the calibration pulses' pixels (``pulse_mask``, boolean), the grid origin, the
        homography of any geometric distortion, and the distortions.

    Examples
    --------
    >>> from ecg_digitize.synth import render, simulate_12lead
    >>> sig, fs, leads = simulate_12lead(seed=0)
    >>> image, truth = render(sig, fs, leads, layout="3x4+II", seed=0)
    >>> image.shape, truth.layout
    ((1654, 2339, 3), '3x4+II')
    >>> round(float(truth.plotted_fraction()["V1"]), 2)
    0.25
    """
    paper = _make_style(style)
    signal, leads = _checked_signal(signal, leads)
    px_per_mm = dpi / MM_PER_INCH
    sx, sy = px_per_mm * float(stretch[0]), px_per_mm * float(stretch[1])
    panels = _page_panels(layout, paper, signal.shape[0] / fs, leads, paper_speed)
    page_geo = _page_geometry(panels, paper, sx, sy, paper_speed)
    image, mask, boxes, truth_signal, pulses = _draw_page(signal, fs, leads, layout, panels, page_geo, paper,
                                                          (sx, sy), px_per_mm, paper_speed, gain)
    params = _distortion_params(preset, seed, distortions, jpeg, bilevel)
    out, mask, homography, page_xy = _distorted(image, mask, params, seed, px_per_mm, page_coordinates)
    pulse_mask = mask == PULSE_LABEL
    mask[pulse_mask] = 0
    truth = Record(
        truth_signal, fs=fs, leads=leads, layout=layout,
        calibration=Calibration(px_per_mm=sx, mm_per_s=paper_speed, mm_per_mv=gain,
                                px_per_mm_y=None if sy == sx else sy),
        source="synth",
        geometry=dict(
            boxes=boxes, grid_origin=page_geo["grid_origin"], grid_box=page_geo["grid_box"],
            cal_pulses=pulses, homography=homography.tolist(), distortions=params,
            preset=preset if distortions is None else "custom",
            style={f.name: getattr(paper, f.name) for f in fields(paper)}, dpi=dpi,
            px_per_mm_xy=[sx, sy], trace_mask=mask, pulse_mask=pulse_mask, page_xy=page_xy),
    )
    return out, truth


def _distorted(image, mask, params: dict, seed, px_per_mm: float, page_coordinates: bool):
    """:func:`~.distort.apply_distortions`, and with ``page_coordinates`` each output
    pixel's place on the clean page (x and y images, NaN off the page): carried as two
    more channels of the mask, so they move pixel for pixel with it."""
    if page_coordinates:
        h, w = mask.shape
        mask = np.dstack([mask.astype(np.float32), *np.meshgrid(np.arange(1, w + 1, dtype=np.float32),
                                                               np.arange(1, h + 1, dtype=np.float32))])
    out, mask, homography = apply_distortions(image, mask, params, np.random.default_rng(seed), px_per_mm)
    if not page_coordinates:
        return out, mask, homography, None
    page_xy = [np.where(mask[..., k] > 0, mask[..., k] - 1, np.nan).astype(np.float32) for k in (1, 2)]
    return out, mask[..., 0].astype(np.uint8), homography, page_xy


def _checked_signal(signal, leads) -> tuple[np.ndarray, list[str]]:
    signal = np.asarray(signal, dtype=float)
    if signal.ndim == 1:
        signal = signal[:, None]
    leads = [str(x) for x in leads]
    if signal.shape[1] != len(leads):
        raise LayoutError(f"signal has {signal.shape[1]} columns but {len(leads)} lead names")
    return signal, leads


def _page_panels(layout: str, paper: PaperStyle, duration: float, leads: list[str],
                 paper_speed: float) -> list[Panel]:
    """The layout's panels for a record of ``duration`` seconds (a strip: at most
    ``paper.max_rows`` rows); LayoutError where the record lacks a lead they show."""
    rows, _, _ = parse_layout(layout)
    panels = plan_panels(layout, paper.plot_width_mm / paper_speed, duration=duration,
                         lead_order=paper.lead_order, strip_lead=paper.strip_lead or leads[0])
    if rows == 0:
        panels = panels[: paper.max_rows]
    missing = sorted({p.lead for p in panels} - set(leads))
    if missing:
        raise LayoutError(f"layout {layout!r} needs leads {missing} which the signal lacks")
    return panels


def _draw_page(signal, fs, leads, layout, panels, page_geo, paper, scale_xy, px_per_mm, paper_speed, gain):
    """The clean page, its label mask (trace k+1, pulses PULSE_LABEL), the lead boxes, the
    plotted samples and the calibration pulses drawn."""
    sx, sy = scale_xy
    shape = (page_geo["height"], page_geo["width"])
    grid = _draw.grid_alpha(shape, page_geo["grid_box"], page_geo["grid_origin"],
                            px_per_mm if sx == sy else (sx, sy), paper.grid_style)
    boxes, curves, truth_signal = _trace_panels(signal, fs, leads, panels, page_geo, paper,
                                                sx, sy, paper_speed, gain, parse_layout(layout)[0] == 0)
    thickness = paper.trace_width_px or max(1, int(round(paper.trace_width_mm * px_per_mm)))
    extras = _furniture(panels, page_geo, paper, sx, sy, paper_speed, gain, layout, fs)
    ink = _draw.polyline_canvas(shape, curves + extras["lines"], thickness)
    np.maximum(ink, _draw.text_canvas(shape, extras["text"], max(1, thickness - 1)), out=ink)
    image = _draw.compose(_rgb255(paper.paper_color), _rgb255(_draw.color_rgb(paper.grid_color) * 255),
                          grid, _rgb255(paper.trace_color), ink)
    if paper.frame_px:
        f = int(paper.frame_px)
        image[:f], image[-f:], image[:, :f], image[:, -f:] = 0, 0, 0, 0
    # pulses first, so that the trace keeps the pixels where a pulse's foot meets it
    pulse_lines = extras["lines"][: len(extras["pulses"])]
    mask = _draw.polyline_labels(shape, pulse_lines + curves,
                                 [PULSE_LABEL] * len(pulse_lines) + list(range(1, len(curves) + 1)),
                                 thickness)
    return image, mask, boxes, truth_signal, extras["pulses"]


def _distortion_params(preset: str, seed, distortions: dict | None, jpeg, bilevel) -> dict:
    """The distortions to apply: the preset's (drawn from ``seed``) or those given, with
    ``jpeg`` and ``bilevel`` overriding the file's encoding."""
    params = sample_preset(preset, seed) if distortions is None else dict(distortions)
    if bilevel:
        params["bilevel"] = 0.6 if bilevel is True else float(bilevel)
        params.pop("jpeg", None)
    if jpeg is not None:
        params.pop("jpeg", None)
        if jpeg:
            params["jpeg"] = int(jpeg)
    return params


def _rgb255(color) -> np.ndarray:
    return np.asarray(color, dtype=np.float32)


def _make_style(style: dict) -> PaperStyle:
    known = {f.name for f in fields(PaperStyle)}
    unknown = set(style) - known
    if unknown:
        raise TypeError(f"unknown style option(s) {sorted(unknown)}; known: {sorted(known)}")
    return replace(PaperStyle(), **style)


def _page_geometry(panels: list[Panel], paper: PaperStyle, sx: float, sy: float,
                   paper_speed: float) -> dict:
    """Page size, plot origin, row baselines and grid rectangle, in pixels."""
    n_rows = n_rows_of(panels)
    pitch = paper.row_pitch_mm or _row_pitch(n_rows)
    pulse_mm = 0.2 * paper_speed + 3.0 if paper.cal_pulse != "none" else 0.0
    header_mm = 18.0 if paper.header else 0.0
    footer_mm = 8.0 if paper.footer else 0.0
    left_mm = paper.margin_mm + (pulse_mm if paper.cal_pulse == "left" else 0.0)
    width_mm = left_mm + paper.plot_width_mm + paper.margin_mm + (pulse_mm if paper.cal_pulse == "right" else 0.0)
    top_mm = paper.margin_mm + header_mm
    height_mm = top_mm + n_rows * pitch + paper.margin_mm + footer_mm
    # A standard 3x4+II page on A4 landscape: keep that size when the content fits.
    if not paper.fit_page:
        width_mm, height_mm = max(width_mm, 297.0), max(height_mm, 210.0 if n_rows <= 6 else height_mm)
    grid_top_mm = max(top_mm - 2.0, 0.0)
    baselines_mm = [top_mm + pitch * (r + 0.62) for r in range(n_rows)]
    to_x = lambda mm: mm * sx  # noqa: E731
    to_y = lambda mm: mm * sy  # noqa: E731
    width, height = int(round(to_x(width_mm))), int(round(to_y(height_mm)))
    x0 = to_x(left_mm)
    grid_box = (int(to_x(paper.margin_mm * 0.5)), int(to_y(grid_top_mm)),
                width - int(to_x(paper.margin_mm * 0.5)), height - int(to_y(paper.margin_mm * 0.5)))
    return {
        "width": width, "height": height, "x0": x0, "pitch_px": to_y(pitch),
        "baselines": [to_y(b) for b in baselines_mm],
        "grid_box": grid_box,
        # a major line passes through the start of the plot and the grid's top edge
        "grid_origin": (float(x0), float(to_y(grid_top_mm))),
        "pulse_mm": pulse_mm,
        "header_top": to_y(paper.margin_mm),
        "footer_y": height - to_y(paper.margin_mm * 0.5 + 2.0),
    }


def _trace_panels(signal, fs, leads, panels, geo, paper, sx, sy, paper_speed, gain, is_strip):
    """Polylines of every panel, their boxes, and the truth signal (plotted samples only)."""
    px_per_s, px_per_mv = sx * paper_speed, sy * gain
    n_total = max(int(round(max(p.t1 for p in panels) * fs)), 1)
    if is_strip:  # a wrapped strip ends where the record ends
        n_total = min(n_total, signal.shape[0])
    truth = np.full((n_total, len(leads)), np.nan)
    boxes, curves = [], []
    for p in panels:
        j = leads.index(p.lead)
        i0 = int(np.ceil(p.t0 * fs - 1e-9))
        i1 = min(int(np.ceil(p.t1 * fs - 1e-9)), signal.shape[0], n_total)
        if i1 - i0 < 2:
            continue
        values = signal[i0:i1, j]
        drawn = -values if p.inverted else values
        t = np.arange(i0, i1) / fs
        x = geo["x0"] + (p.x_offset_s + t - p.t0) * px_per_s
        base = geo["baselines"][p.row]
        y = base - drawn * px_per_mv
        ok = np.isfinite(y)
        curves.append(np.column_stack([x[ok], y[ok]]))
        truth[i0:i1, j] = np.where(ok, values, np.nan)
        half = geo["pitch_px"] / 2
        boxes.append({
            "lead": p.lead, "label": p.label, "row": p.row, "col": p.col,
            "t0": i0 / fs, "t1": i1 / fs, "x0": float(x[0]), "baseline_y": float(base),
            "inverted": p.inverted,
            "bbox": [float(x[0]), float(base - half * 1.24), float(x[-1]), float(base + half * 0.76)],
        })
    return boxes, curves, truth


def _furniture(panels, geo, paper, sx, sy, paper_speed, gain, layout, fs) -> dict:
    """Calibration pulses, separators, lead labels and header text."""
    lines, text, pulses = [], [], []
    px_per_s = sx * paper_speed
    pulse_w = 0.2 * px_per_s
    for row, base in enumerate(geo["baselines"]):
        if paper.cal_pulse == "none":
            break
        if paper.cal_pulse == "left":
            xs = geo["x0"] - pulse_w - 2.5 * sx
        else:
            xs = geo["x0"] + paper.plot_width_mm * sx + 1.0 * sx
        top = base - gain * sy
        m = 1.0 * sx
        lines.append(np.array([[xs, base], [xs + m, base], [xs + m, top], [xs + m + pulse_w, top],
                               [xs + m + pulse_w, base], [xs + 2 * m + pulse_w, base]]))
        pulses.append({"row": row, "bbox": [xs, top, xs + 2 * m + pulse_w, base]})
    for p in panels:
        base = geo["baselines"][p.row]
        x = geo["x0"] + p.x_offset_s * px_per_s
        if paper.separators and p.col > 0:
            lines.append(np.array([[x, base - 2.5 * sy], [x, base + 2.5 * sy]]))
        if paper.labels:
            text.append((p.label, x + 1.0 * sx, base - 6.0 * sy, 2.6 * sy))
    if paper.header == "eik":  # ECG-Image-Kit: ID and Name at the page's top-left corner
        text.append((f"ID: {paper.record_id or '00000_hr'}", 0.6 * sx, 3.4 * sy, 2.6 * sy))
        text.append(("Name:", 38.0 * sx, 3.4 * sy, 2.6 * sy))
    elif paper.header:
        header = paper.header if isinstance(paper.header, str) else (
            f"{paper_speed:g} mm/s   {gain:g} mm/mV   0.05-150 Hz   {fs:g} Hz   layout {layout}")
        text.append((header, geo["x0"], geo["header_top"] + 4.0 * sy, 3.0 * sy))
    if paper.footer:
        footer = paper.footer if isinstance(paper.footer, str) else f"{paper_speed:g}mm/s        {gain:g}mm/mV"
        text.append((footer, geo["x0"] + 25.0 * sx, geo["footer_y"], 2.6 * sy))
    return {"lines": lines, "text": text, "pulses": pulses}

"""Stage 2b (photos, :func:`.views.photo_view`): flatten a photographed sheet from its grid.

A printed ECG grid is a lattice of straight, evenly spaced lines. On a photo it is bent
by the paper (folds, wrinkles, curl) and by whatever perspective the sheet's outline did
not undo. Every patch of the grid tells where it sits in the lattice: demodulating the
grid-line picture at the lattice period gives, at each point, the phase of the vertical
lines (their column in grid units, ``u``) and of the horizontal ones (``v``). The phase
differences between neighbouring points are integrated by weighted least squares (weak
where the grid is hidden by text, shadow or the trace; a second-difference term keeps the
field smooth there), which unwraps the phase without following a path. The page is then
resampled on a regular ``(u, v)`` lattice: grid lines come out straight and evenly
spaced, folds included (a fold is a sharp change of the local period, which the phase
follows within about a grid period). The phase, averaged over a window, leaves grid lines
bent by a few pixels where the paper bends sharply; the flattening is then refined line by
line: each lattice line is followed across the page, its offsets from a straight line
smoothed along it, and the page resampled again (:func:`straighten_lines`).

Examples
--------
>>> import numpy as np
>>> from ecg_digitize.digitizer.flatten import flatten_grid
>>> page = np.full((400, 600, 3), 250, np.uint8)
>>> page[:, 10::25] = page[10::25, :] = (200, 90, 90)   # red lines every 25 px
>>> flat, how = flatten_grid(page)
>>> round(how.period_px, 1), how.px_per_period
(25.0, 40.0)
>>> bool(how.residual_px[0] < 1.0)   # a straight grid stays straight
True
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.interpolate import LinearNDInterpolator
from scipy.ndimage import gaussian_filter1d, map_coordinates
from scipy.sparse.linalg import spsolve

from . import greyscale, threshold

# Lattice periods (px) searched: below 6 px no grid line is resolved, above 120 px the
# page holds too few cells to flatten.
MIN_PERIOD_PX, MAX_PERIOD_PX = 6, 120
# Output resolution: a photo's millimetre is resampled to about this many pixels (the
# resolution the classical stages are tuned at, 200 dpi), never below the photo's own.
TARGET_PX_PER_MM = 8.0
MAX_UPSAMPLE = 2.0
# Demodulation window (Gaussian sigma, in lattice periods): shorter follows folds more
# closely, longer is steadier where the grid is hidden. 1.2 gave the straightest grids on
# the phone photos of ``../shared/data/phone-photos`` (median residual 1.0 px, against
# 1.5 px for 0.6).
WINDOW_PERIODS = 1.2
# Weight of the smoothness term against the phase differences (per unit of confidence).
SMOOTHNESS = 0.3
# Points whose demodulated amplitude is under this share of the page's 90th percentile
# are not grid (margins, background, text): they bound the flattened page's extent.
MIN_GRID_AMPLITUDE = 0.39
# A flattening is refused where more than this share of the grid's neighbour steps
# shrink below MIN_LOCAL_SCALE of the lattice period (the coordinates fold back).
MAX_FOLDED_SHARE = 0.02
# The flattened grid must span at least this share of the input's extent (scaled), else
# part of the sheet was lost to a slip of the lattice (a margin costs under 15 %).
MIN_EXTENT = 0.75
MIN_LOCAL_SCALE = 0.5
# The phase is integrated at every step-th pixel (a third of the period), but at most at
# this many points: the sparse solve grows faster than the points. The phone photos of
# ``phone-photos`` use 24-30 thousand; a 3167 x 1580 px ECG-Image-Kit photo with a 12.5 px
# grid (ecg-image-kit-photos ecg00001, `method="photo"`) used 314 thousand and 34 CPU s.
MAX_LATTICE_POINTS = 60_000
# Ink (trace, text) is left out of the grid-line picture: what stays darker than this once
# straight runs of this share of the page's longer side (about 5 mm of a 12-lead sheet)
# are divided out of the trace view. A threshold on darkness alone took a grid's darker
# 5 mm lines for ink, leaving the lattice only where it crossed the 1 mm lines: the
# flattened phone photos of ``phone-photos`` kept grid lines 11.3 px off a straight
# lattice (median of the 90th percentiles), 1.8 px with the runs divided out (both
# without the refinement below; `python benchmarks/real_pictures.py --sets phone-photos`).
INK_RUN_SHARE = 0.02
INK_LEVEL = 0.2
# A trace covers a few percent of a picture at most. Where more than INK_MAX_SHARE stays
# darker than INK_LEVEL, much of it is grid as dark as that (a grey or pink lattice under
# dim light, dotted 1 mm lines, whose dots no straight run divides out), and masking it
# left the lattice only where the light was brightest. There the level rises to the
# darkest INK_MAX_SHARE, and the grid-line picture keeps only what runs straight for
# DOT_OPENING_PX across or down: the dots stand on a lattice finer than the 5 mm lines'
# and would compete with it. ecg-image-kit-photos ecg00029 (`ecg-digitize digitize
# ecg00029.jpg --method photo -o OUT`, ``geometry.pulses`` in OUT's JSON): its three
# upper rows' calibration pulses, printed one above the other, stood 36 px (4.5 mm) apart
# across the flattened page, now 3 px. `python benchmarks/real_pictures.py --sets
# ecg-image-kit-photos phone-photos -v`: ecg-image-kit-photos' flattened grid lines 0.50 /
# 1.97 px -> 0.23 / 0.98 px off a straight lattice (median of medians / of 90th
# percentiles); of its 9 photos the photo route read, 6 read better by self-consistency
# (ecg00048 0.38 -> 8.72 dB), ecg00029 is now read better by the classical route, two are
# unchanged; phone-photos: 2 of 18 pictures change, both better (03551 -2.26 -> 1.94).
# Our photo preset (`python benchmarks/image_branch_segmenter.py --presets photo --routes
# photo --pages 12`): fold 9 two pages change, 13.28 -> 13.26 dB; fold 10 one, 13.54 -> 13.57.
# The share, set to each value: 3 % lowered phone-photos' median to 10.92 dB, 5 % left
# the ecg-image-kit-photos median at 5.16 dB (5.60 at 4 %). The opening at 5 px: median
# 5.60, grid lines 0.28 / 1.26 px; at 9 px one picture of that set read as a strip.
INK_MAX_SHARE = 0.04
DOT_OPENING_PX = 7
# Line-by-line refinement (straighten_lines): each pass finds every lattice line within
# LINE_SEARCH periods of its straight place, drops a line's offset where it stands out from
# its NEIGHBOUR_LINES neighbours on both sides by more than LINE_OUTLIER_PX (a QRS stroke or
# a calibration pulse's edge beside the line, darker than it, pulls its peak), and the
# offsets more than LINE_OUTLIER_PX from the line's smoothed course, and smooths along the
# line over this many periods (Gaussian sigma); coarse passes, then finer ones.
# Our photo preset against the renderer's truth (`python benchmarks/flattening_accuracy.py`,
# fold 9, 12 pages; error across on the trace, p90 / p99 ms): by phase alone (passes ())
# 9.4 / 19.3; two passes 8.1 / 22.6 without the neighbour test, 4.7 / 11.3 with it; these
# three 10.0 / 26.9 without it, 4.2 / 10.1 with it. Our photo preset read (`python
# benchmarks/image_branch_segmenter.py --fold 9 --pages 24 --presets photo --routes photo`):
# 11.84 dB (two passes, no neighbour test) -> 12.77 dB (these). Phone photos (`python
# benchmarks/real_pictures.py --sets phone-photos -v`), self-consistency as read: 17 of 18
# within a few dB either way (mean change +0.07 dB); 03932 lost its first row (2.50 ->
# -6.70 dB) until joined ink had to keep every row (rows._keeps_row_pitch): 2.72 dB (a
# folded strip of it stays unflattened either way, see docs/digitizer.md).
REFINE_PASSES_PERIODS = (2.0, 1.0, 0.5)
# A flattening is a flat sheet's (GridFlattening.as_homography) where this share of its
# maps' points lie within FLAT_SHEET_PX (input px) of the homography they fit: the maps
# of a flat sheet, rectified from its outline, stray from it at a few points only, those
# of a wrinkled, folded or curled sheet over wide stretches. ECG-Image-Kit scans
# photographed tilted 8 deg (`python benchmarks/eik_accuracy.py --folds 1-9 -n 10 --only
# tilted --method auto`) read 20.75 -> 25.94 dB through the homography. Our photo preset
# (`python benchmarks/image_branch_segmenter.py --presets photo --routes photo`) with
# this constant at 0.95: fold 9, 24 pages, 13.43 -> 13.48 dB, and then fold 10, 12 pages,
# 13.23 -> 13.15 (a page with a crease taken for flat); at 0.975 neither fold changes.
# Fold 10 led to 0.975, so it does not check this constant independently.
FLAT_SHEET_PX = 1.0
FLAT_SHEET_SHARE = 0.975
LINE_SEARCH = 0.25
LINE_OUTLIER_PX = 2.0
NEIGHBOUR_LINES = 3


@dataclass
class GridFlattening:
    """How a page was flattened: where each output pixel was read in the input page.

    ``map_x[i, j], map_y[i, j]``: input coordinates of output pixel
    ``((j + 0.5) * step - 0.5, (i + 0.5) * step - 0.5)``, as :meth:`apply` scales the
    lattice up (NaN outside the grid). ``period_px``: the lattice period found in the input (px);
    ``px_per_period``: the same period in the output. ``minor``: the lattice is the 1 mm
    grid (else the 5 mm grid). ``residual_px``: median and 90th percentile of the distance
    (output px) between the flattened grid lines and a perfect lattice.
    """

    map_x: np.ndarray
    map_y: np.ndarray
    step: int
    shape: tuple[int, int]
    period_px: float
    px_per_period: float
    minor: bool
    residual_px: tuple[float, float] = (float("nan"), float("nan"))

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """The input page resampled into the flat frame (outside the grid: paper colour)."""
        paper = tuple(int(c) for c in np.median(rgb[::4, ::4].reshape(-1, rgb.shape[2]), axis=0))
        return self._remapped(np.ascontiguousarray(rgb), cv2.INTER_CUBIC, paper)

    def apply_lines(self, lines: np.ndarray) -> np.ndarray:
        """A grid-line picture (:func:`grid_lines` of the input) in the flat frame (0 outside)."""
        return self._remapped(lines, cv2.INTER_LINEAR, 0)

    def apply_values(self, values: np.ndarray) -> np.ndarray:
        """Any float picture of the input (coordinates, a depth map) in the flat frame,
        interpolated linearly (NaN outside the input)."""
        return self._remapped(values.astype(np.float32), cv2.INTER_LINEAR, np.nan)

    def _remapped(self, image: np.ndarray, interpolation: int, border) -> np.ndarray:
        mx, my = self._full_maps()
        return cv2.remap(image, mx, my, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=border)

    def _full_maps(self) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.shape
        full = [cv2.resize(m.astype(np.float32), (m.shape[1] * self.step, m.shape[0] * self.step),
                           interpolation=cv2.INTER_LINEAR)[:h, :w] for m in (self.map_x, self.map_y)]
        for m in full:   # outside the grid: read nothing (cv2.remap's border)
            np.copyto(m, -1.0, where=np.isnan(m))
        return tuple(full)

    def output_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Output rows and columns (px) of the maps' points (see :meth:`apply`)."""
        ny, nx = self.map_x.shape
        return np.meshgrid((np.arange(ny) + 0.5) * self.step - 0.5, (np.arange(nx) + 0.5) * self.step - 0.5,
                           indexing="ij")

    def as_homography(self) -> "GridFlattening | None":
        """The flattening of a flat sheet: the homography its maps' points fit, where
        :data:`FLAT_SHEET_SHARE` of them lie within :data:`FLAT_SHEET_PX` of it; None for
        a bent sheet. The maps of a flat page stray from its homography by fractions of a
        pixel (the phase and the line search are measured on noisy lines), which on a
        steep QRS stroke is a sizeable error in millivolts."""
        oy, ox = self.output_points()
        ok = np.isfinite(self.map_x) & np.isfinite(self.map_y)
        if ok.sum() < 8:
            return None
        out_xy = np.stack([ox[ok], oy[ok]], axis=-1)
        in_xy = np.stack([self.map_x[ok], self.map_y[ok]], axis=-1)
        fit = np.ones(len(out_xy), bool)
        for _ in range(3):   # least squares, then again without the points far off it
            hmat = cv2.findHomography(out_xy[fit], in_xy[fit], 0)[0]
            if hmat is None:
                return None
            off = np.hypot(*(cv2.perspectiveTransform(out_xy[None], hmat)[0] - in_xy).T)
            fit = off < 2 * FLAT_SHEET_PX
            if fit.sum() < 8:
                return None
        if np.mean(off < FLAT_SHEET_PX) < FLAT_SHEET_SHARE:
            return None
        every = cv2.perspectiveTransform(np.stack([ox, oy], axis=-1).reshape(1, -1, 2), hmat)[0]
        mx = np.where(ok, every[:, 0].reshape(ox.shape), np.nan)
        my = np.where(ok, every[:, 1].reshape(ox.shape), np.nan)
        return GridFlattening(mx, my, self.step, self.shape, self.period_px, self.px_per_period, self.minor)

    def through(self, inverse_homography: np.ndarray) -> "GridFlattening":
        """The same flattening read from the image before a perspective correction
        (``inverse_homography`` maps corrected page -> that image): one resampling, not two."""
        pts = np.stack([self.map_x, self.map_y, np.ones_like(self.map_x)], axis=-1) @ np.asarray(
            inverse_homography, float).T
        with np.errstate(invalid="ignore", divide="ignore"):
            mx, my = pts[..., 0] / pts[..., 2], pts[..., 1] / pts[..., 2]
        return GridFlattening(mx, my, self.step, self.shape, self.period_px, self.px_per_period,
                              self.minor, self.residual_px)

    def turned_over(self, input_shape: tuple[int, int]) -> "GridFlattening":
        """The same flattening of the input turned 180 degrees (``input_shape``: rows and
        columns of the input), giving the output turned 180 degrees: the page read upside
        down is not flattened twice."""
        def turned_index(n: int, size: int) -> np.ndarray:
            # lattice index i stands for output pixel (i + 0.5) * step - 0.5 (see apply)
            pixel = size - 1 - ((np.arange(n) + 0.5) * self.step - 0.5)
            return (pixel + 0.5) / self.step - 0.5

        where = np.meshgrid(turned_index(self.map_x.shape[0], self.shape[0]),
                            turned_index(self.map_x.shape[1], self.shape[1]), indexing="ij")
        # bilinear between the lattice's points (NaN outside the grid stays NaN)
        mx, my = (map_coordinates(m, where, order=1, mode="nearest") for m in (self.map_x, self.map_y))
        return GridFlattening(input_shape[1] - 1 - mx, input_shape[0] - 1 - my, self.step, self.shape,
                              self.period_px, self.px_per_period, self.minor, self.residual_px)

    def to_dict(self) -> dict:
        """JSON-ready (for :class:`~ecg_digitize.geometry.PageGeometry` ``bend``)."""
        return {"kind": "grid_flattening", "step": self.step, "shape": list(self.shape),
                "map_x": np.round(self.map_x, 2).tolist(), "map_y": np.round(self.map_y, 2).tolist(),
                "period_px": self.period_px, "px_per_period": self.px_per_period,
                "minor": self.minor, "residual_px": list(self.residual_px)}

    @classmethod
    def from_dict(cls, d: dict) -> "GridFlattening":
        return cls(np.asarray(d["map_x"], float), np.asarray(d["map_y"], float), int(d["step"]),
                   tuple(d["shape"]), float(d["period_px"]), float(d["px_per_period"]),
                   bool(d["minor"]), tuple(d["residual_px"]))


def grid_lines(rgb: np.ndarray) -> np.ndarray:
    """Darkness of the grid lines alone (0..1): printed lines above their local background,
    with dark ink (trace, text, marks) left out so only the lattice repeats."""
    printed = greyscale.grid_view(rgb)
    background = cv2.blur(printed, (15, 15))
    # relative to the paper's local brightness, so lines in shadow count as much
    lines = np.clip(printed - background, 0, None) / np.maximum(1 - background, 0.2)
    run = int(INK_RUN_SHARE * max(rgb.shape[:2])) | 1
    trace_only, _ = greyscale.without_grid_lines(threshold.normalise_background(greyscale.trace_view(rgb)), run)
    level = _ink_level(trace_only)
    ink = trace_only > level
    lines[cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = 0
    lines = lines.astype(np.float32)
    if level > INK_LEVEL:   # a grid as dark as ink: its dots left in, opened away
        across = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((1, DOT_OPENING_PX), np.uint8))
        down = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((DOT_OPENING_PX, 1), np.uint8))
        lines = np.maximum(across, down)
    return lines


def _ink_level(trace_only: np.ndarray) -> float:
    """The darkness above which a picture's trace view (grid lines divided out) is ink:
    :data:`INK_LEVEL`, or higher where that would take more than :data:`INK_MAX_SHARE`
    of the picture for ink."""
    return max(INK_LEVEL, float(np.percentile(trace_only, 100 * (1 - INK_MAX_SHARE))))


def lattice_period(lines: np.ndarray, axis: int, *, strip: int = 64) -> tuple[float, bool] | None:
    """Spacing (px) of the lines that cross ``axis`` (1: vertical lines, spaced along x),
    and whether it is the 1 mm lattice; None without a periodic grid.

    Profiles of short strips (straight enough even on a bent sheet) are autocorrelated
    together; the first lag whose peak reaches 60 % of the highest is the period. Where
    the autocorrelation peaks again, and higher, at five periods, the lattice is the 1 mm
    grid inside the 5 mm one.
    """
    a = lines if axis == 1 else lines.T
    n, w = a.shape[0] // strip, a.shape[1]
    if n == 0 or w < 3 * MIN_PERIOD_PX:
        return None
    prof = a[:n * strip].reshape(n, strip, w).mean(axis=1)
    prof -= prof.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(prof, n=2 * w, axis=1)
    ac = np.fft.irfft((np.abs(spec) ** 2).sum(axis=0))
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    hi = min(MAX_PERIOD_PX * 5 + 2, len(ac) // 2)
    peaks = [i for i in range(MIN_PERIOD_PX, min(MAX_PERIOD_PX, hi - 1))
             if ac[i] >= ac[i - 1] and ac[i] >= ac[i + 1] and ac[i] > 0.05]
    if not peaks:
        return None
    best = max(ac[i] for i in peaks)
    i = next(i for i in peaks if ac[i] >= 0.6 * best)
    period = i + _parabola_offset(ac[i - 1], ac[i], ac[i + 1])
    k5 = int(round(5 * period))
    minor = k5 + 1 < hi and ac[k5 - 1:k5 + 2].max() > ac[i] + 0.05
    return float(period), bool(minor)


def _parabola_offset(y0: float, y1: float, y2: float) -> float:
    den = y0 - 2 * y1 + y2
    return 0.0 if den == 0 else float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))


def _demodulate(lines: np.ndarray, period: float, axis: int, sigma: float, shrink: int = 1) -> np.ndarray:
    """Local complex amplitude of the lines' ``period`` along ``axis`` (Gaussian window),
    phase relative to the input's pixel coordinates; ``shrink``: computed on the picture
    shrunk that many times (one value per shrunk pixel)."""
    if shrink > 1:
        lines = cv2.resize(lines, None, fx=1 / shrink, fy=1 / shrink, interpolation=cv2.INTER_AREA)
    coord = (np.arange(lines.shape[1 if axis == 1 else 0], dtype=np.float64) + 0.5) * shrink - 0.5
    carrier = np.exp(-2j * np.pi * coord / period)
    carrier = carrier[None, :] if axis == 1 else carrier[:, None]
    re = cv2.GaussianBlur((lines * carrier.real).astype(np.float32), (0, 0), sigma / shrink)
    im = cv2.GaussianBlur((lines * carrier.imag).astype(np.float32), (0, 0), sigma / shrink)
    return re + 1j * im


# A lattice period (px) from which the demodulation runs at half size: its window (half a
# period or more) and the lines, 8 px apart or more, survive the halving; a third to a
# quarter of the time.
HALF_SIZE_PERIOD_PX = 16


def _demodulated_at(lines: np.ndarray, period: float, axis: int, sigma: float,
                    ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_demodulate` read at the pixels ``ys`` x ``xs`` (at half size where the period
    allows, :data:`HALF_SIZE_PERIOD_PX`), and the phase reference of the whole picture
    (the angle of the field's sum)."""
    shrink = 2 if period >= HALF_SIZE_PERIOD_PX else 1
    z = _demodulate(lines, period, axis, sigma, shrink)
    at = [np.clip(np.round((np.asarray(v) + 0.5) / shrink - 0.5).astype(int), 0, m - 1)
          for v, m in zip((ys, xs), z.shape)]
    return z[at[0]][:, at[1]], np.angle(z.sum())


def _wrap(phase: np.ndarray) -> np.ndarray:
    return (phase + np.pi) % (2 * np.pi) - np.pi


def _integrate(gx, gy, wx, wy, smooth: float) -> np.ndarray:
    """Least-squares field ``u`` with ``u[:, 1:] - u[:, :-1] ~ gx``, ``u[1:] - u[:-1] ~ gy``
    (weights ``wx, wy``), second differences ~ 0 (weight ``smooth``), ``u`` = 0 at the centre."""
    n, m = gy.shape[0] + 1, gx.shape[1] + 1
    idx = np.arange(n * m).reshape(n, m)
    rows, cols, vals, rhs = [], [], [], []

    def equations(terms, target):
        start = sum(len(r) for r in rhs)
        k = len(target)
        for index, weight in terms:
            rows.append(np.arange(start, start + k))
            cols.append(index.ravel())
            vals.append(np.broadcast_to(weight, (k,)).ravel())
        rhs.append(target)

    equations([(idx[:, 1:], wx.ravel()), (idx[:, :-1], -wx.ravel())], (wx * gx).ravel())
    equations([(idx[1:], wy.ravel()), (idx[:-1], -wy.ravel())], (wy * gy).ravel())
    for a, b, c in ((idx[:, :-2], idx[:, 1:-1], idx[:, 2:]), (idx[:-2], idx[1:-1], idx[2:])):
        equations([(a, smooth), (b, -2 * smooth), (c, smooth)], np.zeros(a.size))
    equations([(idx[n // 2, m // 2:m // 2 + 1], 1.0)], np.zeros(1))
    mat = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(sum(len(r) for r in rhs), n * m))
    b = np.concatenate(rhs)
    return spsolve((mat.T @ mat).tocsc(), mat.T @ b).reshape(n, m)


def _grid_coordinate(lines: np.ndarray, period: float, axis: int, step: int):
    """The lattice coordinate (in periods) across ``axis`` at every ``step``-th pixel,
    and its confidence (0..1, the demodulated amplitude)."""
    z, _ = _demodulated_at(lines, period, axis, WINDOW_PERIODS * period,
                           np.arange(0, lines.shape[0], step), np.arange(0, lines.shape[1], step))
    phase, amp = np.angle(z), np.abs(z)
    conf = np.clip(amp / (np.percentile(amp, 90) + 1e-9), 0, 1) ** 2 + 1e-3
    gx = _wrap(np.diff(phase, axis=1)) / (2 * np.pi)
    gy = _wrap(np.diff(phase, axis=0)) / (2 * np.pi)
    if axis == 1:
        gx += step / period
    else:
        gy += step / period
    u = _integrate(gx, gy, np.minimum(conf[:, 1:], conf[:, :-1]), np.minimum(conf[1:], conf[:-1]),
                   SMOOTHNESS)
    # the integration fixes u up to a constant: the one that puts lines at integers
    ys, xs = np.mgrid[0:lines.shape[0]:step, 0:lines.shape[1]:step]
    measured = (xs if axis == 1 else ys) / period + phase / (2 * np.pi)
    offset = np.angle(np.sum(conf * np.exp(2j * np.pi * (measured - u)))) / (2 * np.pi)
    return u + offset, conf


def flatten_grid(rgb: np.ndarray, *, step: int | None = None
                 ) -> tuple[np.ndarray, GridFlattening | None]:
    """The page resampled so that its grid lines are straight and evenly spaced.

    Returns the page unchanged and ``None`` where no periodic grid is found both ways.
    The output's grid period is the input's scaled towards :data:`TARGET_PX_PER_MM`
    (at most :data:`MAX_UPSAMPLE` times, never down), its extent the grid's.
    """
    lines = grid_lines(rgb)
    found = [lattice_period(lines, 1), lattice_period(lines, 0)]
    if None in found:
        return rgb, None
    (px, minor_x), (py, minor_y) = found
    if max(px, py) / min(px, py) > 1.4:  # one axis locked onto noise: trust the longer
        px = py = max(px, py)
    period = float(np.sqrt(px * py))
    minor = minor_x and minor_y
    px_per_mm = period if minor else period / 5
    out_period = period * float(np.clip(TARGET_PX_PER_MM / px_per_mm, 1.0, MAX_UPSAMPLE))
    step = step or max(4, int(min(px, py) / 3), int(np.ceil(np.sqrt(lines.size / MAX_LATTICE_POINTS))))
    u, cu = _grid_coordinate(lines, px, 1, step)
    v, cv = _grid_coordinate(lines, py, 0, step)
    if _folds_over(u, v, np.minimum(cu, cv), step / px, step / py):
        return rgb, None
    how = _resample_maps(u * out_period, v * out_period, np.minimum(cu, cv), step, rgb.shape[:2],
                         out_period / period)
    if how is None:
        return rgb, None
    map_x, map_y, shape, out_step = how
    flattening, flat_lines = straighten_lines(
        GridFlattening(map_x, map_y, out_step, shape, period, out_period, minor), rgb)
    flat_sheet = flattening.as_homography()
    if flat_sheet is None:
        flat = flattening.apply(rgb)
    else:   # a flat sheet: one homography, without the maps' jitter
        flattening, flat = flat_sheet, flat_sheet.apply(rgb)
        flat_lines = grid_lines(flat)
    flattening.residual_px = lattice_residual(flat_lines, out_period)
    return flat, flattening


def _folds_over(u, v, conf, du_expected: float, dv_expected: float) -> bool:
    """Whether the lattice coordinates fail to grow steadily across the grid (a phase
    slip the integration did not resolve): flattening would then fold the page over
    itself, so it is better left undone."""
    grid = conf > MIN_GRID_AMPLITUDE ** 2
    du, dv = np.diff(u, axis=1), np.diff(v, axis=0)
    bad_u = (du < MIN_LOCAL_SCALE * du_expected) & grid[:, 1:]
    bad_v = (dv < MIN_LOCAL_SCALE * dv_expected) & grid[1:]
    return bool(bad_u.sum() + bad_v.sum() > MAX_FOLDED_SHARE * max(1, 2 * grid.sum()))


def _resample_maps(U, V, conf, step, shape, scale: float, out_step: int = 16):
    """Invert the (x, y) -> (U, V) field on a regular output lattice of ``out_step`` px."""
    ys, xs = np.mgrid[0:shape[0]:step, 0:shape[1]:step]
    grid = conf.ravel() > MIN_GRID_AMPLITUDE ** 2
    if grid.sum() < 16:
        return None
    U, V = U.ravel(), V.ravel()
    # the whole input, not only where the grid shows strongly: under uneven light half a
    # sheet may show its grid faintly, and is still sheet (phone-photos 03951 was cut short and refused)
    u0, u1 = np.percentile(U, [0.5, 99.5])
    v0, v1 = np.percentile(V, [0.5, 99.5])
    w, h = int(u1 - u0), int(v1 - v0)
    if w < 32 or h < 32 or w * h > 64e6:
        return None
    if w < MIN_EXTENT * shape[1] * scale or h < MIN_EXTENT * shape[0] * scale:
        return None  # part of the sheet lost to a slip of the lattice
    gu, gv = np.meshgrid(np.arange(0, w + out_step, out_step), np.arange(0, h + out_step, out_step))
    # one triangulation for both maps (griddata would build it twice)
    maps = LinearNDInterpolator(np.c_[U - u0, V - v0], np.c_[xs.ravel(), ys.ravel()].astype(float))(gu, gv)
    return maps[..., 0], maps[..., 1], (h, w), out_step


def bending_residual(flat: np.ndarray, period: float, *, block: int | None = None) -> tuple[float, float]:
    """Median and 90th percentile (px) of how far a flattened page's grid lines sit from one
    perfect lattice, measured per block of two periods (both directions pooled)."""
    return lattice_residual(grid_lines(flat), period, block=block)


def lattice_residual(lines: np.ndarray, period: float, *, block: int | None = None) -> tuple[float, float]:
    """:func:`bending_residual` of a flat page's grid-line picture (:func:`grid_lines`)."""
    block = block or int(2 * period)
    centres = [np.arange(block // 2, n, block) for n in lines.shape]
    offsets = []
    for axis in (1, 0):
        zs, reference = _demodulated_at(lines, period, axis, 0.6 * period, *centres)
        amp = np.abs(zs)
        if amp.size == 0:
            continue
        keep = amp > 0.3 * np.percentile(amp, 90)
        offsets.append(np.abs(_wrap(np.angle(zs[keep]) - reference)) / (2 * np.pi) * period)
    if not offsets:
        return float("nan"), float("nan")
    d = np.concatenate(offsets)
    return float(np.median(d)), float(np.percentile(d, 90))


def straighten_lines(flattening: GridFlattening, rgb: np.ndarray) -> tuple[GridFlattening, np.ndarray]:
    """The flattening refined until its lattice lines run straight, one pass per entry of
    :data:`REFINE_PASSES_PERIODS`, and the grid-line picture of the page it gives.

    The grid lines are picked out once, on the page flattened by phase, where they already
    run nearly straight (ink is told from them by straight runs, see :func:`grid_lines`).
    Each pass follows every lattice line (:func:`_line_offsets`) and moves each output point
    to where its lines actually are.
    """
    step, period = flattening.step, flattening.px_per_period
    lines = grid_lines(flattening.apply(rgb))
    gy, gx = flattening.output_points()
    centres_y, centres_x = gy[:, 0], gx[0]
    # where each output point is read in the page flattened by phase
    moved = GridFlattening(gx.copy(), gy.copy(), step, flattening.shape, period, period, flattening.minor)
    for periods in REFINE_PASSES_PERIODS:
        flat_lines = moved.apply_lines(lines)
        sigma = periods * period / step
        dx = _line_offsets(flat_lines, period, centres_y, centres_x, sigma)
        dy = _line_offsets(flat_lines.T, period, centres_x, centres_y, sigma).T
        where = [(gy + dy + 0.5) / step - 0.5, (gx + dx + 0.5) / step - 0.5]
        moved.map_x, moved.map_y = (map_coordinates(mp, where, order=1, mode="nearest")
                                    for mp in (moved.map_x, moved.map_y))
    where = [(moved.map_y + 0.5) / step - 0.5, (moved.map_x + 0.5) / step - 0.5]
    refined = GridFlattening(map_coordinates(flattening.map_x, where, order=1, mode="nearest"),
                             map_coordinates(flattening.map_y, where, order=1, mode="nearest"),
                             step, flattening.shape, flattening.period_px, period, flattening.minor)
    return refined, moved.apply_lines(lines)


def _line_offsets(lines: np.ndarray, period: float, ys: np.ndarray, xs: np.ndarray,
                  sigma: float) -> np.ndarray:
    """How far (px, along x) the vertical lattice lines of a flat page sit from a straight,
    evenly spaced lattice, at rows ``ys`` and columns ``xs`` (the page transposed gives the
    horizontal lines).

    Each line is looked for within :data:`LINE_SEARCH` periods of its straight place, in the
    picture averaged along the line over two row steps (:func:`_line_peaks`); its offsets are
    smoothed along the line (Gaussian, ``sigma`` rows of ``ys``), outliers dropped, and
    interpolated between lines.
    """
    half = int(np.median(np.diff(ys))) if len(ys) > 1 else 8
    along = cv2.blur(lines, (1, 2 * half + 1))
    # the straight lattice: the lines' common phase
    w = lines.shape[1]
    phase = np.angle(np.sum(along[::4] * np.exp(-2j * np.pi * np.arange(w) / period)[None]))
    first = (-phase / (2 * np.pi) * period) % period
    straight = first + period * np.arange(int((w - 1 - first) // period) + 1)
    offset, weight = _line_peaks(along, straight, ys, max(1, int(LINE_SEARCH * period)))
    weight = _with_stray_lines_dropped(offset, weight)

    def along_line(weights):
        return (gaussian_filter1d(offset * weights, sigma, axis=0, mode="nearest"),
                gaussian_filter1d(weights, sigma, axis=0, mode="nearest"))

    for _ in range(3):
        num, den = along_line(weight)
        weight = np.where(np.abs(offset - num / (den + 1e-6)) > LINE_OUTLIER_PX, 0.0, weight)
    num, den = along_line(weight)
    course = num / (den + 1e-6)
    out = np.zeros((len(ys), len(xs)))
    for i in range(len(ys)):
        seen = den[i] > 0.05
        if seen.sum() >= 2:
            out[i] = np.interp(xs, straight[seen], course[i, seen])
    return out


def _with_stray_lines_dropped(offset: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``weight`` (rows x lines) with 0 where a line's offset stands out from the median
    offsets of its neighbours on both sides (up to :data:`NEIGHBOUR_LINES` each side, at
    the same row) by more than :data:`LINE_OUTLIER_PX`, the same way: a bump, as a dark
    stroke beside the line makes. A line between a gradient's neighbours (a curl) or at
    a step with one side (a crease) is kept, and so is a line with neighbours on one
    side only."""
    n, k = offset.shape[1], NEIGHBOUR_LINES
    if k <= 0:
        return weight
    seen = np.pad(np.where(weight > 0, offset, np.nan), ((0, 0), (k, k)), constant_values=np.nan)
    above = []
    for side in ([seen[:, k - d:k - d + n] for d in range(1, k + 1)],    # the lines before
                 [seen[:, k + d:k + d + n] for d in range(1, k + 1)]):   # and after each line
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # a side without neighbours
            above.append(offset - np.nanmedian(np.stack(side), axis=0))
    bump = (((above[0] > LINE_OUTLIER_PX) & (above[1] > LINE_OUTLIER_PX))
            | ((above[0] < -LINE_OUTLIER_PX) & (above[1] < -LINE_OUTLIER_PX)))
    return np.where(bump, 0.0, weight)


def _line_peaks(along: np.ndarray, straight: np.ndarray, ys: np.ndarray, r: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Offset (px, sub-pixel) of the darkest column within ``r`` px of each straight line
    place ``straight`` at each row ``ys`` of ``along``, and its weight (0..1: how far the
    peak stands above its window's median; 0 at the window's edge or off the page)."""
    h, w = along.shape
    cols = np.round(straight).astype(int)[:, None] + np.arange(-r, r + 1)[None]
    inside = ((cols >= 0) & (cols < w)).all(axis=1)
    window = along[np.clip(np.round(ys).astype(int), 0, h - 1)][:, np.clip(cols, 0, w - 1)]  # (rows, lines, 2r+1)
    darkest = np.argmax(window, axis=2)
    peak = np.clip(darkest, 1, 2 * r - 1)
    y0, y1, y2 = (np.take_along_axis(window, (peak + d)[..., None], 2)[..., 0] for d in (-1, 0, 1))
    curvature = y0 - 2 * y1 + y2
    sub = np.where(curvature < 0, 0.5 * (y0 - y2) / np.where(curvature < 0, curvature, -1.0), 0.0)
    offset = peak + np.clip(sub, -0.5, 0.5) - r + (np.round(straight) - straight)[None]
    strength = window.max(axis=2) - np.median(window, axis=2)
    weight = np.clip(strength / (np.percentile(strength, 90) + 1e-9), 0, 1) ** 2
    # a peak at the window's edge is a neighbouring line's flank, not this line
    weight[(darkest == 0) | (darkest == 2 * r) | ~inside[None]] = 0
    return offset, weight

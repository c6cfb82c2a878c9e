"""Stage 4 (scale, with :mod:`.calibration`): the grid period (px per mm) from its spectrum.

An ECG grid repeats every 1 mm (minor lines or dots) and every 5 mm (major lines), so
the page's column and row profiles are periodic with period ``P = 5 mm`` and harmonics at
``k / P``. A comb over the profile's power spectrum scores each candidate ``P`` by its first
ten harmonics; the true 5 mm period collects them all (its half or fifth collects fewer,
its double only half). The winner is refined to sub-pixel precision by evaluating the
comb's Fourier sums directly around it.

Pages whose pixels are not square (resized, faxed, exported) have a different period
across than down: each axis is then read at its own period (:func:`estimate_grid`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d

N_HARMONICS = 10
# Pages of other programs are not always square: resized to a fixed size, faxed or
# exported, a millimetre can span 15 % more pixels one way than the other (7.75 x 7.44
# px/mm on one generator's pages). Each axis takes its own comb maximum within this share of
# the other's: a wrong octave (x 2, x 0.5) lies well outside it, and inside it the 5 mm
# period's comb collects all ten harmonics where its neighbours collect few.
MAX_ANISOTROPY = 0.20
# Axes whose own periods agree to this are one square grid, read at the joint period
# (the reading of square pages, unchanged): on fold-9 renders (5 each of clean 200 and
# 100 dpi, scan 200 dpi, scan 150 dpi dotted) the two axes of square pages agree to
# 0.004 %, while a page stretched 2 % one way reads 2.0 % apart and the other
# generator's page 4 % (``benchmarks/grid_axes.py -n 5``).
SQUARE_TOLERANCE = 0.005
# Axes are only read apart where each repeats its 5 mm period at least this often in
# the profile: a page's grid does about 30-40 times (250 x 180 mm, less 10 % margins;
# 20 down the other generator's 960 px page), while the coarse repeats of labels and
# separators on a page without a grid (a "5 mm" of 160-170 px) fit only 8-11 times and
# their two axes, 5 % apart, are not resolved.
MIN_PERIODS_APART = 15
# Read at the joint period, axes further apart than this are no grid (a page without
# one whose labels and separators repeat about as often both ways); the joint reading
# of every page whose axes are not read apart, unchanged from before.
SQUARE_READ_TOLERANCE = 0.03


@dataclass
class GridEstimate:
    """``px_per_mm`` along x and y, and a strength (harmonic power over the spectrum's median).

    ``square``: both axes were read at one joint period (their own periods agree to
    :data:`SQUARE_TOLERANCE`, or the evidence to read them apart was missing); False:
    each axis was read at its own period.
    """

    px_per_mm_x: float | None
    px_per_mm_y: float | None
    strength: float = 0.0
    minor_contrast: float = float("inf")  # see :func:`minor_line_contrast`
    square: bool = True

    @property
    def px_per_mm(self) -> float | None:
        """The mean of both axes (one number for a square grid); None without a grid."""
        vals = [v for v in (self.px_per_mm_x, self.px_per_mm_y) if v]
        return float(np.mean(vals)) if vals else None


def profile_period(profile: np.ndarray, *, min_px_per_mm: float = 2.0,
                   max_px_per_mm: float = 40.0) -> tuple[float | None, float]:
    """Estimate ``px_per_mm`` from one 1-D grid profile.

    Returns ``(px_per_mm or None, strength)``; strength is the mean of the comb's harmonic
    powers relative to the spectrum's median (a grid gives well over 10).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.grid import profile_period
    >>> x = np.arange(3000)
    >>> ppm = 7.874  # 200 dpi
    >>> minor = (np.abs((x / ppm + 0.5) % 1 - 0.5) * ppm < 0.5).astype(float)
    >>> major = (np.abs((x / (5 * ppm) + 0.5) % 1 - 0.5) * 5 * ppm < 1.0).astype(float)
    >>> est, strength = profile_period(0.5 * minor + major)
    >>> round(est, 2), strength > 10
    (7.87, True)
    """
    spec = _Spectrum(profile, max_px_per_mm)
    if spec.power is None:
        return None, 0.0
    periods = _candidate_periods(min_px_per_mm, max_px_per_mm, len(profile))
    score = spec.comb(periods)
    best = _fix_octave(spec, float(periods[int(np.argmax(score))]), 5 * min_px_per_mm)
    return spec.refine(best) / 5.0, float(score.max() / N_HARMONICS / spec.floor)


def _candidate_periods(min_px_per_mm: float, max_px_per_mm: float, n: int) -> np.ndarray:
    """Candidate 5 mm periods (px), log-spaced 0.2 % apart."""
    return np.exp(np.linspace(np.log(5 * min_px_per_mm), np.log(max(5 * min_px_per_mm + 1,
                                                                        min(5 * max_px_per_mm, n / 4))), 1500))


class _Spectrum:
    """Power spectrum of a detrended, windowed profile (8x zero-padded)."""

    def __init__(self, profile: np.ndarray, max_px_per_mm: float):
        p = np.asarray(profile, dtype=np.float64)
        n = len(p)
        self.n = n
        self.power = None
        if n < 64:
            return
        # Remove slow trends (lighting, trace rows) that would swamp the low frequencies.
        k = max(3, int(2.5 * max_px_per_mm))
        trend = np.convolve(np.pad(p, k, mode="reflect"), np.ones(2 * k + 1) / (2 * k + 1),
                            mode="same")[k:-k]
        p = (p - trend) * np.hanning(n)
        nfft = 1 << int(np.ceil(np.log2(n * 8)))
        self.power = np.abs(np.fft.rfft(p, nfft)) ** 2
        self.freqs = np.fft.rfftfreq(nfft)
        self.df = float(self.freqs[1])
        self.floor = float(np.median(self.power[self.freqs > 1.0 / (5 * max_px_per_mm)])) + 1e-12

    def at(self, f: np.ndarray) -> np.ndarray:
        return np.interp(f, self.freqs, self.power)

    def comb(self, periods: np.ndarray) -> np.ndarray:
        score = np.zeros_like(periods)
        for h in range(1, N_HARMONICS + 1):
            f = h / periods
            ok = f < 0.5
            score[ok] += self.at(f[ok])
        return score

    def refine(self, period: float) -> float:
        """Fit ``f_h = h / P`` to each strong harmonic's interpolated peak (weighted LS)."""
        hs, fh, wh = [], [], []
        for h in range(1, N_HARMONICS + 1):
            f0 = h / period
            if f0 >= 0.5 - 2 * self.df:
                break
            i0 = int(round(f0 / self.df))
            lo, hi = max(1, i0 - 3), min(len(self.power) - 2, i0 + 3)
            i = lo + int(np.argmax(self.power[lo:hi + 1]))
            if self.power[i] < 5 * self.floor:
                continue
            a, b, c = np.log(self.power[i - 1:i + 2] + 1e-30)
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
            hs.append(h)
            fh.append((i + shift) * self.df)
            wh.append(self.power[i])
        if not hs:
            return period
        hs, fh, wh = np.array(hs, float), np.array(fh), np.array(wh)
        return float(np.sum(wh * hs * hs) / np.sum(wh * hs * fh))


def minor_line_contrast(grid_dark: np.ndarray, px_per_mm: float,
                        trace_mask: np.ndarray | None = None) -> float:
    """How much the 1 mm lines stand out from the 5 mm period's neighbouring harmonics.

    A real ECG grid has minor lines (or dots) every 1 mm between major lines every 5 mm, so
    the 5th harmonic of the 5 mm period is a bump above the 4th and 6th (2 or more on
    every grid page seen). A grid of equal lines (some paper prints no major lines) gives about
    1: then the "5 mm" period the comb found may really be 1 mm. Returns the larger ratio
    of the two directions.

    Examples
    --------
    >>> from ecg_digitize.synth import render, simulate_12lead
    >>> from ecg_digitize.digitizer.greyscale import grid_view
    >>> sig, fs, leads = simulate_12lead(seed=0)
    >>> img, truth = render(sig, fs, leads, dpi=150)
    >>> minor_line_contrast(grid_view(img), 150 / 25.4) > 1.5
    True
    """
    core = _core(grid_dark, trace_mask)
    spectra = (_Spectrum(core.mean(axis=0), 40.0), _Spectrum(core.mean(axis=1), 40.0))
    return _minor_contrast(spectra, 5 * px_per_mm)


def _core(grid_dark: np.ndarray, trace_mask: np.ndarray | None) -> np.ndarray:
    """The page without its margins (they only add noise), trace pixels blanked."""
    g = grid_dark if trace_mask is None else np.where(trace_mask, 0.0, grid_dark)
    h, w = g.shape
    return g[h // 10: h - h // 10, w // 10: w - w // 10]


def _minor_contrast(spectra, period: float | tuple[float, ...]) -> float:
    """Power at the 5th harmonic of ``period`` over the mean of the 4th and 6th (max over
    spectra); ``period`` is one for all spectra or one per spectrum."""
    ratios = []
    periods = period if isinstance(period, tuple) else (period,) * len(spectra)
    for spec, period in zip(spectra, periods):
        if spec.power is None or 6 / period >= 0.5:
            continue
        p4, p5, p6 = spec.at(np.array([4, 5, 6]) / period)
        ratios.append(float(p5 / (0.5 * (p4 + p6) + 1e-12)))
    return max(ratios) if ratios else float("inf")


def _fix_octave(spec: _Spectrum, period: float, min_period: float) -> float:
    """Halve ``period`` while its odd harmonics are missing (the comb locked onto 2x)."""
    while period / 2 >= min_period:
        odd = [h / period for h in (1, 3, 5) if h / period < 0.5]
        even = [h / period for h in (2, 4, 6) if h / period < 0.5]
        if not odd or not even:
            break
        if np.mean(spec.at(np.array(odd))) > 0.1 * np.mean(spec.at(np.array(even))):
            break
        period /= 2
    return period


def _profile_spectra(grid_dark: np.ndarray, trace_mask: np.ndarray | None):
    """Column/row profile spectra, candidate periods, their combs and the joint 5 mm period."""
    core = _core(grid_dark, trace_mask)
    sx, sy = _Spectrum(core.mean(axis=0), 40.0), _Spectrum(core.mean(axis=1), 40.0)
    if sx.power is None or sy.power is None:
        return None
    # A grid is square: one comb over both directions (each normalised) picks the period,
    # so rows of traces or text, periodic in y only, cannot win.
    periods = _candidate_periods(2.0, 40.0, min(core.shape))
    cx, cy = sx.comb(periods), sy.comb(periods)
    if cx.max() <= 0 or cy.max() <= 0:  # a flat profile (a blank or one-line page): no grid
        return None
    score = cx / cx.max() + cy / cy.max()
    best = float(periods[int(np.argmax(score))])
    best = min(_fix_octave(sx, best, 10.0), _fix_octave(sy, best, 10.0))
    return sx, sy, periods, cx, cy, best


def axis_periods(grid_dark: np.ndarray, trace_mask: np.ndarray | None = None, *,
                 tolerance: float = 0.08) -> tuple[float, float] | None:
    """The grid's 5 mm period in px along x and along y, allowed to differ by ``tolerance``.

    :func:`estimate_grid` wants a square grid; a photo whose perspective was undone from
    the sheet's outline can be stretched a few percent in one direction, and this measures
    by how much (each direction's own comb maximum near the joint period). ``None`` when
    there is no profile to measure. The default tolerance was chosen on fold-9 photo
    renders (9.64 dB for 0.08 against 9.00 for 0.15, where a wrong grid octave can pass).
    """
    spectra = _profile_spectra(grid_dark, trace_mask)
    if spectra is None:
        return None
    sx, sy, periods, cx, cy, best = spectra
    near = (periods > (1 - tolerance) * best) & (periods < (1 + tolerance) * best)
    if not near.any():
        return None
    px = float(periods[near][int(np.argmax(cx[near]))])
    py = float(periods[near][int(np.argmax(cy[near]))])
    return sx.refine(px), sy.refine(py)


def _axis_pair(periods: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> tuple[int, int]:
    """Indices of the x and y periods, at most :data:`MAX_ANISOTROPY` apart, whose combs
    (each relative to its maximum) sum highest."""
    nx, ny = cx / cx.max(), cy / cy.max()
    # candidates are log-spaced: the window is a fixed number of them either side
    reach = int(np.log(1 + MAX_ANISOTROPY) / np.log(periods[1] / periods[0]))
    ix = int(np.argmax(nx + maximum_filter1d(ny, 2 * reach + 1, mode="constant")))
    lo, hi = max(0, ix - reach), min(len(periods), ix + reach + 1)
    return ix, lo + int(np.argmax(ny[lo:hi]))


def estimate_grid(grid_dark: np.ndarray, trace_mask: np.ndarray | None = None, *,
                  min_strength: float = 8.0) -> GridEstimate:
    """Grid period along x and y from column and row profiles of the grid view.

    The joint comb (:func:`_profile_spectra`) finds the 5 mm period. Where each axis's
    own comb maximum near it (within :data:`MAX_ANISOTROPY`) agrees with the other's to
    :data:`SQUARE_TOLERANCE`, the grid is square and both axes are read at the joint
    period. Otherwise (a page resized to a fixed size, a fax, an export: its millimetre
    spans more pixels one way) each axis is read at its own period (:func:`_read_apart`),
    where the evidence for it holds; else at the joint period again.

    Parameters
    ----------
    grid_dark : ndarray
        Darkness with the grid visible (:func:`greyscale.grid_view`, background-normalised).
    trace_mask : ndarray of bool, optional
        Trace/text pixels to leave out of the profiles.
    min_strength : float
        Below this, the direction is reported as ``None`` (no grid found).

    Examples
    --------
    >>> from ecg_digitize.synth import render, simulate_12lead
    >>> from ecg_digitize.digitizer.greyscale import grid_view
    >>> from ecg_digitize.digitizer.grid import estimate_grid
    >>> sig, fs, leads = simulate_12lead(seed=0)
    >>> img, truth = render(sig, fs, leads, dpi=150)
    >>> round(estimate_grid(grid_view(img)).px_per_mm, 2)  # 150 / 25.4
    5.91
    >>> est = estimate_grid(grid_view(render(sig, fs, leads, dpi=150, stretch=(1.0, 0.85))[0]))
    >>> round(est.px_per_mm_x, 2), round(est.px_per_mm_y, 2), est.square  # 5.91 x 0.85 down
    (5.91, 5.02, False)
    """
    spectra = _profile_spectra(grid_dark, trace_mask)
    if spectra is None:
        return GridEstimate(None, None, 0.0)
    if not _axes_agree(*spectra):
        apart = _read_apart(*spectra[:5], min_strength)
        if apart is not None:
            return apart
    return _read_square(*spectra, min_strength)


def _axes_agree(sx: _Spectrum, sy: _Spectrum, periods: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                best: float) -> bool:
    """Whether each axis's own period near the joint one (within :data:`MAX_ANISOTROPY`)
    matches the other's to :data:`SQUARE_TOLERANCE`."""
    near = (periods > (1 - MAX_ANISOTROPY) * best) & (periods < (1 + MAX_ANISOTROPY) * best)
    if not near.any():
        return True
    own_x = sx.refine(float(periods[near][int(np.argmax(cx[near]))]))
    own_y = sy.refine(float(periods[near][int(np.argmax(cy[near]))]))
    return abs(own_x / own_y - 1) <= SQUARE_TOLERANCE


def _read_square(sx: _Spectrum, sy: _Spectrum, periods: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                 best: float, min_strength: float) -> GridEstimate:
    """Both axes read at the joint period; no grid where they differ by over
    :data:`SQUARE_READ_TOLERANCE` or its comb is weaker than ``min_strength``."""
    i = int(np.argmin(np.abs(periods - best)))
    strength = float(min(cx[i] / N_HARMONICS / sx.floor, cy[i] / N_HARMONICS / sy.floor))
    if strength < min_strength:
        return GridEstimate(None, None, strength)
    px, py = sx.refine(best) / 5.0, sy.refine(best) / 5.0
    if abs(px / py - 1) > SQUARE_READ_TOLERANCE:
        return GridEstimate(None, None, strength)
    return GridEstimate(px, py, strength, _minor_contrast((sx, sy), 2.5 * (px + py)))


def _read_apart(sx: _Spectrum, sy: _Spectrum, periods: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                min_strength: float) -> GridEstimate | None:
    """Each axis at its own period (:func:`_axis_pair`); None without the evidence for it:
    a comb weaker than ``min_strength`` on either axis, or fewer than
    :data:`MIN_PERIODS_APART` periods along it."""
    ix, iy = _axis_pair(periods, cx, cy)
    # the comb can lock onto twice the period (its even harmonics) on both axes at once
    px0, py0 = _fix_octave(sx, float(periods[ix]), 10.0), _fix_octave(sy, float(periods[iy]), 10.0)
    ix, iy = int(np.argmin(np.abs(periods - px0))), int(np.argmin(np.abs(periods - py0)))
    own_x, own_y = sx.refine(px0), sy.refine(py0)
    strength = float(min(cx[ix] / N_HARMONICS / sx.floor, cy[iy] / N_HARMONICS / sy.floor))
    if (strength < min_strength or min(sx.n / own_x, sy.n / own_y) < MIN_PERIODS_APART
            or abs(np.log(own_x / own_y)) > np.log(1 + MAX_ANISOTROPY)):
        return None
    px, py = own_x / 5.0, own_y / 5.0
    return GridEstimate(px, py, strength, _minor_contrast((sx, sy), (5 * px, 5 * py)), square=False)

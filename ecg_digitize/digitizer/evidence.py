"""What a reading says about its own accuracy: evidence features and plausibility rules.

Everything here is computed from a :class:`~ecg_digitize.record.Record` as the pipeline
returns it (signals, calibration, layout, ``geometry``, the confidence and
self-consistency in ``quality``), so a reading written to JSON and read back gives the
same figures. :func:`reading_features` feeds the quality model
(:mod:`~ecg_digitize.digitizer.quality`); :func:`plausibility` names what a reading of a
real paper ECG cannot be (a 12-lead page of 5 s at 25 mm/s, a heart rate of 400 bpm, a
page 90 mm wide).
"""
from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from ..layouts import parse_layout
from .calibration import STANDARD_ROW_MM
STANDARD_PAGE_MM = 280.0  # the long side of a printed ECG page, near A4 (297) and Letter (279)
# a 12-lead layout's rows span at least this much paper: 6 s at 25 mm/s or 3 s at 50 mm/s;
# shorter rows mean the scale or the paper speed is wrong (the page read at twice its scale)
MIN_GRID_ROW_MM = 150.0
MAX_ROW_MM = 420.0  # rows longer than an A3 page's long side: the scale is wrong
MIN_PAGE_MM, MAX_PAGE_MM = 60.0, 600.0  # a picture's long side, in mm of paper, at the scale read
MIN_HEART_RATE, MAX_HEART_RATE = 20.0, 300.0  # bpm: the rates a human heart reaches
MAX_PLAUSIBLE_PTP_MV = 10.0  # a lead swinging further than this is not an ECG in mV
MIN_PLAUSIBLE_PTP_MV = 0.1  # a page whose leads all move less than this drew nothing readable
HF_CUTOFF_HZ = 40.0  # ECG power above this is small; traced noise or a wrong time axis has much
SC_CLIP_DB = (-10.0, 40.0)  # self-consistency beyond these bounds says nothing more


def lead_heart_rate(values: np.ndarray, fs: float) -> float:
    """Beats per minute from one lead's QRS-like peaks (NaN under three beats).

    The slope's magnitude is smoothed over 40 ms; peaks at least 150 ms apart (400 bpm, so
    rates past the 300 bpm limit are measured)
    over 40 % of its 98th percentile are beats.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.evidence import lead_heart_rate
    >>> t = np.arange(5000) / 500
    >>> beats = np.exp(-((t % 1.0) - 0.5) ** 2 / 2e-4)   # 60 bpm spikes
    >>> round(lead_heart_rate(beats, 500))
    60
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) < fs:
        return float("nan")
    slope = np.abs(np.diff(v))
    width = max(1, int(0.04 * fs))
    energy = np.convolve(slope, np.ones(width) / width, mode="same")
    top = np.percentile(energy, 98)
    if top <= 0:
        return float("nan")
    peaks, _ = find_peaks(energy, height=0.4 * top, distance=max(1, int(0.15 * fs)))
    if len(peaks) < 3:
        return float("nan")
    return float(60.0 * fs / np.median(np.diff(peaks)))


def high_frequency_share(values: np.ndarray, fs: float) -> float:
    """Share of a lead's power (mean removed) above :data:`HF_CUTOFF_HZ` (NaN if too short)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) < 64 or fs <= 2 * HF_CUTOFF_HZ:
        return float("nan")
    power = np.abs(np.fft.rfft(v - v.mean())) ** 2
    freqs = np.fft.rfftfreq(len(v), 1 / fs)
    total = power.sum()
    return float(power[freqs > HF_CUTOFF_HZ].sum() / total) if total > 0 else float("nan")


def lead_features(record) -> dict[str, dict[str, float]]:
    """Per lead: confidence, plotted seconds, peak-to-peak mV, heart rate, high-frequency share."""
    conf = record.quality.get("leads", {}) if record.quality else {}
    out = {}
    for j, name in enumerate(record.leads):
        v = record.signal[:, j]
        ok = np.isfinite(v)
        ptp = float(np.ptp(v[ok])) if ok.sum() > 1 else 0.0
        out[name] = {"confidence": float(conf.get(name, 0.0)), "seconds": float(ok.sum() / record.fs),
                     "ptp_mv": ptp, "heart_rate": lead_heart_rate(v, record.fs),
                     "hf_share": high_frequency_share(v, record.fs)}
    return out


def _scale_features(record) -> dict[str, float]:
    """How the page was measured: scale source, grid, pulses, the paper size implied."""
    geo, cal = record.geometry, record.calibration
    ppm = float(cal.px_per_mm)
    shape = geo.image_shape or [0, 0]
    pulses = [p for p in geo.pulses if p is not None]
    heights = np.array([p.height_px for p in pulses], float)
    page_mm = max(shape) / ppm if ppm > 0 else 0.0
    guessed = set(cal.guessed or ())
    return {
        "grid": float(geo.scale_source == "grid"),
        "grid_strength": float(np.log1p(geo.grid_strength or 0.0)),
        "pulse_share": len(pulses) / max(1, len(geo.pulses)),
        "pulse_spread": float(heights.std() / heights.mean()) if len(heights) > 1 and heights.mean() > 0 else 0.0,
        "speed_guessed": float("mm_per_s" in guessed),
        "gain_guessed": float("mm_per_mv" in guessed),
        "speed_unusual": float(cal.mm_per_s not in (25.0, 50.0)),
        "gain_unusual": float(cal.mm_per_mv not in (5.0, 10.0, 20.0)),
        "page_mm_off": abs(float(np.log(max(page_mm, 1.0) / STANDARD_PAGE_MM))),
        "px_per_mm_log": float(np.log(max(ppm, 0.1))),
    }


def row_mm(record) -> float:
    """Paper (mm) one row of the reading spans: its seconds at its paper speed."""
    geo = record.geometry
    if geo.x_start is not None and geo.x_end is not None and record.calibration.px_per_mm > 0:
        return float((geo.x_end - geo.x_start) / record.calibration.px_per_mm)
    return float(record.n_samples / record.fs * record.calibration.mm_per_s)


def _layout_features(record) -> dict[str, float]:
    """Layout and time axis: strip or grid, rows, row length against the page's."""
    geo = record.geometry
    baselines = np.sort([r.baseline_y for r in geo.rows]) if geo.rows else np.array([])
    ppm = max(float(record.calibration.px_per_mm), 0.1)
    spacing = float(np.median(np.diff(baselines)) / ppm) if len(baselines) > 1 else 0.0
    plotted = sum(np.isfinite(record.signal[:, j]).any() for j in range(record.signal.shape[1]))
    width = (geo.image_shape or [0, 1])[1]
    span = (geo.x_end - geo.x_start) / width if geo.x_start is not None and geo.x_end is not None else 0.0
    return {
        "strip": float(record.layout == "strip"),
        "n_rows": float(len(geo.rows)),
        "row_spacing_mm": float(np.clip(spacing, 0.0, 100.0)),
        # rounded: a snapped 10 s row is 0.0002 off (its last sample), give or take float noise
        "row_mm_off": round(abs(float(np.log(max(row_mm(record), 1.0) / STANDARD_ROW_MM))), 4),
        "row_page_share": float(np.clip(span, 0.0, 1.0)),
        "leads_plotted": float(plotted),
        "time_zero_pen_ends": float(geo.time_zero == "pen ends"),
        "skew_abs": abs(float(geo.skew_deg or 0.0)),
        "bent": float(bool(geo.bend) or geo.homography is not None),
        "unet": float(geo.method == "unet"),
    }


def _signal_features(record, leads: dict[str, dict[str, float]]) -> dict[str, float]:
    """The signals: confidence, self-consistency, heart rate, amplitudes, noise."""
    conf = np.array([f["confidence"] for f in leads.values()] or [0.0])
    rates = np.array([f["heart_rate"] for f in leads.values()], float)
    rates = rates[np.isfinite(rates)]
    ptp = np.array([f["ptp_mv"] for f in leads.values()] or [0.0])
    hf = np.array([f["hf_share"] for f in leads.values()], float)
    sc = (record.quality or {}).get("self_consistency_db", {}).get("mean")
    hr = float(np.median(rates)) if len(rates) else float("nan")
    return {
        "confidence_mean": float(conf.mean()),
        "confidence_min": float(conf.min()),
        "self_consistency": float(np.clip(sc, *SC_CLIP_DB)) if sc is not None else 0.0,
        "self_consistency_missing": float(sc is None),
        "heart_rate_log": float(np.log(hr / 70.0)) if np.isfinite(hr) else 0.0,
        "heart_rate_missing": float(not np.isfinite(hr)),
        "heart_rate_spread": float(np.std(rates) / hr) if len(rates) > 1 else 0.0,
        "ptp_log": float(np.log(max(np.median(ptp), 0.01))),
        "ptp_implausible": float(np.mean((ptp > MAX_PLAUSIBLE_PTP_MV) | (ptp < MIN_PLAUSIBLE_PTP_MV))),
        "hf_share": float(np.nanmedian(hf)) if np.isfinite(hf).any() else 0.0,
    }


def reading_features(record) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """The page's evidence features and each lead's (see :data:`LEAD_FEATURE_NAMES`).

    Returns
    -------
    page : dict
        Scale (grid found and its strength, pulses and their agreement, what was guessed,
        the paper size implied), layout and time axis (strip, rows and their spacing in
        mm, row length against 250 mm, the share of the page the rows span, leads
        plotted, skew, bending), signals (confidence, Einthoven/Goldberger
        self-consistency, heart rate and its spread across leads, amplitudes, noise).
    leads : dict
        Per lead: ``confidence``, ``seconds`` plotted, ``ptp_mv``, ``heart_rate``, ``hf_share``.
    """
    leads = lead_features(record)
    page = {**_scale_features(record), **_layout_features(record), **_signal_features(record, leads)}
    return page, leads


def lead_row(page: dict[str, float], lead: dict[str, float]) -> dict[str, float]:
    """One lead's model inputs: the page's features plus the lead's own."""
    hr = lead["heart_rate"]
    page_hr = 70.0 * np.exp(page["heart_rate_log"])
    return {**page,
            "lead_confidence": lead["confidence"],
            "lead_seconds": float(np.clip(lead["seconds"], 0.0, 30.0)),
            "lead_ptp_log": float(np.log(max(lead["ptp_mv"], 0.01))),
            "lead_hr_off": abs(float(np.log(hr / page_hr))) if np.isfinite(hr) and not page["heart_rate_missing"]
            else 0.0,
            "lead_hf_share": lead["hf_share"] if np.isfinite(lead["hf_share"]) else 0.0}


def plausibility(record, leads: dict[str, dict[str, float]] | None = None) -> list[str]:
    """What a reading of a real paper ECG cannot be: each finding as a sentence.

    - a 12-lead layout whose rows span under :data:`MIN_GRID_ROW_MM` or over
      :data:`MAX_ROW_MM` of paper at the scale and paper speed read (``"3x4+II, 5 s at
      25 mm/s"``: the page was read at twice its scale, or the paper speed is wrong);
    - a heart rate (median over the leads) outside 20-300 bpm;
    - leads swinging over 10 mV, or every lead under 0.1 mV;
    - a picture whose long side is under 60 mm or over 600 mm of paper at the scale read.

    ``leads``: :func:`lead_features` of the record, when already computed.
    """
    out = []
    mm = row_mm(record)
    if record.layout != "strip":
        parse_layout(record.layout)
        if not MIN_GRID_ROW_MM <= mm <= MAX_ROW_MM:
            secs = record.n_samples / record.fs
            out.append(f"a {record.layout} page of {secs:.2f} s at {record.calibration.mm_per_s:g} mm/s has rows "
                       f"of {mm:.0f} mm, not about {STANDARD_ROW_MM:.0f} mm: the scale "
                       f"({record.calibration.px_per_mm:.2f} px/mm) or the paper speed is probably wrong")
    elif mm > MAX_ROW_MM:
        out.append(f"the strip's rows span {mm:.0f} mm of paper at {record.calibration.px_per_mm:.2f} px/mm: "
                   "the scale is probably wrong")
    out += _signal_findings(lead_features(record) if leads is None else leads)
    shape = record.geometry.image_shape
    if shape and record.calibration.px_per_mm > 0:
        page_mm = max(shape) / record.calibration.px_per_mm
        if not MIN_PAGE_MM <= page_mm <= MAX_PAGE_MM:
            out.append(f"at {record.calibration.px_per_mm:.2f} px/mm the picture is {page_mm:.0f} mm long: "
                       "the scale is probably wrong")
    return out


def _signal_findings(leads: dict[str, dict[str, float]]) -> list[str]:
    rates = [f["heart_rate"] for f in leads.values() if np.isfinite(f["heart_rate"])]
    out = []
    if rates:
        hr = float(np.median(rates))
        if not MIN_HEART_RATE <= hr <= MAX_HEART_RATE:
            out.append(f"a heart rate of {hr:.0f} bpm is outside {MIN_HEART_RATE:.0f}-{MAX_HEART_RATE:.0f} bpm: "
                       "the time axis (paper speed or scale) is probably wrong")
    wide = [n for n, f in leads.items() if f["ptp_mv"] > MAX_PLAUSIBLE_PTP_MV]
    if wide:
        out.append(f"lead(s) {', '.join(wide)} swing over {MAX_PLAUSIBLE_PTP_MV:g} mV: the gain is probably wrong")
    if leads and all(f["ptp_mv"] < MIN_PLAUSIBLE_PTP_MV for f in leads.values()):
        out.append(f"every lead swings less than {MIN_PLAUSIBLE_PTP_MV:g} mV: nothing readable was traced")
    return out

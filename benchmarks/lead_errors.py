"""Where the classical digitizer's error lies: per lead, and in time zero.

Renders PTB-XL records of one fold under one condition, digitizes each page and prints,
per lead, the mean Challenge SNR and the time offset left after the score's whole-sample
alignment (the best fractional lag in -1.5..1.5 samples, in samples and in pixels), and
the SNR that offset would give. A steady fractional offset across leads is a time-zero
bias of the page's time axis: the score aligns whole samples only. Also prints whether
the calibration (px/mm, gain, speed) was read exactly.

Diagnostic only: choose on fold 9 (the default), never on fold 10.

    python benchmarks/lead_errors.py --layout 12x1 -n 12
    python benchmarks/lead_errors.py --dpi 150 --preset scan --grid-style dotted -n 6
    python benchmarks/lead_errors.py --dpi 150 --grid-style dotted --distort jpeg=75 -n 6
    python benchmarks/lead_errors.py --dpi 100 --distort jpeg=92 -n 8   # 4:2:0 JPEG at 100 dpi
    python benchmarks/lead_errors.py -n 30 --worst 10   # also the 10 worst (record, lead) pairs
    python benchmarks/lead_errors.py --no-separators -n 12   # lead changes not marked
    python benchmarks/lead_errors.py --preset photo -n 8 --regions   # where a photo's error lies

``--regions`` also splits each page's squared error (after the score's lag and offset)
into steep stretches (the truth steeper than :data:`STEEP_MV_PER_S`, widened by
:data:`STEEP_PAD` samples: the QRS), the first and last :data:`END_S` of each lead's
plotted span, and the rest; and prints the SNR each lead would score if every
:data:`WINDOW_S` of it could take its own extra whole-sample shift within
:data:`WINDOW_SHIFT` samples: a bound on what timing left along the row (a photo's
flattening residual) costs.
"""
from __future__ import annotations

import argparse

import numpy as np

FRACTIONS = np.arange(-1.5, 1.51, 0.1)
STEEP_MV_PER_S, STEEP_PAD = 10.0, 2
END_S = 0.06
WINDOW_S, WINDOW_SHIFT = 0.2, 4


def fractional_lag(estimate: np.ndarray, truth: np.ndarray, lag: int) -> tuple[float, float]:
    """Best extra fractional shift (samples) of ``estimate`` after the whole-sample ``lag``,
    and the SNR (dB, offset removed, plotted samples) it gives."""
    span = np.nonzero(np.isfinite(truth))[0]
    t = truth[span[0]:span[-1] + 1]
    e = estimate[span[0]:span[-1] + 1]
    ok = np.isfinite(e)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    idx = np.arange(len(e))
    e = np.interp(idx, idx[ok], e[ok])
    best = (float("nan"), -np.inf)
    for f in FRACTIONS:
        r = t - np.interp(idx + lag + f, idx, e)
        r -= r.mean()
        snr = 10 * np.log10(np.sum(t ** 2) / max(np.sum(r ** 2), 1e-12))
        if snr > best[1]:
            best = (float(f), float(snr))
    return best


def largest_error(estimate: np.ndarray, truth: np.ndarray, lag: int) -> tuple[int, float, float]:
    """Sample (of the truth) where the reading, shifted by the score's ``lag`` and with the
    mean offset removed, is furthest from the truth; the truth and the reading there."""
    shifted = _shifted(estimate, truth, lag)
    ok = np.isfinite(truth) & np.isfinite(shifted)
    if not ok.any():
        return -1, float("nan"), float("nan")
    at = int(np.arange(len(truth))[ok][np.argmax(np.abs(truth[ok] - shifted[ok]))])
    return at, float(truth[at]), float(shifted[at])


def _shifted(estimate: np.ndarray, truth: np.ndarray, lag: int) -> np.ndarray:
    """The reading shifted by the score's ``lag``, with the mean offset to the truth removed."""
    idx = np.arange(len(truth))
    shifted = np.interp(idx + lag, idx, estimate, left=np.nan, right=np.nan)
    ok = np.isfinite(truth) & np.isfinite(shifted)
    return shifted + (np.mean(truth[ok] - shifted[ok]) if ok.any() else 0.0)


def error_regions(estimate: np.ndarray, truth: np.ndarray, lag: int, fs: float) -> np.ndarray:
    """Squared error (mV^2, summed) in steep stretches, at the span's ends, and elsewhere."""
    err = (truth - _shifted(estimate, truth, lag)) ** 2
    ok = np.isfinite(err)
    span = np.nonzero(np.isfinite(truth))[0]
    ends = np.zeros(len(truth), bool)
    k = int(round(END_S * fs))
    ends[span[0]:span[0] + k] = ends[max(span[0], span[-1] - k + 1):span[-1] + 1] = True
    slope = np.abs(np.gradient(np.nan_to_num(truth))) * fs
    steep = np.convolve(slope > STEEP_MV_PER_S, np.ones(2 * STEEP_PAD + 1), "same") > 0
    steep &= ~ends
    return np.array([err[ok & m].sum() for m in (steep, ends, ~steep & ~ends)])


def windowed_shift_snr(estimate: np.ndarray, truth: np.ndarray, lag: int, fs: float) -> float:
    """SNR (dB, offset removed) with each :data:`WINDOW_S` of the reading shifted on its
    own by the whole samples in +-:data:`WINDOW_SHIFT` that fit it best."""
    shifts = [_shifted(estimate, truth, lag + d) for d in range(-WINDOW_SHIFT, WINDOW_SHIFT + 1)]
    best = np.full(len(truth), np.nan)
    step = int(round(WINDOW_S * fs))
    for w0 in range(0, len(truth), step):
        w = slice(w0, w0 + step)
        errs = [np.nanmean((truth[w] - s[w]) ** 2) if np.isfinite(truth[w] - s[w]).any() else np.inf
                for s in shifts]
        best[w] = shifts[int(np.argmin(errs))][w]
    ok = np.isfinite(truth) & np.isfinite(best)
    r = truth[ok] - best[ok]
    r -= r.mean()
    return float(10 * np.log10(np.sum(truth[ok] ** 2) / max(np.sum(r ** 2), 1e-12)))


def main(argv=None) -> None:
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layout", default="3x4+II")
    ap.add_argument("--preset", default="clean")
    ap.add_argument("--dpi", type=float, default=200)
    ap.add_argument("--grid-style", default=None, help="solid, dotted or none (renderer default: solid)")
    ap.add_argument("--no-separators", action="store_true",
                    help="render without the column separators (time zero from the pen's ends)")
    ap.add_argument("--fold", type=int, default=9)
    ap.add_argument("-n", type=int, default=6, help="records")
    ap.add_argument("--worst", type=int, default=0,
                    help="also print this many worst (record, lead) pairs and where their error peaks")
    ap.add_argument("--distort", nargs="*", default=[], metavar="KEY=VALUE",
                    help="distortions of the renderer at fixed strengths instead of a "
                         "preset's random mix, e.g. rotation=3 blur=0.65 jpeg=75 noise=0.02")
    ap.add_argument("--regions", action="store_true",
                    help="also where each page's squared error lies, and the SNR with timing "
                         "free per 200 ms (see the module docstring)")
    a = ap.parse_args(argv)
    style = {"grid_style": a.grid_style} if a.grid_style else {}
    if a.layout == "strip":  # the digitizer names a strip's lead II (it cannot read which)
        style["strip_lead"] = "II"
    if a.no_separators:
        style["separators"] = False
    if a.distort:
        style["distortions"] = {k: (int(v) if k == "jpeg" else float(v))
                                for k, v in (d.split("=", 1) for d in a.distort)}
    per_lead: dict[str, list] = {}
    exact, failed, pairs, regions = [], [], [], []
    for ecg_id in ptbxl_records(folds=[a.fold])[:a.n]:
        sig, fs, leads = load_ptbxl(ecg_id)
        image, truth = render(sig, fs, leads, layout=a.layout, dpi=a.dpi, preset=a.preset, seed=ecg_id, **style)
        try:
            rec = digitize(image)
        except DigitizeError as exc:  # scored 0 dB on every plotted lead, as digitize_accuracy does
            failed.append(f"ptbxl{ecg_id}: {exc}")
            for lead in truth.leads:
                if np.isfinite(truth.lead(lead)).any():
                    per_lead.setdefault(lead, []).append((0.0, np.nan, np.nan, np.nan))
            continue
        c, ct = rec.calibration, truth.calibration
        exact.append(abs(c.px_per_mm / ct.px_per_mm - 1) < 0.005 and c.mm_per_mv == ct.mm_per_mv
                     and c.mm_per_s == ct.mm_per_s)
        score = score_record(rec, truth)
        px_per_sample = ct.px_per_mm * ct.mm_per_s / truth.fs
        page_regions, snr_free = np.zeros(3), []
        for lead, s in score.leads.items():
            if lead not in rec.leads:  # a layout misread: the score counts the lead as 0 dB
                per_lead.setdefault(lead, []).append((s.snr, np.nan, np.nan, np.nan))
                continue
            f, snr_f = fractional_lag(rec.lead(lead), truth.lead(lead), s.lag)
            pairs.append((s.snr, ecg_id, lead, *largest_error(rec.lead(lead), truth.lead(lead), s.lag)))
            per_lead.setdefault(lead, []).append((s.snr, s.lag + f, (s.lag + f) * px_per_sample, snr_f))
            if a.regions:
                page_regions += error_regions(rec.lead(lead), truth.lead(lead), s.lag, truth.fs)
                snr_free.append(windowed_shift_snr(rec.lead(lead), truth.lead(lead), s.lag, truth.fs))
        if a.regions:
            regions.append((score.snr, np.mean(snr_free), *(page_regions / page_regions.sum())))
    print(f"{a.n} fold-{a.fold} records, {a.layout}, {a.preset}, {a.dpi:g} dpi"
          f"{', ' + a.grid_style + ' grid' if a.grid_style else ''}"
          f"{', no separators' if a.no_separators else ''}"
          f"{', ' + ' '.join(a.distort) if a.distort else ''}; calibration exact on "
          f"{sum(exact)} of {len(exact)} pages read; {len(failed)} failed")
    for line in failed:
        print("  failed", line)
    print(f"{'lead':>5} {'SNR dB':>7} {'offset samples':>15} {'offset px':>10} {'SNR at offset':>14}")
    rows = np.array([v for vals in per_lead.values() for v in vals])
    for lead, vals in list(per_lead.items()) + [("all", rows)]:
        m = np.nanmean(np.asarray(vals, float), axis=0)
        print(f"{lead:>5} {m[0]:7.2f} {m[1]:15.2f} {m[2]:10.2f} {m[3]:14.2f}")
    print(f"offset std across all (record, lead) pairs: {np.nanstd(rows[:, 1]):.2f} samples")
    if regions:
        r = np.array(regions)
        print(f"squared error per page, share in steep stretches / the {END_S * 1000:.0f} ms at each "
              f"span's ends / elsewhere (mean over {len(r)} pages read): "
              f"{r[:, 2].mean():.0%} / {r[:, 3].mean():.0%} / {r[:, 4].mean():.0%}")
        print(f"SNR (mean over the pages read, offset removed per lead) {r[:, 0].mean():.2f} dB; "
              f"with each {WINDOW_S * 1000:.0f} ms free to shift +-{WINDOW_SHIFT} samples {r[:, 1].mean():.2f} dB")
    if a.worst:
        print(f"worst {a.worst} (record, lead) pairs: SNR dB, and the sample where |error| peaks "
              "(after the score's lag and offset), truth and reading there (mV)")
        for snr, ecg_id, lead, at, t_mv, e_mv in sorted(pairs)[:a.worst]:
            print(f"  ptbxl{ecg_id:<6} {lead:>4} {snr:6.2f}  sample {at:5d}: {t_mv:6.3f} read {e_mv:6.3f}")


if __name__ == "__main__":
    main()

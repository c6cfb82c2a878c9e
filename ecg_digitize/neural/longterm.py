"""Long-term ECG image segmentation of PVC (V) and fusion (F) beats.

After Hernandez-Fernandez et al., "Long-term ECG image segmentation", CinC 2023: a long
single-lead ECG is cut into rows of a fixed number of samples and the rows are stacked
into a square matrix, shown as a heat map. A segmentation network (DeepLabv3+-style, with
atrous spatial pyramid pooling, small backbone trained from scratch) labels every pixel
(= every sample) as other / V / F, and the mask maps back to sample ranges.

Choices made here (documented in ``docs/image_branch.md``):

- the signal is band-passed (0.5-40 Hz) and resampled to :data:`FS_IMAGE` = 64 Hz (QRS
  complexes keep 5-10 samples; CPU training stays in minutes); one row holds
  :data:`ROW` = 64 samples (1 s), one image :data:`ROWS` = 64 rows (64 s),
  so the pixel above a sample is the sample one second earlier (a built-in RR context);
- the network reads the normalised amplitude matrix itself (one channel); the colour
  heat map is a display of the same numbers;
- a beat's extent is 0.2 s before to 0.3 s after its R peak, cut at the midpoints to its
  neighbours;
- long signals are covered by windows overlapping by half and the class probabilities
  averaged per sample.

Examples
--------
>>> import numpy as np
>>> from ecg_digitize.neural.longterm import to_image, from_image, ROWS, ROW
>>> x = np.arange(1000.0)
>>> img = to_image(x)
>>> img.shape == (ROWS, ROW) and np.array_equal(from_image(img, 1000), x)
True
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FS_IMAGE = 64.0             # samples per second in the image
ROW = 64                    # samples per image row (1 s)
ROWS = 64                   # rows per image (64 s per image)
WINDOW = ROW * ROWS         # samples per image
CLASSES = ("other", "V", "F")
BEAT_PRE, BEAT_POST = 0.2, 0.3   # beat extent around the R peak, seconds
MODEL_NAME = "longterm-vf"


def default_model_path() -> Path:
    """``pretrained/longterm-vf.keras``."""
    from ._keras import PRETRAINED

    return PRETRAINED / f"{MODEL_NAME}.keras"


# ------------------------------------------------------------------ signal <-> image
def preprocess(signal, fs: float) -> np.ndarray:
    """Band-pass 0.5-40 Hz at the native rate, resample to :data:`FS_IMAGE`; NaN -> 0.

    Reuses the classifiers' preparation so both branches see signals alike.
    """
    from ..processing import bandpass, resample

    x = np.asarray(signal, dtype=float).ravel()
    x = bandpass(x, fs)
    x = np.nan_to_num(x, nan=0.0)
    return resample(x, fs, FS_IMAGE).astype(np.float32)


def normalize(x: np.ndarray) -> np.ndarray:
    """Centre on the median and scale by the 99th percentile of |x|; clip to +-3.

    Per window, so the image does not depend on the recording's gain.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    c = x - np.median(x)
    scale = float(np.percentile(np.abs(c), 99))
    return np.clip(c / max(scale, 1e-6), -3.0, 3.0).astype(np.float32)


def to_image(x: np.ndarray, rows: int = ROWS, row: int = ROW, fill: float = 0.0) -> np.ndarray:
    """Stack ``x`` into a ``rows x row`` matrix, row after row, padding the end with ``fill``.

    Examples
    --------
    >>> to_image(np.arange(6.0), rows=2, row=4)
    array([[0., 1., 2., 3.],
           [4., 5., 0., 0.]])
    """
    x = np.asarray(x)
    out = np.full(rows * row, fill, dtype=x.dtype)
    n = min(x.size, rows * row)
    out[:n] = x[:n]
    return out.reshape(rows, row)


def from_image(img: np.ndarray, n: int | None = None) -> np.ndarray:
    """Inverse of :func:`to_image`: the first ``n`` samples of the row-major matrix."""
    flat = np.asarray(img).reshape(-1, *np.asarray(img).shape[2:])
    return flat if n is None else flat[:n]


def heatmap(img: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """Colour the normalised matrix (values in +-3) as an RGB uint8 heat map."""
    import matplotlib

    v = (np.clip(img, -3, 3) + 3) / 6
    return (matplotlib.colormaps[cmap](v)[..., :3] * 255).astype(np.uint8)


# ------------------------------------------------------------------ beats <-> masks
def beat_windows(r_peaks, n: int, fs: float, pre: float = BEAT_PRE,
                 post: float = BEAT_POST) -> np.ndarray:
    """``(k, 2)`` start/stop (exclusive) of each beat, cut at midpoints to its neighbours.

    Examples
    --------
    >>> beat_windows([100, 400], 1000, 100.0).tolist()
    [[80, 131], [380, 431]]
    """
    r = np.asarray(r_peaks, dtype=int)
    if r.size == 0:
        return np.zeros((0, 2), dtype=int)
    a = r - int(round(pre * fs))
    b = r + int(round(post * fs)) + 1
    mid = (r[:-1] + r[1:]) // 2
    a[1:] = np.maximum(a[1:], mid + 1)
    b[:-1] = np.minimum(b[:-1], mid + 1)
    return np.stack([np.clip(a, 0, n), np.clip(b, 0, n)], axis=1)


def label_vector(n: int, r_peaks, codes, fs: float) -> np.ndarray:
    """Per-sample class codes (0 other, 1 V, 2 F) from beat positions and codes."""
    out = np.zeros(n, dtype=np.uint8)
    for (a, b), c in zip(beat_windows(r_peaks, n, fs), np.asarray(codes, dtype=int)):
        if c:
            out[a:b] = c
    return out


def mask_to_ranges(codes: np.ndarray, min_len: int = 1) -> list[tuple[int, int, int]]:
    """Runs of equal non-zero codes as ``(start, stop, code)``, stop exclusive.

    Examples
    --------
    >>> mask_to_ranges(np.array([0, 1, 1, 0, 2, 2, 2, 1]))
    [(1, 3, 1), (4, 7, 2), (7, 8, 1)]
    >>> mask_to_ranges(np.array([0, 1, 1, 0, 2, 2, 2, 1]), min_len=2)
    [(1, 3, 1), (4, 7, 2)]
    """
    c = np.asarray(codes).ravel()
    if c.size == 0:
        return []
    edges = np.flatnonzero(np.diff(c)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [c.size]])
    return [(int(a), int(b), int(c[a])) for a, b in zip(starts, stops)
            if c[a] != 0 and b - a >= min_len]


def window_starts(n: int, window: int = WINDOW, stride: int | None = None) -> list[int]:
    """Starts of windows covering ``n`` samples with the given stride; the last ends at ``n``.

    Examples
    --------
    >>> window_starts(10, window=4, stride=2)
    [0, 2, 4, 6]
    >>> window_starts(3, window=4)
    [0]
    """
    stride = stride or window // 2
    if n <= window:
        return [0]
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    return starts


# ------------------------------------------------------------------ patient context
CONTEXT_PRE, CONTEXT_POST = 0.25, 0.45   # template extent around the R peak, seconds
CONTEXT_BEATS = 81                        # running median over 40 beats each side


def detect_r_peaks(signal, fs: float) -> np.ndarray:
    """R peaks with neurokit2 after the 0.5-40 Hz band-pass (as ``classify_beats`` finds them).

    Returns sample indices (empty for a signal under 2 s or one neurokit2 cannot read).
    """
    from ..processing import bandpass, find_r_peaks

    return find_r_peaks(np.nan_to_num(bandpass(np.asarray(signal, dtype=float).ravel(), fs)), fs)


def context_channel(x: np.ndarray, r_peaks, window: int = CONTEXT_BEATS) -> np.ndarray:
    """Each beat minus the patient's usual beat, at :data:`FS_IMAGE` (0 between beats).

    The usual beat is the running median of the ``window`` beats around each beat (same
    recording), over 0.25 s before to 0.45 s after the R peak; each beat's span is cut at
    the midpoints to its neighbours. A wide but usual beat (bundle-branch block) leaves
    little here; an ectopic beat leaves its difference from the patient's normal one.

    Parameters
    ----------
    x : ndarray
        Preprocessed signal at :data:`FS_IMAGE` (:func:`preprocess`).
    r_peaks : array-like of int
        R peaks in samples of ``x``.

    Examples
    --------
    >>> x = np.zeros(640, np.float32); r = np.arange(20, 620, 40)
    >>> x[r] = 1.0; x[r[7] + 3] = 2.0                      # one beat unlike the others
    >>> c = context_channel(x, r)
    >>> float(np.abs(c).max()), bool(np.argmax(np.abs(c)) == r[7] + 3)
    (2.0, True)
    """
    from scipy.ndimage import median_filter

    x = np.asarray(x, dtype=np.float32)
    r = np.asarray(r_peaks, dtype=int)
    r = r[(r >= 0) & (r < x.size)]
    out = np.zeros_like(x)
    if r.size == 0:
        return out
    pre, post = int(round(CONTEXT_PRE * FS_IMAGE)), int(round(CONTEXT_POST * FS_IMAGE))
    padded = np.concatenate([np.zeros(pre, np.float32), x, np.zeros(post + 1, np.float32)])
    idx = r[:, None] + np.arange(pre + post + 1)[None, :]
    beats = padded[idx]
    size = min(window, r.size if r.size % 2 else r.size - 1)
    template = median_filter(beats, size=(max(size, 1), 1), mode="reflect")
    diff = beats - template
    win = beat_windows(r, x.size, FS_IMAGE, pre=CONTEXT_PRE, post=CONTEXT_POST)
    for i, (a, b) in enumerate(win):
        out[a:b] = diff[i, a - r[i] + pre:b - r[i] + pre]
    return out


def window_input(x: np.ndarray, context: np.ndarray | None, start: int) -> np.ndarray:
    """One network input ``(ROWS, ROW, channels)`` from the window at ``start``.

    Channel 0 is :func:`normalize` of the signal; channel 1 (when ``context`` is given)
    is the context divided by the same window scale.
    """
    w = np.asarray(x[start:start + WINDOW], dtype=np.float32)
    img = to_image(normalize(w))
    if context is None:
        return img[..., None]
    c = w - np.median(w) if w.size else w
    scale = max(float(np.percentile(np.abs(c), 99)) if w.size else 1.0, 1e-6)
    ctx = np.clip(np.asarray(context[start:start + WINDOW], np.float32) / scale, -3, 3)
    return np.stack([img, to_image(ctx)], axis=-1)


def model_channels(model) -> int:
    """Input channels a segmenter reads (1: the image; 2: image and patient context)."""
    shape = getattr(model, "input_shape", None)
    return int(shape[-1]) if shape else 1


# ------------------------------------------------------------------ network
def build_model(base: int = 8, rates=(3, 6, 12), n_classes: int = len(CLASSES),
                channels: int = 1):
    """DeepLabv3+-style segmenter for ``ROWS x ROW`` heat maps.

    Backbone: two full-resolution convolutions, then two stages that halve the time axis
    (rows keep full resolution: each row is a separate second); ASPP with a 1x1 branch,
    3x3 branches dilated ``(1, r)`` along time, and an image-pooling branch; a decoder
    that upsamples and joins the full-resolution features. About 50 k parameters at
    ``base=8``. ``channels=2`` adds the patient-context channel (:func:`context_channel`).

    Examples
    --------
    >>> m = build_model()  # doctest: +SKIP
    >>> m.output_shape  # doctest: +SKIP
    (None, 64, 64, 3)
    """
    from ._keras import conv_bn, keras_setup

    keras = keras_setup()
    from keras import layers

    inp = keras.Input((ROWS, ROW, channels), name="heatmap")
    s = conv_bn(inp, base, name="stem1")
    s = conv_bn(s, base, name="stem2")
    x = conv_bn(s, 2 * base, strides=(1, 2), name="down1")
    y = conv_bn(x, 2 * base, name="res1a")
    x = layers.Add(name="res1_add")([x, conv_bn(y, 2 * base, name="res1b")])
    x = conv_bn(x, 4 * base, strides=(1, 2), name="down2")
    y = conv_bn(x, 4 * base, name="res2a")
    x = layers.Add(name="res2_add")([x, conv_bn(y, 4 * base, name="res2b")])
    # ASPP: receptive fields from one beat to several along time, plus the whole image.
    branches = [conv_bn(x, 2 * base, kernel=1, name="aspp_1x1")]
    for r in rates:
        branches.append(conv_bn(x, 2 * base, dilation=(1, r), name=f"aspp_r{r}"))
    pool = layers.GlobalAveragePooling2D(keepdims=True, name="aspp_pool")(x)
    pool = conv_bn(pool, 2 * base, kernel=1, name="aspp_pool_proj")
    branches.append(layers.UpSampling2D((ROWS, ROW // 4), name="aspp_pool_up")(pool))
    x = layers.Concatenate(name="aspp_cat")(branches)
    x = conv_bn(x, 2 * base, kernel=1, name="aspp_proj")
    x = layers.UpSampling2D((1, 4), interpolation="bilinear", name="dec_up")(x)
    x = layers.Concatenate(name="dec_cat")([x, s])
    x = conv_bn(x, 2 * base, name="dec1")
    out = layers.Conv2D(n_classes, 1, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="longterm_deeplab")


def predict_probabilities(x: np.ndarray, model, batch_size: int = 8,
                          context: np.ndarray | None = None) -> np.ndarray:
    """Per-sample class probabilities ``(n, 3)`` of a preprocessed signal at :data:`FS_IMAGE`.

    Windows overlap by half; overlapping probabilities are averaged. ``context``
    (:func:`context_channel`) is the second input channel of a two-channel model.
    """
    n = x.size
    starts = window_starts(n)
    imgs = np.stack([window_input(x, context, s) for s in starts])
    probs = np.asarray(model.predict(imgs, batch_size=batch_size, verbose=0))
    acc = np.zeros((max(n, WINDOW), probs.shape[-1]), dtype=np.float32)
    cnt = np.zeros(max(n, WINDOW), dtype=np.float32)
    for s, p in zip(starts, probs):
        acc[s:s + WINDOW] += from_image(p)
        cnt[s:s + WINDOW] += 1
    return (acc / np.maximum(cnt, 1)[:, None])[:n]


def probabilities_to_ranges(probs: np.ndarray, fs: float, n: int,
                            min_duration: float = 0.04) -> list[tuple[int, int, str]]:
    """The image route's ranges: arg-max runs of per-sample probabilities at :data:`FS_IMAGE`.

    Parameters
    ----------
    probs : ndarray, shape (m, 3)
        Output of :func:`predict_probabilities`.
    fs : float
        Rate of the input signal, whose samples the ranges count.
    n : int
        Length of the input signal (the last range is clipped to it).
    min_duration : float
        Shorter runs (seconds) are dropped as speckle.

    Examples
    --------
    >>> p = np.zeros((64, 3)); p[:, 0] = 1; p[10:20] = (0, 1, 0)
    >>> probabilities_to_ranges(p, 128.0, 128)
    [(20, 40, 'V')]
    """
    codes = np.asarray(probs).argmax(axis=1)
    scale = fs / FS_IMAGE
    out = []
    for a, b, c in mask_to_ranges(codes, min_len=max(1, int(round(min_duration * FS_IMAGE)))):
        out.append((int(round(a * scale)), min(n, int(round(b * scale))), CLASSES[c]))
    return out


def image_beat_probabilities(probs: np.ndarray, r_peaks, fs: float) -> np.ndarray:
    """Mean image-route probability (other, V, F) over each beat's extent, ``(k, 3)``.

    ``r_peaks`` are samples at ``fs``; the extent is :func:`beat_windows` at
    :data:`FS_IMAGE` (the extent the network was trained to mark).

    Examples
    --------
    >>> p = np.zeros((640, 3)); p[:, 0] = 1; p[300:340] = (0, 1, 0)
    >>> image_beat_probabilities(p, [100, 320], 64.0).round(2).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    probs = np.asarray(probs, dtype=np.float32)
    r = np.round(np.asarray(r_peaks, dtype=float) * FS_IMAGE / fs).astype(int)
    win = beat_windows(r, probs.shape[0], FS_IMAGE)
    csum = np.concatenate([np.zeros((1, probs.shape[1]), np.float64), np.cumsum(probs, 0)])
    length = np.maximum(win[:, 1] - win[:, 0], 1)[:, None]
    out = (csum[win[:, 1]] - csum[win[:, 0]]) / length
    empty = win[:, 1] <= win[:, 0]
    out[empty] = (1.0, 0.0, 0.0)
    return out.astype(np.float32)


def combine_routes(image_probs: np.ndarray, beat_probs: np.ndarray) -> np.ndarray:
    """Per-beat combination of the two routes, ``(k, 3)`` probabilities of other / V / F.

    *Ectopic or not* is a product of experts: the normalised geometric mean of the
    image route's P(V) + P(F) (averaged over the beat, :func:`image_beat_probabilities`)
    and the beat network's, against that of their P(other) (the beat network's N + S + Q).
    A confident image call on a wide normal beat (bundle-branch block) is outvoted by a
    beat network that compares the beat with the patient's own usual beat, and a PVC the
    image nearly missed is kept when the beat network is sure. *V or F* is the beat
    network's: it sees the patient's template, and the image network, trained on DS1's 415
    fusion beats, hardly knows F. Use :func:`combined_labels` for the label (ectopic when
    P(other) < 0.5, then the larger of V and F).

    Examples
    --------
    >>> img = np.array([[0.3, 0.7, 0.0], [0.1, 0.9, 0.0], [0.2, 0.8, 0.0]])
    >>> beat = np.array([[0.98, 0.02, 0.0], [0.05, 0.95, 0.0], [0.1, 0.2, 0.7]])
    >>> combined_labels(combine_routes(img, beat)).tolist()
    [0, 1, 2]
    """
    pi = np.asarray(image_probs, dtype=float)
    pb = np.asarray(beat_probs, dtype=float)
    e_i = np.clip(pi[:, 1] + pi[:, 2], 1e-6, 1 - 1e-6)
    e_b = np.clip(pb[:, 1] + pb[:, 2], 1e-6, 1 - 1e-6)
    yes, no = np.sqrt(e_i * e_b), np.sqrt((1 - e_i) * (1 - e_b))
    ectopic = yes / (yes + no)
    share_f = pb[:, 2] / np.maximum(pb[:, 1] + pb[:, 2], 1e-9)
    return np.stack([1 - ectopic, ectopic * (1 - share_f), ectopic * share_f],
                    axis=1).astype(np.float32)


def combined_labels(probs: np.ndarray) -> np.ndarray:
    """Class codes (0 other, 1 V, 2 F) of :func:`combine_routes` probabilities.

    Examples
    --------
    >>> combined_labels(np.array([[0.45, 0.3, 0.25], [0.6, 0.4, 0.0]])).tolist()
    [1, 0]
    """
    p = np.asarray(probs)
    return np.where(p[:, 0] >= 0.5, 0, np.where(p[:, 2] > p[:, 1], 2, 1))


def segment_image(signal, fs: float, *, model=None, min_duration: float = 0.04, r_peaks=None,
                  return_probabilities: bool = False):
    """The image route: PVC (``"V"``) and fusion (``"F"``) ranges a segmentation network
    marks on a long single-lead ECG stacked into 64 x 64 images (one row = 1 s).

    On unseen MIT-BIH patients this route alone finds PVCs but also marks the wide normal
    beats of bundle-branch block as V (DS2 V Se 95.8 / +P 37.0 %);
    :func:`classifiers.segment_long_term` checks it with the beat network (the default
    users get; see ``pretrained/longterm-vf.md``).

    Parameters
    ----------
    signal : array-like, shape (n,)
        One lead in millivolts (any gain works: each image is normalised); NaN reads as 0.
    fs : float
        Sampling rate in Hz.
    model : keras.Model or str, optional
        The segmenter or a ``.keras`` path; default ``pretrained/longterm-vf.keras``.
    min_duration : float
        Shorter runs (seconds) are dropped as speckle.
    r_peaks : array-like of int, optional
        R-peak samples, for a network with a patient-context channel (detected with
        neurokit2 when needed and omitted).
    return_probabilities : bool
        Also return the per-sample probabilities at :data:`FS_IMAGE` (``(m, 3)``).

    Returns
    -------
    list of (int, int, str)
        ``(start, end, label)`` in samples of ``signal`` (end exclusive), in time order
        (one beat may give more than one range); and the probabilities when asked for.

    Examples
    --------
    >>> from ecg_digitize.neural.longterm import segment_image
    >>> segs = segment_image(x, 360)  # doctest: +SKIP
    """
    from ._keras import load_pretrained

    if model is None or isinstance(model, (str, Path)):
        model = load_pretrained(str(model or default_model_path()))
    x = preprocess(signal, fs)
    context = None
    if model_channels(model) > 1:
        peaks = np.asarray(r_peaks, int) if r_peaks is not None else detect_r_peaks(signal, fs)
        context = context_channel(x, np.round(peaks * FS_IMAGE / fs).astype(int))
    probs = predict_probabilities(x, model, context=context)
    segs = probabilities_to_ranges(probs, fs, np.asarray(signal).size, min_duration)
    return (segs, probs) if return_probabilities else segs


# ------------------------------------------------------------------ display
def plot_long_term(signal, fs: float, segments=None, *, start: float = 0.0, truth=None,
                   ax=None, title: str | None = None):
    """Show one 64 s heat-map image with predicted (and optionally true) V/F outlines.

    Parameters
    ----------
    signal, fs : array-like, float
        The long ECG.
    segments : list of (start, end, label), optional
        V / F ranges in samples of ``signal`` (:func:`classifiers.segment_long_term`,
        both routes); the image route's (:func:`segment_image`) if omitted.
    start : float
        Seconds into the signal where the image begins.
    truth : list of (start, end, label), optional
        Reference ranges drawn as dashed outlines.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if segments is None:
        segments = segment_image(signal, fs)
    x = preprocess(signal, fs)
    s0 = int(round(start * FS_IMAGE))
    img = to_image(normalize(x[s0:s0 + WINDOW]))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(heatmap(img), interpolation="nearest", aspect="auto")
    colors = {"V": "white", "F": "magenta"}

    def draw(segs, style):
        for a, b, lab in segs:
            a, b = int(a * FS_IMAGE / fs) - s0, int(b * FS_IMAGE / fs) - s0
            for lo in range(max(a, 0), min(b, WINDOW)):  # a range may wrap over rows
                r, c = divmod(lo, ROW)
                if lo == max(a, 0) or c == 0:
                    stop = min(b, WINDOW, (r + 1) * ROW)
                    ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), stop - lo, 1, fill=False,
                                               ec=colors.get(lab, "k"), lw=1.0, ls=style))
    if truth is not None:
        draw(truth, "--")
    draw(segments, "-")
    ax.set_xlabel(f"sample in row ({FS_IMAGE:.0f} Hz, 1 row = {ROW / FS_IMAGE:.0f} s)")
    ax.set_ylabel("row")
    ax.set_title(title or "long-term ECG image: V white, F magenta (dashed: reference)")
    return ax


OVERVIEW_COLOURS = {"V": "#d62728", "F": "#1f77b4"}
_ROW_CHOICES = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


def overview_row_seconds(duration: float, max_rows: int = 24) -> float:
    """Row length for :func:`plot_overview`: the shortest of 10 s ... 1 h giving at most
    ``max_rows`` rows (a 24 h Holter: one hour per row; 30 min: 2 min per row).

    Examples
    --------
    >>> overview_row_seconds(24 * 3600), overview_row_seconds(1800), overview_row_seconds(20)
    (3600.0, 120.0, 10.0)
    """
    for s in _ROW_CHOICES:
        if duration / s <= max_rows:
            return s
    return float(np.ceil(duration / max_rows / 3600.0) * 3600.0)


def plot_overview(signal, fs: float, segments=None, *, row_seconds: float | None = None,
                  ax=None, title: str | None = None):
    """Whole-recording overview: time in rows (hours for a Holter), V / F marks in colour.

    Each row is ``row_seconds`` of the recording, read left to right and top to bottom.
    The ECG is drawn in grey as its envelope (minimum and maximum per column), each V
    range as a red and each F range as a blue mark across its row, and the row's V and F
    counts are written at its right end, so the burden and its timing (clusters, night
    and day) are seen at a glance.

    Parameters
    ----------
    signal : array-like, shape (n,)
        One lead.
    fs : float
        Sampling rate in Hz.
    segments : list of (start, end, label), optional
        V / F ranges in samples of ``signal`` (:func:`classifiers.segment_long_term`,
        both routes); the image route's (:func:`segment_image`) if omitted.
    row_seconds : float, optional
        Seconds per row; default :func:`overview_row_seconds` (at most 24 rows).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure sized to the rows otherwise.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> x = np.sin(np.linspace(0, 600, 36000))
    >>> ax = plot_overview(x, 60.0, [(600, 630, "V"), (20000, 20030, "F")])
    >>> bool(ax.get_ylim()[0] > ax.get_ylim()[1])   # first row at the top
    True
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    x = np.nan_to_num(np.asarray(signal, dtype=float).ravel())
    n = x.size
    if segments is None:
        segments = segment_image(x, fs)
    duration = n / fs
    row_seconds = float(row_seconds or overview_row_seconds(duration))
    rows = max(1, int(np.ceil(duration / row_seconds)))
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 1.0 + 0.45 * rows))
    # envelope: min / max of the centred signal in ~2000 columns per row
    per_row = int(round(row_seconds * fs))
    cols = 2000
    step = max(1, per_row // cols)
    c = x - np.median(x) if n else x
    scale = float(np.percentile(np.abs(c), 99.5)) if n else 1.0
    c = np.clip(c / max(scale, 1e-9), -1.5, 1.5) * 0.3
    m = (n // step) * step
    if m:
        blocks = c[:m].reshape(-1, step)
        t = np.arange(blocks.shape[0]) * step / fs
        lo, hi = blocks.min(1), blocks.max(1)
        r = np.floor(t / row_seconds)
        tx = t - r * row_seconds
        ax.vlines(tx, r - hi, r - lo, colors="0.55", lw=0.5)
    counts = np.zeros((rows, 2), int)
    lines, colours = [], []
    for a, b, lab in segments:
        if lab not in OVERVIEW_COLOURS:
            continue
        mid = 0.5 * (a + b) / fs
        r = min(int(mid // row_seconds), rows - 1)
        counts[r, 0 if lab == "V" else 1] += 1
        tx = mid - r * row_seconds
        lines.append([(tx, r - 0.42), (tx, r + 0.42)])
        colours.append(OVERVIEW_COLOURS[lab])
    if lines:
        ax.add_collection(LineCollection(lines, colors=colours, linewidths=1.2, alpha=0.8))
    for r in range(rows):
        ax.text(row_seconds * 1.005, r, f"V {counts[r, 0]}  F {counts[r, 1]}", va="center",
                fontsize=8)
    ax.set_xlim(0, row_seconds * 1.1)
    ax.set_ylim(rows - 0.5, -0.5)
    unit, div = ("h", 3600.0) if row_seconds >= 3600 else ("min", 60.0) if row_seconds >= 60 \
        else ("s", 1.0)
    ax.set_yticks(range(rows))
    ax.set_yticklabels([f"{r * row_seconds / div:g} {unit}" for r in range(rows)], fontsize=8)
    ax.set_xlabel(f"seconds into the row (1 row = {row_seconds / div:g} {unit})")
    total = counts.sum(0)
    ax.set_title(title or f"long-term overview: {total[0]} V (red), {total[1]} F (blue), "
                          f"{duration / 3600:.2f} h")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax

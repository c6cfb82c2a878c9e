"""Stage 6: one sub-pixel path per row."""
import cv2
import numpy as np

from ecg_digitize.digitizer import extract
from stage_helpers import pen_drawing


def test_trace_row_follows_a_known_curve():
    mask = np.zeros((200, 600), bool)
    x = np.arange(600)
    y = np.round(100 + 40 * np.sin(x / 30)).astype(int)
    for dy in (0, 1):
        mask[y + dy, x] = True
    mask[20:40, 300:320] = True  # a label-like blob far from the path
    tr = extract.trace_row(mask, mask.astype(np.float32), 0, 199, 100.0, 0, 599, px_per_mm=8.0)
    assert np.isfinite(tr.y).mean() > 0.99
    assert np.nanmax(np.abs(tr.y - (y + 0.5))) < 1.5


def test_path_keeps_a_narrow_spikes_tip_over_its_foot():
    # A 140 px spike whose strokes bend where they leave the baseline: in the tip's column
    # the two strokes part, leaving the tip's run and, below a white gap, a short run at
    # the foot. Both touch the neighbouring columns' runs; the path must take the tip.
    dark = pen_drawing((180, 100), [[5.0, 150.0], [43.0, 150.0], [48.0, 110.0], [50.0, 10.0],
                                     [52.0, 110.0], [57.0, 150.0], [95.0, 150.0]])
    runs = extract.column_runs(dark[:, 50:51] > 0.5)
    assert len(runs[0]) == 2                     # the tip and the foot, apart
    row = extract.trace_row(dark > 0.5, dark, 0, 179, 150.0, 0, 99, px_per_mm=8.0)
    assert row.top[50] < 15
    assert abs(np.interp(50.0, row.px, row.py) - 10.0) < 1.5


def test_spike_apex_between_two_columns_is_read_there():
    # A spike whose apex lies on a column boundary reaches the same height in two columns:
    # the apex is read between them, and the strokes either side symmetrically.
    for tip_x in (50.0, 50.5):
        dark = pen_drawing((180, 100), [[5.0, 150.0], [tip_x - 7, 150.0], [tip_x - 2, 110.0],
                                         [tip_x, 10.0], [tip_x + 2, 110.0], [tip_x + 7, 150.0],
                                         [95.0, 150.0]])
        row = extract.trace_row(dark > 0.5, dark, 0, 179, 150.0, 0, 99, px_per_mm=8.0)
        left, apex, right = np.interp([tip_x - 0.5, tip_x, tip_x + 0.5], row.px, row.py)
        assert abs(apex - 10.0) < 1.5
        assert abs(left - 35.0) < 3 and abs(right - 35.0) < 3   # the strokes' true y there


def test_separator_tick_is_not_read_as_the_next_leads_start():
    # At a lead change the previous lead ends 10 px below the baseline, the next starts
    # 25 px above it, beyond the end of the 20 px tick: the tick's bottom end is no
    # trough of the next lead, whose first samples read its own level.
    base, xb = 100.0, 60.3
    dark = pen_drawing((160, 120), [[5, base + 10], [xb - 0.4, base + 10]],
                        [[xb, base - 25], [xb + 40, base - 25]], [[xb, base - 20], [xb, base + 20]])
    row = extract.trace_row(dark > 0.5, dark, 0, 159, base, 0, 119, px_per_mm=8.0)
    row = extract.redraw_at_lead_changes(row, dark > 0.5, dark, [xb])
    start = np.interp([xb + 1.0, xb + 1.5], row.px, row.py)
    assert np.all(np.abs(start - (base - 25)) < [3.0, 1.5])


def test_path_follows_a_deep_s_wave_to_the_lead_change():
    # The previous lead ends on a deep S wave, 70 px below the baseline; the next starts
    # near the baseline: the path must jump at the lead change, not leave the S wave early.
    base, xb = 100.0, 60.3
    dark = pen_drawing((200, 120), [[5, base], [xb - 6, base], [xb - 0.4, base + 70]],
                        [[xb, base - 5], [xb + 40, base - 5]], [[xb, base - 20], [xb, base + 20]])
    row = extract.trace_row(dark > 0.5, dark, 0, 199, base, 0, 119, px_per_mm=8.0)
    row = extract.redraw_at_lead_changes(row, dark > 0.5, dark, [xb])
    assert row.py[row.px < xb].max() > base + 65
    assert abs(np.interp(xb - 2, row.px, row.py) - (base + 50)) < 3


def test_merged_spike_strokes_are_placed_to_a_fraction_of_a_pixel():
    # A narrow spike drawn like the renderer (OpenCV anti-aliased, 2 px pen): its up- and
    # down-strokes share columns and merge into one run across each image row.
    dark = pen_drawing((130, 100), [[5.0, 100.0], [48.0, 100.0], [50.5, 20.0], [53.0, 100.0],
                                     [95.0, 100.0]])
    row = extract.trace_row(dark > 0.5, dark, 0, 129, 100.0, 0, 99, px_per_mm=8.0)
    errors = []
    for y in range(30, 91):
        at = row.px[np.abs(row.py - y) < 0.01]
        if len(at) < 2:
            continue
        up = 48.0 + (100 - y) / 80 * 2.5
        down = 53.0 - (100 - y) / 80 * 2.5
        errors += [abs(at.min() - up), abs(at.max() - down)]
    assert len(errors) >= 8
    assert np.mean(errors) < 0.1 and np.max(errors) < 0.25


def test_a_lopsided_spikes_merged_tip_is_read_from_its_strokes():
    """A spike rising over 4 px and falling over 1.5, drawn with a 4 px pen and blurred
    (a photo): for its top rows both strokes run as one, whose centre lies near the
    fall. Those rows' crossings are left out, so the rise runs straight to the apex
    (0.5 px before it the path read 52 px, 22 px below the stroke)."""
    tip = 50.0
    dark = pen_drawing((140, 100), [[5.0, 100.0], [tip - 4, 100.0], [tip, 20.0], [tip + 1.5, 100.0],
                                     [tip + 4.5, 120.0], [tip + 6.5, 100.0], [95.0, 100.0]], pen_px=4)
    dark = cv2.GaussianBlur(dark, (0, 0), 0.8)
    row = extract.trace_row(dark > 0.5, dark, 0, 139, 100.0, 0, 99, px_per_mm=8.0)
    before = np.interp([tip - 0.5, tip - 0.25, tip], row.px, row.py)
    assert np.all(np.abs(before - [30.0, 25.0, 20.0]) < [2.0, 1.5, 1.5])


def test_neighbouring_rows_do_not_climb_each_others_strokes():
    # a deep S wave of the upper row meets the R wave of the row below in the same columns
    ink = np.zeros((200, 400), np.uint8)
    s_wave = np.array([[0, 60], [190, 60], [196, 116], [202, 60], [399, 60]], np.int32)
    r_wave = np.array([[0, 140], [194, 140], [199, 95], [204, 140], [399, 140]], np.int32)
    mask = cv2.polylines(ink, [s_wave, r_wave], False, 255, 2) > 0
    upper = extract.trace_row(mask, mask * 1.0, 0, 140, 60.0, 0, 399, px_per_mm=8.0)
    lower = extract.trace_row(mask, mask * 1.0, 60, 199, 140.0, 0, 399, px_per_mm=8.0)
    assert lower.py.min() < 80 and upper.py.max() > 130  # each took the other's strokes
    upper, lower = extract.separate_neighbours([upper, lower], [60.0, 140.0])
    assert lower.py.min() > 99 and np.nanmin(lower.y) > 99
    assert upper.py.max() < 110 and np.nanmax(upper.y) < 110
    flat = (upper.px < 180) | (upper.px > 215)
    assert np.all(np.abs(upper.py[flat] - 60.5) < 1.0)  # away from the crossing: untouched


def test_path_takes_the_credited_runs_where_two_paths_tie():
    # Two equally thick parallel lines 30 px either side of the baseline: the cheapest
    # path is a tie, which a credit for one line's runs settles (the row's own path wins
    # where a lead change's window is traced again).
    mask = np.zeros((100, 40), bool)
    mask[19:21, :] = True
    mask[79:81, :] = True
    cols, tops, bots = extract.column_runs(mask)
    lower = tops > 50
    for credited, row in ((lower, 79), (~lower, 19)):
        path = extract._viterbi(cols, tops, bots, 40, 50.0, 8.0, bonus=0.3 * credited)
        assert np.all(tops[path] == row)


def test_spike_tip_kept_over_a_grid_line_along_its_foot():
    # A 1-bit page's black grid line runs along the baseline under a narrow R wave whose
    # down-stroke breaks for a few rows: the line is a shortcut across the wave's foot
    # (9 columns at 8 px/mm), which the path must not take.
    base = 100.0
    dark = pen_drawing((140, 80), [[2.0, base], [30.0, base], [35.0, 60.0], [38.0, 20.0],
                                   [41.0, 60.0], [44.0, base], [78.0, base]])
    dark[int(base) - 1:int(base) + 1, :] = 1.0          # the grid line along the baseline
    dark[70:74, 40:44] = 0.0                             # the down-stroke broken
    mask = dark > 0.5
    row = extract.trace_row(mask, dark, 0, 139, base, 0, 79, px_per_mm=8.0)
    assert row.top[38] < 30


def test_path_at_a_lead_change_skips_a_speck_in_the_gap_rather_than_climb_it():
    # A printed lead-change bar lighter than the pen leaves only its top end in the ink,
    # 40 px above the trace, in the three columns where it crosses it; the next lead's
    # label has a letter whose stroke runs from just under that end down towards the
    # trace (khan2021 scans). The path must skip the gap on the trace, not climb the
    # speck and come down the letter.
    base, xb = 100.0, 60.0
    mask = np.zeros((160, 120), bool)
    mask[int(base) - 1:int(base) + 2, 5:59] = True                   # the previous lead
    mask[int(base) - 6:int(base) - 3, 62:115] = True                 # the next lead, 5 px higher
    mask[58, 59:62] = True                                           # the bar's top end
    for k in range(10):                                              # a letter's stroke
        mask[76 + 2 * k:78 + 2 * k, 62 + k] = True
    row = extract.trace_row(mask, mask * 1.0, 0, 159, base, 0, 119, px_per_mm=8.0)
    row = extract.redraw_at_lead_changes(row, mask, mask * 1.0, [xb])
    after = np.interp(np.arange(62.0, 75.0), row.px, row.py)
    assert np.all(np.abs(after - (base - 5)) < 2.0), after.round(1)


def test_a_label_printed_in_the_lead_changes_gap_is_not_read():
    # ECG-Image-Kit leaves the trace a gap of a few pixels at each lead change, where
    # header text or the next lead's label may stand (ecg-image-kit-photos ecg00018: the
    # interpretation's words 100 px above the trace). The redrawn path must not leap to
    # ink the trace does not reach.
    base, xb = 100.0, 60.0
    mask = np.zeros((160, 120), bool)
    mask[int(base) - 1:int(base) + 2, 5:58] = True                   # the previous lead
    mask[int(base) - 1:int(base) + 2, 61:115] = True                 # the next lead
    mask[10:14, 50:70] = True                                        # a word's bar, far above
    mask[130:136, 57:64] = True                                      # a label, below
    row = extract.trace_row(mask, mask * 1.0, 0, 159, base, 0, 119, px_per_mm=3.5)
    row = extract.redraw_at_lead_changes(row, mask, mask * 1.0, [xb])
    taken = np.isfinite(row.y)
    assert np.all(np.abs(row.y[taken] - base) < 2.0), row.y[50:66].round(1)


def test_a_column_the_path_skipped_under_a_spikes_top_is_filled():
    # A 1-bit spike: its apex column holds only the strokes' merged top (rows 10-50),
    # apart from the up-stroke's run on its left; the path took the columns either side.
    cols = np.array([0, 1, 2, 3, 4])
    tops = np.array([100, 60, 10, 55, 100])
    bots = np.array([101, 99, 50, 100, 101])
    chosen = np.array([0, 1, -1, 3, 4])
    extract._fill_skipped_columns(chosen, cols, tops, bots, 2.0)
    assert chosen.tolist() == [0, 1, 2, 3, 4]
    # ink far from both neighbours' runs, or a speck, is no part of the trace
    for top, bot in ((10, 20), (52, 52)):
        chosen = np.array([0, 1, -1, 3, 4])
        extract._fill_skipped_columns(chosen, cols, np.array([100, 60, top, 70, 100]),
                                      np.array([101, 99, bot, 100, 101]), 2.0)
        assert chosen[2] == -1


def test_a_spike_tip_a_threshold_broke_off_is_joined_by_its_faint_ink():
    # A low-resolution page: a narrow R wave's tip (column 15) stands apart from its
    # strokes (columns 14 and 16) by three rows fainter than the ink's threshold. The
    # path skips the tip's column unless that faint ink bridges the gap.
    dark = np.zeros((60, 30))
    dark[40, :] = 1.0                       # the baseline's trace
    dark[30:41, [14, 16]] = 1.0             # the strokes
    dark[40, 15] = 0.0                      # (their feet part in the tip's column)
    dark[10:27, 15] = 1.0                   # the tip
    dark[27:30, 15] = 0.6                   # its faint stretch
    mask = dark > 0.7

    def apex(bridges):
        row = extract.trace_row(mask, dark, 0, 59, 40.0, 0, 29, px_per_mm=3.0, faint_bridges=bridges)
        return float(np.min(row.py))
    assert apex(False) > 25                 # read cut off where the strokes part
    assert apex(True) < 12

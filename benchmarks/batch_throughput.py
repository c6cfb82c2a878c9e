"""Batch engine throughput, overhead and memory on rendered pages, with the real digitize().

Three measurements (issue 5 targets in brackets):

1. plain ``digitize(path)`` in this process, one thread, seconds per page (the baseline),
   and the time ``write_record`` adds (WFDB + JSON);
2. ``convert()`` with the local engine at 1 and 2 workers over the same pages:
   pages/s, scaling 2 vs 1 [>= 1.7x], and engine overhead per page [<= 10 %], reported
   two ways: against the plain run of step 1 (wall and CPU), and, less sensitive to the
   load of a shared machine, in the same worker processes: the engine's CPU (main process
   + workers) minus the CPU digitize() itself used in the workers (timed by a wrapper,
   ``timed_digitize``), over the latter; both include writing the outputs and IPC;
3. a long run (``--pages N``, default 2,000) with 2 workers while resident memory of the
   main process and of all its workers is sampled: start, quartiles and peak [flat].

Pages are ``--distinct`` rendered pages (3x4+II, clean, ``--dpi``) hard-linked under many
names, so rendering does not dominate. The load average is printed with every phase:
this machine is shared, so read the numbers with it.

    python benchmarks/batch_throughput.py [--pages 2000] [--throughput-pages 40] [--dpi 100]
    python benchmarks/batch_throughput.py --quick        # 12 + 100 pages, a smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The fork server (Python 3.11) ignores the parent's sys.path and silently skips a preload
# it cannot import: put this folder on PYTHONPATH so it can preload timed_digitize's module.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from ecg_digitize.batch import convert, read_manifest, write_record  # noqa: E402
# Imported here so that the fork server, which preloads this module for timed_digitize,
# holds the digitizer as it does for the default digitize_fn: workers do not pay the import.
from ecg_digitize.digitizer import digitize as _digitize  # noqa: E402


def load() -> str:
    return "load avg %.1f %.1f %.1f" % os.getloadavg()


_CPU_DIR_ENV = "ECG_BENCH_DIGITIZE_CPU_DIR"


def timed_digitize(image, **kwargs):
    """``digitize()`` that appends its own CPU seconds (this thread) to a per-process file.

    Passed to the engine as ``"batch_throughput:timed_digitize"``: the engine's overhead
    is then measured against digitize() in the same worker processes, under the same
    contention, rather than against a baseline run at another moment of a shared machine.
    """
    c0 = time.thread_time()
    try:
        return _digitize(image, **kwargs)
    finally:
        folder = os.environ.get(_CPU_DIR_ENV)
        if folder:
            with open(os.path.join(folder, f"{os.getpid()}.txt"), "a") as fh:
                fh.write(f"{time.thread_time() - c0:.6f}\n")


def digitize_cpu(folder: Path) -> tuple[float, int]:
    """Total CPU seconds and calls recorded by :func:`timed_digitize` under ``folder``."""
    vals = [float(x) for f in folder.glob("*.txt") for x in f.read_text().split()]
    return sum(vals), len(vals)


def render_pages(folder: Path, distinct: int, dpi: float) -> list[Path]:
    from PIL import Image

    from ecg_digitize.synth import render, simulate_12lead

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    sig, fs, leads = simulate_12lead(seed=0)  # simulation is slow; pages differ by offset and seed
    for seed in range(distinct):
        img, _ = render(np.roll(sig, 331 * seed, axis=0), fs, leads, layout="3x4+II", dpi=dpi,
                        preset="clean", seed=seed)
        path = folder / f"src{seed:03d}.png"
        Image.fromarray(img).save(path)
        paths.append(path)
    return paths


def link_pages(sources: list[Path], folder: Path, n: int) -> Path:
    """``n`` input files named page00000.png ..., hard links to the rendered pages."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        target = folder / f"page{i:05d}.png"
        try:
            os.link(sources[i % len(sources)], target)
        except OSError:
            shutil.copyfile(sources[i % len(sources)], target)
    return folder


def plain_digitize(sources: list[Path], n: int, scratch: Path) -> dict:
    """Serial digitize() here, one thread: the baseline an engine is measured against."""
    import cv2

    from ecg_digitize.digitizer import digitize

    cv2.setNumThreads(1)
    write_record(digitize(sources[0]), scratch, "warmup", ["wfdb", "json"])  # imports are not per-page costs
    t_dig, t_write, cpu, cpu_write = [], [], [], []
    for i in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        rec = digitize(sources[i % len(sources)])
        c1, t1 = time.process_time(), time.perf_counter()
        write_record(rec, scratch, f"r{i:05d}", ["wfdb", "json"])
        t_write.append(time.perf_counter() - t1)
        cpu_write.append(time.process_time() - c1)
        t_dig.append(t1 - t0)
        cpu.append(c1 - c0)
    return {"digitize_s": float(np.median(t_dig)), "digitize_mean_s": float(np.mean(t_dig)),
            "write_s": float(np.mean(t_write)), "cpu_s": float(np.mean(cpu)),
            "write_cpu_s": float(np.mean(cpu_write))}


class ProcSampler(threading.Thread):
    """Resident memory and CPU time of this process and all its descendants (pool workers
    and the fork server), every ``period`` s. CPU time does not depend on how busy the
    shared machine is, so it is what the overhead is judged on; wall time is reported too."""

    def __init__(self, period: float = 0.2):
        super().__init__(daemon=True)
        self.period, self.samples, self._halt = period, [], threading.Event()
        self.cpu: dict[int, float] = {}  # pid -> latest user+system seconds seen
        self.parent: dict[int, int] = {}
        self.me = psutil.Process()
        self.cpu0 = sum(self.me.cpu_times()[:2])

    def run(self) -> None:
        t0 = time.perf_counter()
        self.own_cpu = 0.0  # this thread's CPU is the benchmark's, not the engine's
        while not self._halt.is_set():
            c0 = time.thread_time()
            main_rss = total = self.me.memory_info().rss
            for child in self.me.children(recursive=True):
                try:
                    with child.oneshot():
                        total += child.memory_info().rss
                        self.cpu[child.pid] = sum(child.cpu_times()[:2])
                        self.parent[child.pid] = child.ppid()
                except psutil.Error:
                    pass
            self.samples.append((time.perf_counter() - t0, main_rss, total))
            self.own_cpu += time.thread_time() - c0
            self._halt.wait(self.period)

    def stop(self) -> dict:
        """RSS samples (t, main, total) and CPU seconds: main process (without this
        sampler), pool workers, and the helpers started by the main process (fork
        server with its preload imports, resource tracker): start-up costs."""
        self._halt.set()
        self.join()
        main = sum(self.me.cpu_times()[:2]) - self.cpu0 - self.own_cpu
        helpers = sum(c for pid, c in self.cpu.items() if self.parent.get(pid) == self.me.pid)
        workers = sum(self.cpu.values()) - helpers
        return {"rss": np.array(self.samples), "cpu_main": main, "cpu_workers": workers, "cpu_helpers": helpers}


def engine_run(folder: Path, out: Path, workers: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cpu_dir = Path(os.environ[_CPU_DIR_ENV])  # set before the first pool (the fork server keeps its env)
    cpu0, calls0 = digitize_cpu(cpu_dir)
    sampler = ProcSampler()
    sampler.start()
    t0 = time.perf_counter()
    summary = convert([folder], out, workers=workers, progress=False,
                      digitize_fn="batch_throughput:timed_digitize")
    wall = time.perf_counter() - t0
    got = sampler.stop()
    cpu1, calls1 = digitize_cpu(cpu_dir)
    dig_cpu, dig_calls = cpu1 - cpu0, calls1 - calls0
    rows = read_manifest(out)
    from datetime import datetime

    ends = sorted(datetime.fromisoformat(r["finished"]).timestamp() for r in rows)
    # Steady state: first to last completion, so pool start-up and imports are left out.
    steady = (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else float("nan")
    n = summary.pages
    return {"workers": workers, "pages": n, "ok": summary.ok, "failed": summary.failed,
            "wall_s": wall, "pages_per_s": n / wall, "steady_s_per_page": steady,
            "worker_s_per_page": float(np.median([r["seconds"] for r in rows])),
            "cpu_main_per_page": got["cpu_main"] / n, "cpu_workers_per_page": got["cpu_workers"] / n,
            "cpu_startup_s": got["cpu_helpers"],
            # digitize() CPU inside the workers, and what the engine adds on top of it there
            "digitize_cpu_per_page": dig_cpu / max(1, dig_calls), "digitize_calls": dig_calls,
            "same_process_overhead": ((got["cpu_main"] + got["cpu_workers"] - dig_cpu) / dig_cpu
                                      if dig_cpu else float("nan")),
            "cores_used": (got["cpu_main"] + got["cpu_workers"] + got["cpu_helpers"]) / wall, "rss": got["rss"]}


def mb(x: float) -> str:
    return f"{x / 2**20:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="pages of the memory run (default: %(default)s)")
    parser.add_argument("--throughput-pages", type=int, default=40, help="pages per throughput run")
    parser.add_argument("--distinct", type=int, default=20, help="distinct rendered pages")
    parser.add_argument("--dpi", type=float, default=100)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--quick", action="store_true", help="12 throughput pages, 100 memory pages")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.throughput_pages, args.distinct = 100, 12, 6

    work = Path(tempfile.mkdtemp(prefix="ecg-batch-bench-"))
    (work / "digitize-cpu").mkdir()
    os.environ[_CPU_DIR_ENV] = str(work / "digitize-cpu")
    figures: dict = {"dpi": args.dpi, "cores": os.cpu_count()}
    try:
        print(f"rendering {args.distinct} pages at {args.dpi:g} dpi ... ({load()})", flush=True)
        sources = render_pages(work / "src", args.distinct, args.dpi)
        tp = link_pages(sources, work / "tp", args.throughput_pages)

        base = plain_digitize(sources, args.throughput_pages, work / "plain-out")
        figures["plain"] = base
        print(f"plain digitize(): {base['digitize_s']:.3f} s/page median wall (mean {base['digitize_mean_s']:.3f}), "
              f"CPU {base['cpu_s']:.3f} s mean; write wfdb+json {base['write_s'] * 1000:.1f} ms wall, "
              f"{base['write_cpu_s'] * 1000:.1f} ms CPU  ({load()})", flush=True)

        runs = {}
        for workers in (1, 2):
            r = engine_run(tp, work / f"out{workers}", workers)
            r.pop("rss")
            runs[workers] = r
            print(f"local engine, {workers} worker(s): {r['pages']} pages in {r['wall_s']:.1f} s = "
                  f"{r['pages_per_s']:.2f} pages/s; steady state {r['steady_s_per_page']:.3f} s/page; "
                  f"CPU/page: workers {r['cpu_workers_per_page']:.3f} s, main {r['cpu_main_per_page'] * 1000:.1f} ms; "
                  f"start-up CPU {r['cpu_startup_s']:.1f} s; "
                  f"cores obtained {r['cores_used']:.2f}; digitize() inside the workers "
                  f"{r['digitize_cpu_per_page']:.3f} CPU s/page, engine adds "
                  f"{r['same_process_overhead'] * 100:+.1f} % on top (writing included)  ({load()})", flush=True)
        scaling = runs[2]["pages_per_s"] / runs[1]["pages_per_s"]
        steady_scaling = runs[1]["steady_s_per_page"] / runs[2]["steady_s_per_page"]
        wall_overhead = (runs[1]["wall_s"] / runs[1]["pages"] - base["digitize_mean_s"]) / base["digitize_mean_s"]
        cpu_engine = runs[1]["cpu_workers_per_page"] + runs[1]["cpu_main_per_page"]
        cpu_overhead = (cpu_engine - base["cpu_s"]) / base["cpu_s"]
        cpu_overhead_nowrite = (cpu_engine - base["cpu_s"] - base["write_cpu_s"]) / base["cpu_s"]
        figures.update(runs=runs, scaling=scaling, steady_scaling=steady_scaling, wall_overhead=wall_overhead,
                       cpu_overhead=cpu_overhead, cpu_overhead_excluding_write=cpu_overhead_nowrite)
        print(f"scaling 2 vs 1 workers: {scaling:.2f}x on wall time, {steady_scaling:.2f}x in steady state "
              f"[target >= 1.7x]; cores obtained {runs[1]['cores_used']:.2f} -> {runs[2]['cores_used']:.2f}")
        print(f"engine overhead per page, 1 worker vs plain digitize(): CPU {cpu_overhead * 100:+.1f} % "
              f"(writing WFDB+JSON included; {cpu_overhead_nowrite * 100:+.1f} % without it; start-up "
              f"{runs[1]['cpu_startup_s']:.1f} CPU s once per run, not included), "
              f"wall {wall_overhead * 100:+.1f} % (start-up included) [target <= 10 %]")
        write_share = base["write_cpu_s"] / base["cpu_s"]
        print(f"engine overhead per page measured in the same worker processes (engine CPU - digitize() CPU, "
              f"over digitize() CPU): 1 worker {runs[1]['same_process_overhead'] * 100:+.1f} %, 2 workers "
              f"{runs[2]['same_process_overhead'] * 100:+.1f} %, writing WFDB+JSON included (writing alone is "
              f"{write_share * 100:.1f} % of digitize() CPU) [target <= 10 %]")

        if not args.skip_memory:
            mem = link_pages(sources, work / "mem", args.pages)
            r = engine_run(mem, work / "out-mem", 2)
            rss = r.pop("rss")
            n = len(rss)
            q = [rss[min(n - 1, int(f * n)), 2] for f in (0.1, 0.25, 0.5, 0.75, 0.99)]
            slope = np.polyfit(rss[n // 10:, 0], rss[n // 10:, 2], 1)[0] if n > 10 else float("nan")
            figures["memory"] = dict(pages=r["pages"], ok=r["ok"], wall_s=r["wall_s"], pages_per_s=r["pages_per_s"],
                                     cpu_workers_per_page=r["cpu_workers_per_page"],
                                     cpu_main_per_page=r["cpu_main_per_page"],
                                     digitize_cpu_per_page=r["digitize_cpu_per_page"],
                                     same_process_overhead=r["same_process_overhead"],
                                     peak_total_rss=float(rss[:, 2].max()), peak_main_rss=float(rss[:, 1].max()),
                                     total_rss_at=[float(x) for x in q], slope_bytes_per_s=float(slope))
            print(f"memory run: {r['pages']} pages, 2 workers, {r['wall_s']:.0f} s ({r['pages_per_s']:.2f} pages/s, "
                  f"{r['ok']} ok)  ({load()})")
            print("  total RSS (main + workers) at 10/25/50/75/99 % of the run: "
                  + " / ".join(mb(x) for x in q))
            print(f"  peak total {mb(rss[:, 2].max())}, peak main process {mb(rss[:, 1].max())}, "
                  f"trend after the first 10 %: {slope / 2**20 * 60:+.2f} MB/min")
            print(f"  CPU/page: workers {r['cpu_workers_per_page']:.3f} s (digitize() in them "
                  f"{r['digitize_cpu_per_page']:.3f} s), main {r['cpu_main_per_page'] * 1000:.1f} ms; engine adds "
                  f"{r['same_process_overhead'] * 100:+.1f} % to digitize() CPU (writing included)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=float))


if __name__ == "__main__":
    main()

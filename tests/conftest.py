import os
import signal

import numpy as np
import pytest

# Keep OpenCV and TensorFlow from fighting over the 2 CI cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def sim12():
    """A simulated 12-lead, 10 s, 500 Hz ECG (no data needed)."""
    from ecg_digitize.synth import simulate_12lead

    return simulate_12lead(duration=10, seed=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def kill_and_check_no_orphans():
    """SIGKILL a batch's main process; its workers and helpers must exit on their own."""
    psutil = pytest.importorskip("psutil")

    def kill(proc) -> None:
        family = psutil.Process(proc.pid).children(recursive=True)
        assert family, "the batch should have started worker processes"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(family, timeout=15)
        assert not alive, f"orphans left running: {alive}"

    return kill

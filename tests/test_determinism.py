"""Same seed, same data, same bits: also while another process keeps the CPU busy.

The contract test ``test_detectors.py::test_same_seed_gives_the_same_scores`` fits twice on an
idle machine. A fit can only differ from the next through what varies between them, such as
which thread finishes first or how TensorFlow rewrites a traced graph, and those vary most on a
loaded machine. Here a second process spins on half the cores (a bounded busy loop that ends by
itself) while each Lipschitz detector is fitted twice, so that such a failure shows up here and
not, at random, in CI.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import fast_detector

# A busy loop per core that stops by itself after at most this many seconds (the fixture also ends
# it at teardown), so a killed test run never leaves it behind for long.
HOG_SECONDS = 600
HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture(scope="module")
def cpu_hog():
    """Busy loops in other processes, one per two cores, for the tests of this module.

    With TensorFlow's own threads that oversubscribes the cores, which is what varies thread
    order; a loop on every core would only slow the rest of a test run that shares the machine.
    """
    processes = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=HOG_SECONDS)])
                 for _ in range(max(1, (os.cpu_count() or 2) // 2))]
    yield processes
    for process in processes:
        process.kill()
        process.wait()


@pytest.mark.parametrize("name", ["dcae", "deepsvdd-oc", "deepsvdd-sb", "anogan"])
def test_same_seed_gives_the_same_bits_on_a_loaded_machine(name, cpu_hog, mnist_like):
    assert all(process.poll() is None for process in cpu_hog), "the CPU hog ended early"
    train, normal, anomalous = mnist_like
    x = np.concatenate([normal, anomalous])
    first = fast_detector(name, 50.0).fit(train)
    second = fast_detector(name, 50.0).fit(train)
    assert first.history_["loss"] == second.history_["loss"]
    assert np.array_equal(first.decision_function(x), second.decision_function(x))


def test_the_remapper_is_off_after_a_fit(mnist_like):
    """A fit turns off grappler's remapper, whose fusions differed between traces (see seed_everything)."""
    import tensorflow as tf

    fast_detector("dcae", None).fit(mnist_like[0][:32])
    assert tf.config.optimizer.get_experimental_options().get("remapping") is False


THREADS_PROBE = """
from adlip import runs
runs.set_threads(1)
import tensorflow as tf
tf.constant(1.0) + 1.0                      # TensorFlow's pools are fixed from here on
runs.set_threads(1)                         # the counts it already has: nothing to do
runs.set_threads(2, if_started="keep")      # a Dask worker's second task: kept, no error
print(tf.config.threading.get_intra_op_parallelism_threads())
try:
    runs.set_threads(2)
except RuntimeError:
    print("raised")
"""


def test_set_threads_fixes_the_counts_once_and_says_so_after():
    """Thread counts change the last bits, so a late change must fail loudly unless asked to keep."""
    out = subprocess.run([sys.executable, "-c", THREADS_PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "raised"]


def test_set_threads_refuses_an_unknown_policy():
    from adlip import runs

    with pytest.raises(ValueError, match="if_started"):
        runs.set_threads(1, if_started="ignore")

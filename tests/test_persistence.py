"""A saved Lipschitz detector loads in a fresh Python process (where deel-lip is not yet imported)."""
import subprocess
import sys

import numpy as np

from adlip.detectors import DCAE

LOAD_AND_SCORE = """
import sys, numpy as np
import adlip
from adlip.detectors import load
detector = load(sys.argv[1])
np.save(sys.argv[3], detector.decision_function(np.load(sys.argv[2])))
"""


def test_lipschitz_detector_loads_in_a_fresh_process(tmp_path):
    x = np.random.default_rng(0).random((32, 28, 28, 1)).astype("float32")
    detector = DCAE(lipschitz=2.0, epochs_scale=0.003, verbose=0).fit(x)
    detector.save(tmp_path / "model")
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run([sys.executable, "-c", LOAD_AND_SCORE, str(tmp_path / "model"),
                             str(tmp_path / "x.npy"), str(tmp_path / "scores.npy")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "scores.npy"), detector.decision_function(x))

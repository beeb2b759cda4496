"""The numbers do not move: one smoke run of every algorithm gives exactly the pinned record.

``tests/golden/smoke_records.json`` was made before the package was restructured (its ``made_at``
names the commit); each run here goes through the same sweep path (one single-threaded worker)
and must give bitwise the same ROC-AUC, Lipschitz bounds, training history and budget. A change
that is meant to move the numbers regenerates the file with ``tests/golden/make_smoke_records.py``
and says why in its commit.
"""
import importlib.util
import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"

pytestmark = pytest.mark.skipif(
    not os.environ.get("ADLIP_DATA_DIR"), reason="set ADLIP_DATA_DIR to a folder with mnist.npz")


def _generator():
    spec = importlib.util.spec_from_file_location("make_smoke_records", GOLDEN / "make_smoke_records.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_algorithm_gives_the_pinned_smoke_record(tmp_path):
    pinned = json.loads((GOLDEN / "smoke_records.json").read_text())["records"]
    generator = _generator()
    assert sorted(pinned) == sorted(c.run_id for c in generator.configs()), \
        "the pinned runs and today's run list differ; regenerate only if that is intended"
    found = generator.smoke_records(tmp_path)
    changed = {run_id: [field for field in generator.COMPARED_FIELDS if found[run_id][field] != record[field]]
               for run_id, record in pinned.items()}
    changed = {run_id: fields for run_id, fields in changed.items() if fields}
    assert not changed, f"records moved (run id: differing fields): {changed}"

"""adlip installed as a package (not a checkout) reads its committed records from anywhere.

Builds a non-editable copy with pip into a temporary folder, then runs from an empty working
folder, where there is no ``results/`` to find: the records must come from the copy the package
ships (``adlip/_results``), and a chapter that reads records must render its tables.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = os.environ.get("ADLIP_DATA_DIR")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site-packages")
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                            str(REPO)], capture_output=True, text=True, timeout=900)
    if build.returncode != 0 and "No matching distribution found for setuptools" in build.stderr:
        pytest.skip("pip cannot reach a package index to get the build backend (setuptools)")
    assert build.returncode == 0, build.stderr[-3000:]
    return target


def run_outside(installed, tmp_path, code):
    environment = dict(os.environ, PYTHONPATH=str(installed))
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=600)


def test_the_package_ships_the_committed_records(installed):
    shipped = installed / "adlip" / "_results"
    committed = {p.relative_to(REPO / "results") for p in (REPO / "results").rglob("*.jsonl")
                 if not {"logs", "smoke", ".cache", ".locks"} & set(p.parts)}
    assert committed and committed <= {p.relative_to(shipped) for p in shipped.rglob("*.jsonl")}
    assert not list(shipped.rglob("*.log"))


def test_records_are_read_from_the_package_in_an_empty_folder(installed, tmp_path):
    code = ("import json, adlip; from adlip import experiments; from adlip.studies import catalog; "
            "r = experiments.records_for('baselines', 'quick'); "
            "h = catalog.records('hkr', 'quick'); "
            "print(json.dumps([adlip.__file__, len(r), len(h)]))")
    result = run_outside(installed, tmp_path, code)
    assert result.returncode == 0, result.stderr[-3000:]
    location, n_baselines, n_hkr = json.loads(result.stdout.strip().splitlines()[-1])
    assert location.startswith(str(installed)) and n_baselines > 0 and n_hkr > 0
    assert not (tmp_path / "results").exists()


@pytest.mark.skipif(not DATA, reason="needs ADLIP_DATA_DIR (the chapter draws one MNIST split)")
def test_a_records_reading_chapter_runs_in_an_empty_folder(installed, tmp_path):
    notebook = tmp_path / "10_baselines.ipynb"
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "jupytext"), "--to", "ipynb", str(REPO / "notebooks" / "10_baselines.py"),
                    "-o", str(notebook), "-q"], check=True, timeout=120)
    environment = dict(os.environ, PYTHONPATH=str(installed))
    result = subprocess.run([str(bin_dir / "papermill"), notebook.name, "out.ipynb", "-p", "profile", "quick",
                             "-k", "python3", "--log-level", "WARNING"], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    cells = json.loads((tmp_path / "out.ipynb").read_text())["cells"]
    outputs = [o for cell in cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = " ".join("".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    assert "Classical baselines: ROC-AUC (%) per normal class" in shown and "| MNIST | 0 |" in shown

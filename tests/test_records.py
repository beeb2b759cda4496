"""adlip.records: the declared schema matches the records the sweeps really wrote, and the frame view."""
import json
from pathlib import Path
from typing import get_type_hints

import pytest

from adlip import records

RESULTS = Path(__file__).resolve().parent.parent / "results"


def committed_run_records() -> list:
    found = []
    for path in sorted(RESULTS.glob("exp*/*/*.jsonl")) + sorted(RESULTS.glob("baselines/*/*.jsonl")):
        found.extend(records.load_records(path, strict=True))
    return found


def test_every_field_of_a_committed_run_record_is_declared_in_the_schema():
    declared = set(get_type_hints(records.Record))
    runs = committed_run_records()
    assert runs, "no committed run records to check the schema against"
    undeclared = sorted({key for record in runs for key in record} - declared)
    assert not undeclared, f"fields written but not declared in adlip.records.Record: {undeclared}"


def test_every_committed_run_record_carries_its_provenance():
    missing = [(r.get("run_id"), field) for r in committed_run_records()
               for field in records.REQUIRED_FIELDS if field not in r]
    assert not missing[:5]


def test_records_frame_has_a_row_per_record_and_the_config_as_columns(tmp_path):
    pytest.importorskip("pandas")
    for index, auc in enumerate((0.9, 0.7)):
        records.write_record(dict(run_id=f"r{index}", auc=auc, config=dict(algorithm="dcae", seed=index)),
                             tmp_path / f"r{index}.jsonl")
    frame = records.records_frame(tmp_path)
    assert len(frame) == 2 and {"auc", "config.algorithm", "config.seed"} <= set(frame.columns)
    assert frame.groupby("config.algorithm")["auc"].mean()["dcae"] == pytest.approx(0.8)


def test_a_damaged_line_is_named_in_strict_mode(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n{torn\n")
    with pytest.raises(ValueError, match="r.jsonl, line 2"):
        records.load_records(path, strict=True)


CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 sse4_1 sse4_2 avx avx2 fma bmi2

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 sse4_1 sse4_2 avx avx2 fma bmi2
"""


def test_cpu_names_the_model_and_the_vector_instruction_sets(tmp_path):
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    assert records.cpu(tmp_path / "cpuinfo") == dict(model="AMD EPYC 7B13", features=["sse4_2", "avx", "fma", "avx2"])


def test_cpu_without_a_cpuinfo_file_says_the_features_are_unknown(tmp_path):
    assert records.cpu(tmp_path / "missing")["features"] is None


def test_every_new_record_names_its_cpu():
    assert records.provenance()["cpu"] == records.cpu()

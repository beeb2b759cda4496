"""The Study and StudyBudget types, the catalog, and ``python -m adlip study``."""
import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from adlip.studies import catalog
from adlip.studies.base import Study, StudyBudget


@dataclass(frozen=True)
class ToyRun:
    value: int
    profile: str

    @property
    def run_id(self) -> str:
        return f"toy-{self.value}"


@dataclass(frozen=True)
class ToyBudget(StudyBudget):
    epochs_scale: float = 1.0
    points: int = 0

    PER_PROFILE = {"smoke": dict(points=3), "quick": dict(points=30)}

    @classmethod
    def from_profile(cls, profile):
        return dict(epochs_scale=profile.epochs_scale)


def toy_study(calls, fail_on=None, partial=False):
    def run(spec):
        if spec.value == fail_on:
            raise RuntimeError("simulated crash")
        calls.append(spec.value)
        return dict(run_id=spec.run_id, value=spec.value, square=spec.value ** 2, profile=spec.profile)

    return Study(name="toy", title="a toy study", partial=partial,
                 grid=lambda profile: [ToyRun(v, profile) for v in range(ToyBudget.resolve(profile).points)],
                 run=run, record_file=lambda spec: f"{spec.run_id}.jsonl", budget=ToyBudget.resolve)


def test_budget_takes_the_profile_and_its_own_table():
    budget = ToyBudget.resolve("smoke")
    assert (budget.profile, budget.points, budget.epochs_scale) == ("smoke", 3, 0.001)
    assert ToyBudget.resolve("quick", points=5).points == 5
    assert "points 3" in budget.caption()


def test_budget_refuses_an_unknown_profile_or_field():
    with pytest.raises(ValueError, match="no budget for profile 'full'.*quick"):
        ToyBudget.resolve("full")
    with pytest.raises(ValueError, match="unknown profile"):
        ToyBudget.resolve("fast")
    with pytest.raises(ValueError, match=r"unknown ToyBudget fields \['pionts'\]"):
        ToyBudget.resolve("smoke", pionts=2)


def test_smoke_records_are_run_once_then_read(tmp_path):
    calls = []
    study = toy_study(calls)
    records = study.records("smoke", tmp_path)
    assert [r["square"] for r in records] == [0, 1, 4] and calls == [0, 1, 2]
    assert (tmp_path / "toy" / "smoke" / "toy-2.jsonl").is_file()
    assert study.records("smoke", tmp_path) == records and calls == [0, 1, 2]   # read, not rerun
    assert all("seconds" in r for r in records)


def test_a_missing_record_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(ValueError, match="no toy record for toy-0.*python -m adlip study toy --profile quick"):
        toy_study([]).records("quick", tmp_path)


def test_a_partial_study_shows_what_is_there(tmp_path):
    calls = []
    study = toy_study(calls, partial=True)
    with pytest.raises(ValueError, match="no toy records for profile 'smoke'"):
        study.records("smoke", tmp_path, run=False)
    study.run_missing("smoke", tmp_path, specs=[ToyRun(1, "smoke")], progress=False)
    assert [r["value"] for r in study.records("smoke", tmp_path, run=False)] == [1]


def test_an_interrupted_study_keeps_its_finished_records(tmp_path):
    calls = []
    with pytest.raises(RuntimeError, match="simulated crash"):
        toy_study(calls, fail_on=2).records("smoke", tmp_path)
    assert sorted(p.name for p in (tmp_path / "toy" / "smoke").iterdir()) == ["toy-0.jsonl", "toy-1.jsonl"]
    calls.clear()
    toy_study(calls).records("smoke", tmp_path)
    assert calls == [2]   # only the run that was lost


def test_records_can_go_to_another_folder(tmp_path):
    study = toy_study([])
    assert [s.value for s in study.run_missing("smoke", out_dir=tmp_path / "elsewhere", progress=False)] == [0, 1, 2]
    assert json.loads((tmp_path / "elsewhere" / "toy-1.jsonl").read_text())["square"] == 1
    assert len(study.missing("smoke", tmp_path)) == 3


def test_the_catalog_knows_every_study_and_refuses_others():
    assert {"exp1", "exp2", "baselines", "companions", "decoders"} <= set(catalog.STUDIES)
    assert catalog.get_study("exp2").partial and not catalog.get_study("decoders").partial
    with pytest.raises(ValueError, match="unknown study 'exp3'; choose one of"):
        catalog.get_study("exp3")
    with pytest.raises(ValueError, match="already registered"):
        catalog.register(catalog.get_study("exp1"))


def test_experiment_studies_find_the_committed_records_by_name():
    """A thesis-budget record's file is the name the exp2 study gives its run (so chapters read it)."""
    study = catalog.get_study("exp2")
    folder = study.folder("full")
    names = {study.record_file(config) for config in study.grid("full")}
    committed = {path.name for path in folder.glob("*.jsonl")}
    assert committed and committed <= names


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "adlip", *args], capture_output=True, text=True, timeout=300)


def test_cli_lists_the_studies_and_refuses_an_unknown_one():
    listing = run_cli("study", "--list")
    assert listing.returncode == 0 and "decoders" in listing.stdout and "exp2" in listing.stdout
    unknown = run_cli("study", "exp3")
    assert unknown.returncode == 2 and "unknown study 'exp3'" in unknown.stderr


def test_cli_dry_run_lists_what_is_left(tmp_path):
    result = run_cli("study", "decoders", "--profile", "smoke", "--results-dir", str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "spectralconv-mnist-c0-s0" in result.stdout and "9 of 9 runs to do" in result.stderr


@pytest.mark.parametrize("name", sorted(catalog.STUDIES))
def test_every_study_has_a_grid_a_budget_and_one_file_per_run(name):
    study = catalog.get_study(name)
    for profile in ("smoke", "quick"):
        specs = study.grid(profile)
        assert specs, f"{name} has no runs at {profile}"
        files = [study.record_file(spec) for spec in specs]
        assert len(set(files)) == len(files), f"two runs of {name} share a record file"
        assert all(f.endswith((".json", ".jsonl")) and "/" not in f for f in files)
        assert study.budget(profile) is not None
    assert study.command("quick") == f"python -m adlip study {name} --profile quick"

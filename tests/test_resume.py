"""Interrupted runs resume from their finished stages (adlip.resume) and give the same record.

An AnoGAN run at the smoke profile is stopped in the middle of scoring its test images, then run
again: it must reuse the fitted detector and the finished score parts, compute only the rest, and
end with the numbers of a run that was never interrupted.
"""
import json
import os

import numpy as np
import pytest

from adlip import runs, sweeps
from adlip.detectors.anogan import AnoGAN
from adlip.resume import RunStages
from adlip.runs import RunConfig

REAL_DATA = os.environ.get("ADLIP_DATA_DIR")
needs_mnist = pytest.mark.skipif(not (REAL_DATA and os.path.isfile(os.path.join(REAL_DATA, "mnist.npz"))),
                                 reason="set ADLIP_DATA_DIR to a folder with mnist.npz to run experiments")
# Numbers a resumed run must reproduce exactly (timings and the creation time may differ).
MEASURED = ("auc", "lip_lower_bound", "lip_sigma", "lip_round_maxima", "lip_gradient_ascent",
            "collapsed", "budget", "epochs", "threads", "git_commit", "run_id")


def same_numbers(resumed: dict, uninterrupted: dict) -> None:
    for field in MEASURED:
        assert resumed[field] == uninterrupted[field], field
    untimed = [{k: v for k, v in record["history"].items() if k != "seconds"} for record in (resumed, uninterrupted)]
    assert untimed[0] == untimed[1]


def anogan_config():
    # 100 test images at smoke, searched 40 at a time: three score parts. (The Lipschitz path is
    # the DCAE's below: a Lipschitz GAN takes a minute to train even at smoke.)
    return RunConfig("anogan", "mnist", 0, None, 0, "smoke", experiment="test",
                     options=(("search_batch_size", 40),))


class Interrupted(Exception):
    pass


@pytest.fixture(autouse=True)
def committed_code(monkeypatch):
    """Runs here act as if made from committed code (a working copy under edit keeps no stages)."""
    monkeypatch.setattr(runs, "code_identity", lambda threads: {"git_commit": "c" * 40, "threads": threads})


def interrupt_at_last_part(monkeypatch):
    """Make AnoGAN's last score part raise, as a kill in the middle of scoring would."""
    original = AnoGAN.score_batches

    def parts(self, X):
        found = original(self, X)
        start, stop, _ = found[-1]
        return found[:-1] + [(start, stop, lambda: (_ for _ in ()).throw(Interrupted()))]

    monkeypatch.setattr(AnoGAN, "score_batches", parts)


@needs_mnist
def test_a_run_stopped_while_scoring_resumes_to_the_same_record(tmp_path, monkeypatch):
    config = anogan_config()
    uninterrupted = runs.run_one(config)
    assert uninterrupted["resumed"] == []
    with monkeypatch.context() as patch:
        interrupt_at_last_part(patch)
        with pytest.raises(Interrupted):
            runs.run_one(config, cache_dir=tmp_path)
    kept = json.loads((tmp_path / "runs" / config.run_id / "stages.json").read_text())
    assert sorted(kept["stages"]) == ["fit", "scores 0-40", "scores 40-80"]

    resumed = runs.run_one(config, cache_dir=tmp_path)
    assert resumed["resumed"] == ["fit", "scores 0-40", "scores 40-80"]
    assert resumed["train_seconds"] == pytest.approx(kept["stages"]["fit"]["seconds"])
    same_numbers(resumed, uninterrupted)
    assert not (tmp_path / "runs" / config.run_id).exists(), "the stages outlive the record"


@needs_mnist
def test_a_run_stopped_while_training_resumes_midway_to_the_same_record(tmp_path, monkeypatch):
    from adlip.detectors import checkpoints

    config = RunConfig("anogan", "mnist", 0, None, 0, "smoke", epochs_scale=0.15, experiment="test")
    uninterrupted = runs.run_one(config)
    assert uninterrupted["epochs"] == 3
    monkeypatch.setattr(checkpoints, "SAVE_EVERY_SECONDS", 0.0)
    with monkeypatch.context() as patch:
        patch.setattr(AnoGAN, "epoch_monitor", staticmethod(
            lambda generator, epoch: (_ for _ in ()).throw(Interrupted()) if epoch == 2 else {}))
        with pytest.raises(Interrupted):
            runs.run_one(config, cache_dir=tmp_path)
    resumed = runs.run_one(config, cache_dir=tmp_path)
    assert resumed["resumed"] == ["training epochs 1-2"]
    same_numbers(resumed, uninterrupted)
    assert resumed["train_seconds"] > sum(resumed["history"]["seconds"][:2])


@needs_mnist
def test_kept_lipschitz_measurements_are_reused_exactly(tmp_path, monkeypatch):
    config = RunConfig("dcae", "mnist", 0, 1.0, 0, "smoke", experiment="test")
    uninterrupted = runs.run_one(config)
    with monkeypatch.context() as patch:
        patch.setattr(runs, "certificate_summary", lambda *a: (_ for _ in ()).throw(Interrupted()))
        with pytest.raises(Interrupted):
            runs.run_one(config, cache_dir=tmp_path)
    resumed = runs.run_one(config, cache_dir=tmp_path)
    assert resumed["resumed"] == ["fit", "scores 0-500", "lipschitz"]
    same_numbers(resumed, uninterrupted)


IDENTITY = {"git_commit": "a" * 40, "adlip_version": "0", "threads": {"intra_op": 1},
            "cpu_features": ["sse4_2", "avx", "fma", "avx2"]}


def test_stages_made_by_other_code_threads_or_cpu_kind_are_discarded(tmp_path):
    RunStages(tmp_path, "run", IDENTITY).computed("lipschitz", lambda: {"value": 1.5})
    calls = []

    def again():
        calls.append(1)
        return {"value": 2.5}

    assert RunStages(tmp_path, "run", IDENTITY).computed("lipschitz", again) == {"value": 1.5}
    assert calls == []
    others = ({**IDENTITY, "git_commit": "b" * 40}, {**IDENTITY, "threads": {"intra_op": 2}},
              {**IDENTITY, "cpu_features": [*IDENTITY["cpu_features"], "avx512f"]})
    for other in others:
        RunStages(tmp_path, "run", IDENTITY).computed("lipschitz", lambda: {"value": 1.5})
        assert RunStages(tmp_path, "run", other).computed("lipschitz", again) == {"value": 2.5}
    assert len(calls) == len(others)


def test_code_with_uncommitted_changes_keeps_nothing(tmp_path):
    RunStages(tmp_path, "run", IDENTITY).computed("lipschitz", lambda: {"value": 1.5})
    stages = RunStages(tmp_path, "run", identity=None)
    assert not (tmp_path / "run").exists()
    assert stages.computed("lipschitz", lambda: {"value": 2.5}) == {"value": 2.5}
    assert not (tmp_path / "run").exists()


def test_the_identity_is_the_commit_threads_and_cpu_and_none_for_dirty_code(monkeypatch):
    from adlip import records, resume

    monkeypatch.setattr(records, "git_commit", lambda: "d" * 40)
    assert resume.code_identity({"intra_op": 1})["git_commit"] == "d" * 40
    assert resume.code_identity({"intra_op": 1})["threads"] == {"intra_op": 1}
    assert resume.code_identity({"intra_op": 1})["cpu_features"] == records.cpu()["features"]
    monkeypatch.setattr(records, "git_commit", lambda: "d" * 40 + "+dirty")
    assert resume.code_identity({"intra_op": 1}) is None


def test_without_a_folder_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stages = RunStages(None, "run", IDENTITY)
    assert stages.computed("lipschitz", lambda: {"value": np.float32(0.5)}) == {"value": 0.5}
    stages.clear()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["not json", '{"identity": 3}', "[]"])
def test_a_damaged_index_means_starting_over(tmp_path, damage):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stages.json").write_text(damage)
    assert RunStages(tmp_path, "run", IDENTITY).computed("lipschitz", lambda: {"value": 2.5}) == {"value": 2.5}


def test_a_kept_score_file_holding_a_pickle_is_refused(tmp_path):
    class Fake:
        def score_batches(self, x):
            return [(0, len(x), lambda: np.zeros(len(x)))]

    stages = RunStages(tmp_path, "run", IDENTITY)
    stages.scores(Fake(), np.zeros((3, 2)))
    np.save(tmp_path / "run" / "scores-0-3.npy", np.array([{"code": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        RunStages(tmp_path, "run", IDENTITY).scores(Fake(), np.zeros((3, 2)))


@needs_mnist
def test_a_sweep_leaves_no_stages_behind(tmp_path):
    config = RunConfig("iforest", "mnist", 0, None, 0, "smoke", experiment="test")
    sweeps.sweep([config], tmp_path, workers=0, progress=False)
    assert (tmp_path / ".cache" / "runs").is_dir() is False or not any((tmp_path / ".cache" / "runs").iterdir())

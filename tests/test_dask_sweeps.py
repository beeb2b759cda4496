"""Sweeps on a Dask LocalCluster write the same records as the local pool and survive a lost worker."""
import os
import signal
import threading
import time

import pytest

from adlip import experiments
from adlip.experiments import RunConfig

pytest.importorskip("dask.distributed", reason="the Dask executor is optional: pip install 'adlip[dask]'")
pytestmark = pytest.mark.skipif(not os.environ.get("ADLIP_DATA_DIR"), reason="needs ADLIP_DATA_DIR (real MNIST)")

from adlip.dask_sweeps import check_scheduler, dask_sweep  # noqa: E402

MEASURED = ("auc", "lip_lower_bound", "lip_gradient_ascent", "epochs", "n_train", "n_test", "threads", "config",
            "budget", "profile_budget", "detector_params")


def measured(record):
    """What a run computed (its curves without their wall-clock seconds), not when or how fast."""
    history = {k: v for k, v in record["history"].items() if k != "seconds"}
    return dict({k: record[k] for k in MEASURED}, history=history)


def smoke(normal_class, algorithm="dcae", lipschitz=None):
    return RunConfig(algorithm, "mnist", normal_class, lipschitz, 0, "smoke", experiment="exp2")


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           env={"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"})
    with Client(cluster) as connected:
        yield connected
    cluster.close()


def test_the_same_records_as_the_local_pool(client, tmp_path):
    configs = [smoke(0), smoke(1, lipschitz=2.0)]
    local = experiments.sweep(configs, tmp_path / "local", workers=2, threads=1, progress=False)
    on_dask = dask_sweep(configs, tmp_path / "dask", client, progress=False)
    assert sorted(local.done) == sorted(on_dask.done) == sorted(c.run_id for c in configs)
    for config in configs:
        [mine] = experiments.load_records(experiments.record_path(tmp_path / "local", config))
        [theirs] = experiments.load_records(experiments.record_path(tmp_path / "dask", config))
        assert measured(mine) == measured(theirs)
    again = dask_sweep(configs, tmp_path / "dask", client, progress=False)
    assert sorted(again.skipped) == sorted(c.run_id for c in configs) and not again.done


def test_a_lost_worker_loses_nothing_finished_and_a_rerun_completes(client, tmp_path):
    configs = [smoke(k) for k in range(2, 6)]
    result = {}
    sweeping = threading.Thread(target=lambda: result.update(summary=dask_sweep(configs, tmp_path, client,
                                                                                  progress=False)))
    sweeping.start()
    deadline = time.time() + 600
    while not any(tmp_path.glob("*.jsonl")) and time.time() < deadline:
        time.sleep(0.5)
    finished = {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl")}
    assert finished, "no run finished in 10 minutes"
    victim = sorted(client.scheduler_info()["workers"])[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)                      # the worker dies mid-sweep (its nanny restarts it)
    sweeping.join(timeout=900)
    assert not sweeping.is_alive()
    rerun = dask_sweep(configs, tmp_path, client, progress=False)
    assert len(rerun.skipped) + len(rerun.done) == len(configs) and not rerun.failed
    for name, content in finished.items():          # what had finished is untouched
        assert (tmp_path / name).read_bytes() == content
    assert all(r["status"] == "ok" for r in experiments.load_records(tmp_path))


@pytest.mark.parametrize("scheduler, message", [("local:0", "N >= 1"), ("local:two", "N >= 1"),
                                                ("somewhere", "an address")])
def test_a_bad_scheduler_is_refused_before_any_work(scheduler, message):
    with pytest.raises(ValueError, match=message):
        check_scheduler(scheduler)


def test_the_command_line_refuses_a_bad_scheduler_before_any_work(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "adlip", "sweep", "--experiment", "exp2", "--profile", "smoke",
                             "--out", str(tmp_path / "out"), "--scheduler", "local:0", "--allow-dirty"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "local:N needs a number of workers" in result.stderr
    assert not (tmp_path / "out").exists()

"""Sweeps on a Dask cluster: the same runs and records as :func:`adlip.sweeps.sweep`, on many machines.

``dask_sweep(configs, out_dir, scheduler)`` submits every unfinished run as one Dask task. A task
trains and measures its run in a Dask worker and returns the record; the client writes it to
``out_dir`` (so the workers need no shared folder) as soon as it arrives, the way the local pool
does. Finished runs are skipped exactly as there. A run that raises is recorded as failed; a worker
that dies mid-run has its task retried on another worker by the scheduler, and a task that keeps
killing workers is recorded as failed, so the sweep goes on and a rerun of the same command does
what is left.

``scheduler`` is a scheduler's address (``tcp://host:8786``: a cluster started by
``dask-jobqueue`` on SLURM or PBS, by the Dask Kubernetes operator, or by hand with
``dask scheduler`` / ``dask worker``) or ``local:N`` for a ``LocalCluster`` of N single-threaded
worker processes on this machine. Needs the optional extra: ``pip install "adlip[dask]"``.
"""
from __future__ import annotations

import time
import traceback

from adlip import runs
from adlip.records import write_record
from adlip.runs import RunConfig, failed_record, run_one
from adlip.sweeps import SweepError, SweepSummary, prepare, record_path


def run_task(config: dict, threads: int = 1) -> dict:
    """One run inside a Dask worker: its record, or a failed record with the traceback."""
    run = RunConfig.from_dict(config)
    try:
        runs.set_threads(threads, if_started="keep")
        return run_one(run)
    except Exception:  # the record says what went wrong; the sweep goes on
        return failed_record(run, traceback.format_exc())


def check_scheduler(scheduler: str) -> None:
    """Refuse, before any work, a scheduler adlip cannot use: Dask missing, or a bad ``local:N``."""
    try:
        import dask.distributed  # noqa: F401  (only to know that Dask is there)
    except ImportError:
        raise ValueError("--scheduler needs Dask: pip install \"adlip[dask]\" (dask[distributed])") from None
    if scheduler.startswith("local:"):
        count = scheduler.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--scheduler local:N needs a number of workers N >= 1, got {scheduler!r}")
    elif "://" not in scheduler and ":" not in scheduler:
        raise ValueError(f"--scheduler takes an address such as tcp://host:8786 or local:N, got {scheduler!r}")


def connect(scheduler: str):
    """A ``dask.distributed.Client`` for ``scheduler`` (an address, or ``local:N``)."""
    check_scheduler(scheduler)
    from dask.distributed import Client, LocalCluster

    if scheduler.startswith("local:"):
        count = scheduler.removeprefix("local:")
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"TF_NUM_INTRAOP_THREADS": "1",
                                                            "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"})
        return Client(cluster)
    return Client(scheduler)


def dask_sweep(configs, out_dir, scheduler, progress: bool = True, threads: int = 1,
               resources: dict | None = None) -> SweepSummary:
    """Run every configuration whose record is missing from ``out_dir`` as a task on ``scheduler``.

    ``scheduler`` is an address, ``local:N``, or a ``Client`` already connected; ``resources`` are
    Dask worker resources each task asks for (``{"GPU": 1}`` on a cluster whose workers declare
    GPUs). Returns what happened, like :func:`adlip.sweeps.sweep`.
    """
    from dask.distributed import as_completed

    from adlip.progress import progress_bar

    start = time.perf_counter()
    out_dir, summary, todo = prepare(configs, out_dir)
    owns_client = not hasattr(scheduler, "submit")
    client = connect(scheduler) if owns_client else scheduler
    try:
        futures = {client.submit(run_task, config.to_dict(), threads, key=f"adlip-{config.run_id}", pure=False,
                                 resources=resources): config for config in todo}
        with progress_bar(total=len(todo), desc="dask sweep", unit="run", disable=not progress) as bar:
            for future in as_completed(futures):
                config = futures.pop(future)
                try:
                    record = future.result()
                except Exception as error:   # e.g. KilledWorker: the task killed every worker it ran on
                    record = failed_record(config, f"the Dask task failed: {error!r}")
                write_record(record, record_path(out_dir, config))
                (summary.done if record.get("status") == "ok" else summary.failed).append(config.run_id)
                bar.update(1)
    except OSError as error:
        raise SweepError(f"the sweep in {out_dir} stopped: {error}. Every record written so far is kept; "
                         "run the same command again to do the rest") from None
    finally:
        if owns_client:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    summary.seconds = time.perf_counter() - start
    return summary

"""Resumable sweeps: many runs, each in its own worker process, each record written as it ends.

Running a sweep runs the configurations whose record does not exist yet (or was made under another
budget), so an interrupted sweep loses only the runs in flight and one crashing run does not stop
the others. A lock file per run lets two sweeps share one folder without doing a run twice.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from adlip.profiles import PHASES, get_profile
from adlip.records import REPO_ROOT, load_records, remove_stale_temporaries, write_record
from adlip.runs import FURTHER_PHASES, PHASE_OF, RunConfig, failed_record, run_one, set_threads


@dataclass
class SweepSummary:
    done: list = field(default_factory=list)      # run ids finished in this call
    skipped: list = field(default_factory=list)   # run ids whose record already existed
    failed: list = field(default_factory=list)    # run ids that failed in this call
    elsewhere: list = field(default_factory=list) # run ids another sweep was running
    seconds: float = 0.0

    def __str__(self):
        text = (f"{len(self.done)} runs done, {len(self.failed)} failed, {len(self.skipped)} already there, "
                f"{self.seconds:.0f} s")
        return text + (f", {len(self.elsewhere)} left to another sweep running them" if self.elsewhere else "")


def record_path(out_dir, config: RunConfig) -> Path:
    return Path(out_dir) / f"{config.run_id}.jsonl"


# Profile fields that name the grid rather than the budget of one run: a change to them leaves
# finished runs valid.
_GRID_FIELDS = {"name", "seeds", "classes", "datasets", "lipschitz_constants", "dataset_budgets"}
_ANOGAN_FIELDS = {"anogan_test_size", "latent_steps", "anogan_train_score_size", "gan_orthogonalization"}


def same_budget(record: dict, config: RunConfig) -> bool:
    """Whether ``record`` was produced under the budget ``config``'s profile now gives its data set."""
    recorded = record.get("profile_budget") or {}
    current = json.loads(json.dumps(get_profile(config.profile, dataset=config.dataset).to_dict()))
    ignored = _GRID_FIELDS if config.algorithm == "anogan" else _GRID_FIELDS | _ANOGAN_FIELDS
    if config.algorithm == "fanogan":                 # its Lipschitz GAN's layers follow the profile too
        ignored = ignored - {"gan_orthogonalization"}
    own_phases = {PHASE_OF.get(config.algorithm), *FURTHER_PHASES.get(config.algorithm, ())}
    ignored = ignored | {f"{phase}_epochs_scale" for phase in PHASES if phase not in own_phases}
    return all(recorded[key] == value for key, value in current.items() if key not in ignored and key in recorded)


def is_finished(out_dir, config: RunConfig) -> bool:
    """A run is finished when its record exists, says ``ok`` and was produced under the profile's
    current budget for its data set (failed and out-of-budget runs are done again)."""
    path = record_path(out_dir, config)
    if not path.is_file():
        return False
    try:
        records = load_records(path, strict=True)
    except (OSError, ValueError):
        return False          # torn or unreadable: not done (the rerun replaces it)
    return bool(records) and all(r.get("status") == "ok" and r.get("run_id") == config.run_id
                                 and same_budget(r, config) for r in records)


class SweepError(RuntimeError):
    """A sweep cannot go on (its folder became unwritable, the disk is full): the message says why."""


def _die_with_parent() -> None:
    """In a worker process (Linux): receive SIGTERM when the sweep process dies, even by SIGKILL."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_in_subprocess(config: RunConfig, out_dir: Path, threads: int, lock=None) -> subprocess.Popen:
    """Start a worker process for one run; it shares ``lock`` (an open lock file) so that the run
    stays claimed for as long as either process lives."""
    environment = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1",
                       OMP_NUM_THREADS=str(threads))
    command = [sys.executable, "-m", "adlip", "run-config", json.dumps(config.to_dict()),
               "--record", str(record_path(out_dir, config)), "--cache-dir", str(Path(out_dir) / ".cache")]
    with open(Path(out_dir) / "logs" / f"{config.run_id}.log", "w") as log:
        return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                preexec_fn=_die_with_parent, pass_fds=(lock.fileno(),) if lock else ())


def claim(out_dir, config: RunConfig):
    """An open, exclusively locked file that claims ``config`` in ``out_dir``, or None if another
    sweep holds it. The lock goes when every process holding the file ends, however it ends."""
    import fcntl

    folder = Path(out_dir) / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / f"{config.run_id}.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def prepare(configs, out_dir) -> tuple:
    """``(out_dir, summary, todo)`` for a sweep of ``configs``: the folder made absolute (workers may
    start elsewhere) and writable, its stale temporaries gone, finished runs counted as skipped."""
    out_dir = Path(out_dir).absolute()
    try:
        (out_dir / "logs").mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out_dir)
    except OSError as error:
        raise SweepError(f"cannot write to {out_dir}: {error}") from None
    summary, todo = SweepSummary(), []
    for config in configs:
        if is_finished(out_dir, config):
            summary.skipped.append(config.run_id)
        else:
            todo.append(config)
    return out_dir, summary, todo


def parallelism(workers=None, threads=None) -> tuple:
    """(worker processes, TensorFlow threads per worker) for a sweep on this machine.

    By default one single-threaded worker per core: measured on 2 cores
    (``benchmarks/bench_parallelism.py``), two one-thread processes train the Lipschitz MNIST DCAE at
    about twice the rate of one two-thread process and the standard one at about 1.2 times, since
    these small networks do not keep two threads busy. A single-threaded worker also gives the same
    bits whatever else the machine runs.
    """
    cores = os.cpu_count() or 1
    workers = cores if workers is None else int(workers)
    if workers < 0:
        raise ValueError(f"workers must be 0 (in this process) or more, got {workers}")
    threads = max(1, cores // max(workers, 1)) if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"threads must be 1 or more, got {threads}")
    return workers, threads


def sweep(configs, out_dir, workers: int = 1, progress: bool = True, threads: int | None = None) -> SweepSummary:
    """Run every configuration whose record is missing from ``out_dir``; return what happened.

    ``workers >= 1`` runs each configuration in its own Python process (at most ``workers`` at once,
    each with ``threads`` TensorFlow threads; default: the cores shared out), so a crash in one run
    is recorded as a failed record and the others go on. ``workers=0`` runs them in this process,
    one after another (for tests and debugging).

    Nothing is lost or done twice: a run is claimed by a lock file while it runs, so two sweeps on
    one folder share the work (a run claimed elsewhere is left to that sweep, ``summary.elsewhere``);
    stopping a sweep (Ctrl-C, SIGTERM, or SIGKILL of this process) stops its workers too; a folder
    that cannot be written any more ends the sweep with a ``SweepError`` that says so, keeping every
    record already written.
    """
    import signal

    from adlip.progress import progress_bar as tqdm

    start = time.perf_counter()
    out_dir, summary, todo = prepare(configs, out_dir)
    bar = tqdm(total=len(todo), desc="sweep", unit="run", disable=not progress)
    running: dict = {}

    def finish(config, ok):
        (summary.done if ok else summary.failed).append(config.run_id)
        bar.update(1)
        bar.set_postfix(failed=len(summary.failed))

    def next_claimed(queue):
        """The next configuration of ``queue`` still to do and not claimed elsewhere, with its lock."""
        while queue:
            config = queue.pop(0)
            if is_finished(out_dir, config):        # another sweep finished it meanwhile
                summary.skipped.append(config.run_id)
                bar.update(1)
                continue
            lock = claim(out_dir, config)
            if lock is None:
                summary.elsewhere.append(config.run_id)
                bar.update(1)
                continue
            return config, lock
        return None, None

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop) if _in_main_thread() else None
    queue = list(todo)
    try:
        if workers == 0:
            while queue:
                config, lock = next_claimed(queue)
                if config is None:
                    break
                with lock:
                    try:
                        record, ok = run_one(config, cache_dir=out_dir / ".cache"), True
                    except Exception:  # one failing run must not stop the sweep
                        record, ok = failed_record(config, traceback.format_exc()), False
                    write_record(record, record_path(out_dir, config))
                finish(config, ok)
        else:
            workers, threads = parallelism(workers, threads)
            while queue or running:
                while len(running) < workers:
                    config, lock = next_claimed(queue)
                    if config is None:
                        break
                    running[config.run_id] = (config, _run_in_subprocess(config, out_dir, threads, lock), lock)
                time.sleep(0.5)
                for run_id, (config, process, lock) in list(running.items()):
                    if process.poll() is None:
                        continue
                    del running[run_id]
                    ok = process.returncode == 0 and is_finished(out_dir, config)
                    if not ok and not is_finished(out_dir, config):
                        log = Path(out_dir) / "logs" / f"{run_id}.log"
                        write_record(failed_record(config, f"process exited with code {process.returncode}; "
                                                   f"see {log}"), record_path(out_dir, config))
                    lock.close()
                    finish(config, ok)
    except OSError as error:
        raise SweepError(f"the sweep in {out_dir} stopped: {error}. Every record written so far is kept; "
                         "make the folder writable (or free disk space) and run the same command again "
                         "to do the rest") from None
    finally:
        _stop_workers(running)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _stop_workers(running: dict) -> None:
    """Terminate the workers still running (an interrupted sweep), then release their claims."""
    for config, process, lock in running.values():
        if process.poll() is None:
            process.terminate()
    for config, process, lock in running.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        lock.close()


def run_config_main(config_json: str, record: str, cache_dir=None) -> int:
    """Entry point of a sweep's worker process: run one configuration, write its record."""
    config = RunConfig.from_dict(json.loads(config_json))
    threads = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    if threads:
        set_threads(threads)
    try:
        result = run_one(config, cache_dir=cache_dir)
    except Exception:
        traceback.print_exc()
        result = failed_record(config, traceback.format_exc())
    try:
        write_record(result, Path(record))
    except OSError as error:
        print(f"error: could not write the record {record}: {error}", file=sys.stderr)
        return 1
    return 0 if result["status"] == "ok" else 1

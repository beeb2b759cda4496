"""Write ``smoke_records/<platform>.json``: what one run of each detector gives at the ``smoke`` budget.

A file pins the numbers (ROC-AUC, Lipschitz bounds, training history, budget) of one MNIST
class-0 run of every algorithm the sweeps run, standard and Lipschitz, so that a restructuring
of the package can be checked to leave every result unchanged (``tests/test_records_unchanged.py``).
Runs go through the sweep with one single-threaded worker, the configuration the committed records
were made with, because the thread layout is part of a result.

The numbers are bitwise reproducible on one kind of CPU only (see ``adlip.records.cpu``), so there
is one file per platform: the CPU's vector instruction sets and the numeric stack's versions.

    python tests/golden/make_smoke_records.py    # from the repository root, with ADLIP_DATA_DIR set

Only rerun it when a change is meant to move the numbers (then delete the other platforms' files,
which no longer hold), or to pin a new platform from the commit the others were made at, and say
so in the commit.
"""
import hashlib
import json
import platform as host
import sys
import tempfile
from pathlib import Path

from adlip import experiments, records
from adlip.experiments import RunConfig

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "smoke_records"
COMPARED_FIELDS = ("auc", "lip_lower_bound", "lip_gradient_ascent", "lip_round_maxima", "history",
                   "epochs", "budget", "n_train", "n_test", "collapsed", "data_fingerprint")


def configs() -> list:
    """Class 0 of MNIST, seed 0: every thesis algorithm (standard and at its experiment-2 K), the
    classical baselines and the companions at the constants their studies use."""
    runs = []
    for algorithm in experiments.DEEP_ALGORITHMS:
        for k in (None, experiments.chosen_constant("mnist", algorithm)):
            runs.append(RunConfig(algorithm, "mnist", 0, k, 0, "smoke", experiment="exp2"))
    runs += [RunConfig(a, "mnist", 0, None, 0, "smoke", experiment="baselines")
             for a in experiments.BASELINE_ALGORITHMS]
    runs += [RunConfig(a, "mnist", 0, k, 0, "smoke", experiment="companions")
             for a, k in experiments.COMPANION_RUNS]
    return runs


def platform() -> dict:
    """What decides the last bits of a result besides the code: the CPU's vector instruction sets
    and the versions of the numeric stack."""
    versions = records.versions()
    return dict(machine=host.machine(), cpu_features=records.cpu()["features"],
                **{name: versions[name] for name in ("tensorflow", "tf-keras", "deel-lip", "numpy")})


def platform_id(described: dict) -> str:
    """A file name for a platform: its widest instruction set, readable, then a hash of the rest."""
    features = described.get("cpu_features") or ["unknown"]
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:8]
    return f"{described.get('machine')}-{features[-1]}-{digest}"


def smoke_records(out_dir) -> dict:
    """Run every configuration (one single-threaded worker) and return ``{run_id: compared fields}``."""
    runs = configs()
    summary = experiments.sweep(runs, out_dir, workers=1, threads=1, progress=False)
    if summary.failed:
        raise RuntimeError(f"smoke runs failed: {summary.failed}")
    found = {}
    for config in runs:
        (record,) = experiments.load_records(experiments.record_path(out_dir, config))
        found[config.run_id] = {field: record.get(field) for field in COMPARED_FIELDS}
        found[config.run_id]["history"] = {name: values for name, values in (record["history"] or {}).items()
                                           if name != "seconds"}  # wall time is not a result
        found[config.run_id]["config"] = config.to_dict()
    return found


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        found = smoke_records(Path(folder))
    commit = experiments.git_commit()
    here = platform()
    out = OUT_DIR / f"{platform_id(here)}.json"
    OUT_DIR.mkdir(exist_ok=True)
    out.write_text(json.dumps({"made_at": commit, "platform": here, "records": found},
                              indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(found)} records to {out} (made at {commit})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

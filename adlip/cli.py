"""The command line: ``adlip run ...`` trains and measures one detector; ``adlip sweep ...`` runs an
experiment's whole grid, resumably. Both write the same JSON-lines records. ``python -m adlip`` is the
same command."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from adlip import data, experiments
from adlip.checks import check_integer
from adlip.data import INPUT_SHAPES
from adlip.profiles import PROFILES
from adlip.runs import set_threads


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _constant(text: str):
    """A Lipschitz constant for ``sweep --lipschitz``: a positive number, or 'std' (None)."""
    return None if text.lower() in ("std", "none", "standard") else _positive_float(text)


# Detector arguments that have a flag of their own (or are set by the profile): not --option's.
OWN_FLAGS = {"dataset": "--dataset", "lipschitz": "--lipschitz", "seed": "--seed",
             "epochs_scale": "--epochs-scale", "verbose": "--quiet"}
MAX_SEED = 2 ** 32 - 1


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in 0..{MAX_SEED} (NumPy's and TensorFlow's seed range), got {value}")
    return value


def _normal_class(text: str):
    """A class index, or a class name such as ``airplane`` (checked against the data set later)."""
    try:
        return int(text)
    except ValueError:
        return text


def _option(text: str) -> tuple:
    name, separator, value = text.partition("=")
    if not separator or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME a detector argument, got {text!r}")
    if name in OWN_FLAGS:
        raise argparse.ArgumentTypeError(f"{name} has its own flag: use {OWN_FLAGS[name]} instead of --option")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


# The commands users see. The worker command run-config (one sweep run in a child process) is left out
# of every listing: it is an internal interface, not a promise.
PUBLIC_COMMANDS = ("run", "sweep", "study", "decoder-study")


def version() -> str:
    """adlip's version: the package's ``__version__``, else the installed distribution's metadata."""
    import adlip

    found = getattr(adlip, "__version__", None)
    if found:
        return found
    from importlib.metadata import version as distribution_version

    return distribution_version("adlip")


def program_name(argv0: str | None = None) -> str:
    """The name usage lines show: ``adlip`` when run as the console script, else ``python -m adlip``.

    Decided from ``sys.argv[0]`` (or ``argv0``), so that a usage line can be pasted back as it is.
    """
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    return "adlip" if name in ("adlip", "adlip.exe") else "python -m adlip"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The whole command line: the public commands, their options (each with help), and the worker."""
    parser = argparse.ArgumentParser(prog=prog or program_name(), description=__doc__)
    parser.add_argument("--version", action="version", version=f"adlip {version()}",
                        help="print adlip's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, title="commands",
                                     metavar="{" + ",".join(PUBLIC_COMMANDS) + "}")

    run = commands.add_parser("run", help="train one detector on one one-vs-rest task and print its record")
    run.add_argument("--algorithm", required=True, choices=experiments.ALGORITHMS,
                     help="the detector to train and score")
    run.add_argument("--dataset", required=True, choices=sorted(INPUT_SHAPES),
                     help="the data set: its normal class is the training data, every other class an anomaly")
    run.add_argument("--normal-class", required=True, type=_normal_class, metavar="N",
                     help="the normal class: an index or a class name (e.g. airplane for CIFAR-10)")
    run.add_argument("--lipschitz", type=_positive_float, metavar="K",
                     help="the Lipschitz constant K; leave out for the standard model")
    run.add_argument("--seed", type=_seed, default=0, metavar="S",
                     help="seed of the data subsets, the initial weights and the training; default 0")
    run.add_argument("--profile", default="quick", choices=sorted(PROFILES),
                     help="budgets (epochs scale, subsets, bound budget); default quick")
    run.add_argument("--epochs-scale", type=_positive_float, metavar="F",
                     help="multiply the thesis's epochs by F (overrides the profile's scale)")
    run.add_argument("--option", action="append", type=_option, metavar="NAME=VALUE", default=[],
                     help="a further detector argument, e.g. decoder=operatorconv or activation=groupsort2 "
                          "(repeatable; VALUE is read as JSON if it parses, else as text)")
    run.add_argument("--out", type=Path, metavar="FILE", help="also append the record to this JSON-lines file")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    sweep = commands.add_parser("sweep", help="run an experiment's grid; reruns skip finished runs")
    sweep.add_argument("--experiment", required=True, choices=experiments.EXPERIMENTS,
                       help="the experiment whose grid of runs to do")
    sweep.add_argument("--profile", default="quick", choices=sorted(PROFILES),
                       help="budgets (epochs scale, subsets, bound budget, seeds); default quick")
    sweep.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the records")
    sweep.add_argument("--workers", type=int, default=None, metavar="N",
                       help="runs in parallel, each in its own process (0: in this process; default: "
                            "one per core)")
    sweep.add_argument("--threads", type=int, default=None, metavar="T",
                       help="TensorFlow threads per worker (default: the cores shared out, 1 with one "
                            "worker per core)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster instead of local worker processes: a scheduler address "
                            "(tcp://host:8786) or local:N for N local Dask workers (needs adlip[dask])")
    sweep.add_argument("--resources", action="append", type=_option, metavar="NAME=COUNT", default=[],
                       help="with --scheduler: Dask worker resources each run asks for, e.g. GPU=1 (repeatable)")
    sweep.add_argument("--dataset", action="append", choices=sorted(INPUT_SHAPES),
                       help="only this data set (repeatable)")
    sweep.add_argument("--algorithm", action="append", choices=experiments.ALGORITHMS,
                       help="only this algorithm (repeatable)")
    sweep.add_argument("--normal-class", action="append", type=_normal_class, metavar="N",
                       help="only this normal class, an index or a class name (repeatable)")
    sweep.add_argument("--seed", action="append", type=_seed, metavar="S", dest="seeds",
                       help="only this seed (repeatable)")
    sweep.add_argument("--lipschitz", action="append", type=_constant, metavar="K", dest="constants",
                       help="only this Lipschitz constant, or 'std' for the standard models (repeatable)")
    sweep.add_argument("--allow-dirty", action="store_true",
                       help="write records even if adlip/ has uncommitted changes (they are marked +dirty)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs still to do and stop")

    named = commands.add_parser("study", help="write a study's missing records (any study of the book); "
                                "reruns skip finished runs")
    named.add_argument("name", nargs="?", metavar="NAME",
                       help="the study (leave out, or --list, to list them with what each is)")
    named.add_argument("--list", action="store_true", help="list the studies and stop")
    named.add_argument("--profile", default="quick", choices=sorted(PROFILES),
                       help="the budget profile; default quick")
    named.add_argument("--results-dir", default=Path("results"), type=Path, metavar="DIR",
                       help="records go to DIR/<study>/<profile>/; default results")
    named.add_argument("--workers", type=int, default=None, metavar="N",
                       help="for the thesis's experiments: runs in parallel, one process each (default: "
                            "one per core); other studies run one after another")
    named.add_argument("--threads", type=int, default=None, metavar="T",
                       help="TensorFlow threads of this process (default: TensorFlow's, all cores); records "
                            "carry the count, and the same count gives the same bits")
    named.add_argument("--only", action="append", default=[], metavar="PATTERN",
                       help="run only the runs whose id matches this shell pattern (repeatable), e.g. "
                            "'*-K50-*'; two processes with disjoint patterns share a grid")
    named.add_argument("--allow-dirty", action="store_true",
                       help="write records even if adlip/ has uncommitted changes (they are marked +dirty)")
    named.add_argument("--dry-run", action="store_true", help="list the runs still to do and stop")

    study = commands.add_parser("decoder-study",
                                help="the SpectralConv2D decoder study (book chapter 19); reruns skip finished variants")
    study.add_argument("--profile", default="quick", choices=sorted(PROFILES),
                       help="budgets (epochs scale, subsets); default quick")
    study.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the records")
    study.add_argument("--dataset", default="mnist", choices=sorted(INPUT_SHAPES),
                       help="the data set; default mnist")
    study.add_argument("--normal-class", default=0, type=int, metavar="N",
                       help="index of the normal class; default 0")
    study.add_argument("--seed", default=0, type=int, metavar="S",
                       help="seed of the data subsets, the initial weights and the training; default 0")
    study.add_argument("--variant", action="append", metavar="NAME",
                       help="only this variant (repeatable; default: all of adlip.studies.decoders.VARIANTS)")

    # No help= at all: with help=argparse.SUPPRESS, Python 3.11's argparse still lists the command, as
    # "run-config ==SUPPRESS==", under the commands; without it the command gets no line there.
    worker = commands.add_parser("run-config", description="internal: one run of a sweep, in a worker process")
    worker.add_argument("config_json", help="the run's RunConfig as JSON")
    worker.add_argument("--record", required=True, help="file the worker writes the run's record to")
    worker.add_argument("--cache-dir", help="folder where the sweep's Deep SVDD runs share their pretrained DCAE")
    return parser


def _run(args) -> int:
    try:
        normal_class = data._check_class(args.dataset, args.normal_class)
        if args.out:
            experiments.check_records_file(args.out)
        config = experiments.RunConfig(args.algorithm, args.dataset, normal_class, args.lipschitz,
                                       args.seed, args.profile, args.epochs_scale,
                                       options=tuple(sorted(dict(args.option).items())))
        detector = experiments.make_detector(config)      # unknown options fail here, before training
        detector.check_params()                           # and invalid values of known ones
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = experiments.run_one(config, verbose=0 if args.quiet else 1)
    line = json.dumps(record, sort_keys=True)
    print(line)
    if args.out:
        try:
            experiments.append_record(record, args.out)
        except OSError as error:
            print(f"error: the record could not be appended to {args.out}: {error} (it is printed above)",
                  file=sys.stderr)
            return 1
    return 0


def _usage_error(error) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def _refuse_dirty_code(args) -> None:
    """Records name the commit that made them: refuse uncommitted code unless --allow-dirty (or
    --dry-run, which writes nothing)."""
    if not args.dry_run:
        experiments.check_clean_code(args.allow_dirty)


def _sweep(args) -> int:
    try:
        workers, threads = experiments.parallelism(args.workers, args.threads)
        configs = experiments.grid(args.experiment, args.profile, args.dataset)
        if args.scheduler:
            from adlip.dask_sweeps import check_scheduler

            check_scheduler(args.scheduler)
        _refuse_dirty_code(args)
    except ValueError as error:
        return _usage_error(error)
    if args.algorithm:
        configs = [c for c in configs if c.algorithm in args.algorithm]
    if args.normal_class:
        try:
            wanted = {(name, data._check_class(name, value)) for value in args.normal_class
                      for name in {c.dataset for c in configs}}
        except ValueError as error:
            print(f"error: --normal-class: {error}", file=sys.stderr)
            return 2
        configs = [c for c in configs if (c.dataset, c.normal_class) in wanted]
    if args.seeds:
        configs = [c for c in configs if c.seed in args.seeds]
    if args.constants:
        configs = [c for c in configs if c.lipschitz in args.constants]
    if args.dry_run:
        todo = [c for c in configs if not experiments.is_finished(args.out, c)]
        for config in todo:
            print(config.run_id)
        print(f"{len(todo)} of {len(configs)} runs to do", file=sys.stderr)
        if todo:
            print(f"expected: {_estimate(args, todo).describe(workers or 1)}", file=sys.stderr)
        return 0
    if args.scheduler:
        print(f"sweep: on the Dask scheduler {args.scheduler}", file=sys.stderr)
    elif workers:
        print(f"sweep: {workers} worker process(es) x {threads} TensorFlow thread(s) each", file=sys.stderr)
    try:
        if args.scheduler:
            from adlip.dask_sweeps import dask_sweep

            summary = dask_sweep(configs, args.out, args.scheduler, resources=dict(args.resources) or None)
        else:
            summary = experiments.sweep(configs, args.out, workers=workers, threads=threads)
    except experiments.SweepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sweep interrupted: its workers are stopped, finished records are kept; run the same command "
              "again to do the rest", file=sys.stderr)
        return 130
    print(summary)
    return 1 if summary.failed else 0


def _estimate(args, todo):
    """Price the runs ``todo`` by the records finished in ``--out`` and the committed ones at the same
    profile (both experiments train the same runs, with other constants), preferring those made
    on this processor."""
    from adlip.estimates import expected_seconds
    from adlip.records import cpu

    finished = experiments.load_records(args.out) if args.out.is_dir() else []
    committed = [r for experiment in ("exp1", "exp2")
                 for r in experiments.committed_records(experiment, args.profile)]
    by_run = {r.get("run_id"): r for r in committed + finished}
    return expected_seconds(todo, list(by_run.values()), processor=cpu())


def _matching_specs(specs, patterns) -> list:
    """The run specs whose id matches one of the shell ``patterns`` (all of them when none is given)."""
    import fnmatch

    if not patterns:
        return list(specs)
    ids = {getattr(spec, "run_id", str(spec)): spec for spec in specs}
    chosen = [spec for run_id, spec in ids.items() if any(fnmatch.fnmatchcase(run_id, p) for p in patterns)]
    if not chosen:
        raise ValueError(f"--only {' '.join(patterns)} matches none of the runs: {', '.join(ids)}")
    return chosen


def _study(args) -> int:
    from adlip.studies import catalog

    if args.list or not args.name:
        width = max(map(len, catalog.STUDIES))
        for name, study in catalog.STUDIES.items():
            print(f"{name:>{width}}  {study.title}")
        return 0
    try:
        study = catalog.get_study(args.name)
        specs = _matching_specs(study.grid(args.profile), args.only)
        todo = study.missing(args.profile, args.results_dir, specs)
        workers, _ = experiments.parallelism(args.workers)
        check_integer("--threads", args.threads, 1, allow_none=True, what="a positive integer")
        _refuse_dirty_code(args)
    except ValueError as error:
        return _usage_error(error)
    if args.dry_run:
        for spec in todo:
            print(getattr(spec, "run_id", spec))
        print(f"{len(todo)} of {len(study.grid(args.profile))} runs to do", file=sys.stderr)
        return 0
    if args.threads:
        set_threads(args.threads)
    try:
        study.run_missing(args.profile, args.results_dir, specs, workers=workers)
    except KeyboardInterrupt:
        print("study interrupted: finished records are kept; run the same command again to do the rest",
              file=sys.stderr)
        return 130
    folder = study.output_folder(args.profile, args.results_dir)
    print(f"{args.name} at {args.profile}: {len(todo)} runs done, records in {folder}")
    return 0


def _decoder_study(args) -> int:
    from adlip.studies import decoders

    try:
        variants = [decoders.get_variant(name) for name in (args.variant or [v.name for v in decoders.VARIANTS])]
        records = decoders.run_study(args.out, variants, args.dataset, args.normal_class, args.profile, args.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for record in records:
        print(f"{record['variant']['name']:>20}  train MSE {record['train_mse']:.4f}  "
              f"ROC-AUC {100 * record['auc']:.1f}%  decoder budget used {record['decoder_share']:.0%}")
    return 0


def main(argv=None) -> int:
    """Run one command; returns the process's exit status (``--help`` and ``--version`` exit 0 themselves)."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "study":
        return _study(args)
    if args.command == "decoder-study":
        return _decoder_study(args)
    return experiments.run_config_main(args.config_json, args.record, args.cache_dir)


if __name__ == "__main__":
    sys.exit(main())

"""The command line: ``python -m adlip run ...`` trains and measures one detector; ``python -m adlip
sweep ...`` runs an experiment's whole grid, resumably. Both write the same JSON-lines records."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adlip import experiments
from adlip.data import INPUT_SHAPES
from adlip.profiles import PROFILES


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _option(text: str) -> tuple:
    name, separator, value = text.partition("=")
    if not separator or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME a detector argument, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adlip", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train one detector on one one-vs-rest task and print its record")
    run.add_argument("--algorithm", required=True, choices=experiments.ALGORITHMS)
    run.add_argument("--dataset", required=True, choices=sorted(INPUT_SHAPES))
    run.add_argument("--normal-class", required=True, type=int, metavar="N")
    run.add_argument("--lipschitz", type=_positive_float, metavar="K",
                     help="the Lipschitz constant K; leave out for the standard model")
    run.add_argument("--seed", type=int, default=0)
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
    sweep.add_argument("--experiment", required=True, choices=experiments.EXPERIMENTS)
    sweep.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    sweep.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the records")
    sweep.add_argument("--workers", type=int, default=1, metavar="N",
                       help="runs in parallel, each in its own process (0: in this process)")
    sweep.add_argument("--dataset", action="append", choices=sorted(INPUT_SHAPES),
                       help="only this data set (repeatable)")
    sweep.add_argument("--algorithm", action="append", choices=experiments.ALGORITHMS,
                       help="only this algorithm (repeatable)")
    sweep.add_argument("--normal-class", action="append", type=int, metavar="N",
                       help="only this normal class (repeatable)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs still to do and stop")

    study = commands.add_parser("decoder-study",
                                help="the SpectralConv2D decoder study (book chapter 19); reruns skip finished variants")
    study.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    study.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the records")
    study.add_argument("--dataset", default="mnist", choices=sorted(INPUT_SHAPES))
    study.add_argument("--normal-class", default=0, type=int, metavar="N")
    study.add_argument("--seed", default=0, type=int)
    study.add_argument("--variant", action="append", metavar="NAME",
                       help="only this variant (repeatable; default: all of adlip.decoders.VARIANTS)")

    worker = commands.add_parser("run-config", help=argparse.SUPPRESS)
    worker.add_argument("config_json")
    worker.add_argument("--record", required=True)
    worker.add_argument("--cache-dir")
    return parser


def _run(args) -> int:
    try:
        config = experiments.RunConfig(args.algorithm, args.dataset, args.normal_class, args.lipschitz,
                                       args.seed, args.profile, args.epochs_scale,
                                       options=tuple(sorted(dict(args.option).items())))
        detector = experiments.make_detector(config)      # unknown options fail here, before training
        getattr(detector, "_check_params", lambda: None)()  # and invalid values of known ones
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = experiments.run_one(config, verbose=0 if args.quiet else 1)
    line = json.dumps(record, sort_keys=True)
    print(line)
    if args.out:
        experiments.append_record(record, args.out)
    return 0


def _sweep(args) -> int:
    if args.workers < 0:
        print("error: --workers must be 0 or more", file=sys.stderr)
        return 2
    configs = experiments.grid(args.experiment, args.profile, args.dataset)
    if args.algorithm:
        configs = [c for c in configs if c.algorithm in args.algorithm]
    if args.normal_class:
        configs = [c for c in configs if c.normal_class in args.normal_class]
    if args.dry_run:
        todo = [c for c in configs if not experiments.is_finished(args.out, c)]
        for config in todo:
            print(config.run_id)
        print(f"{len(todo)} of {len(configs)} runs to do", file=sys.stderr)
        return 0
    summary = experiments.sweep(configs, args.out, workers=args.workers)
    print(summary)
    return 1 if summary.failed else 0


def _decoder_study(args) -> int:
    from adlip import decoders

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
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "decoder-study":
        return _decoder_study(args)
    return experiments.run_config_main(args.config_json, args.record, args.cache_dir)


if __name__ == "__main__":
    sys.exit(main())

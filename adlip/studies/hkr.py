"""The one-class HKR chapter's MNIST study: one record per normal class at a profile's budget.

``python -m adlip.studies.hkr --profile quick`` writes the missing records under
``results/hkr/<profile>/``; :func:`mnist_records` is what the chapter calls.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from adlip.detectors.hkr import ACTIVATIONS, OneClassHKR
from adlip.experiments import fit_and_score
from adlip.metrics import certified_auroc
from adlip.reference.hkr import PAPER_MNIST_TABLE

# -- the chapter's MNIST table: one record per normal class ---------------------------------------

# Detector options per profile for the MNIST one-vs-rest table; the profile itself gives the
# classes, the subset sizes and the Lipschitz-bound budgets. "full" is the paper's setting (Table 2
# network, 1000 epochs). Under "quick" the paper's network does not fit a CPU budget (one training
# step with its generation of negatives takes about a minute here), so the table uses a 1-Lipschitz
# dense network (784-128-128-128-128-1, FullSort as in Table 2) for 12 epochs, about 1.5 minutes of
# CPU per class. (GroupSort2 instead of FullSort cost 2 to 7 points of ROC-AUC on classes 5 and 8.)
MNIST_BUDGETS = {
    "smoke": dict(architecture="dense", width=32, activation="fullsort", newton_steps=4),
    "quick": dict(architecture="dense", width=128, activation="fullsort", newton_steps=16, epochs_scale=0.012),
    "full": dict(),
}
CERTIFIED_RADII = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)   # L2 radii in [-1, 1] pixel units
SYNTHESIS = dict(n_samples=10, steps=64, seed=0)                   # the paper's Figure 2: T = 64, eta = 1
HISTOGRAM_BINS = 40


def mnist_run_id(normal_class: int, seed: int, activation=None) -> str:
    """``hkr-mnist-c<k>-s<seed>``, with ``-<activation>`` when it replaces the budget's."""
    return f"hkr-mnist-c{normal_class}-s{seed}" + (f"-{activation}" if activation else "")


def _histograms(groups: dict) -> dict:
    """Counts of f per group on one shared set of bins (the paper's Figure 5)."""
    values = np.concatenate(list(groups.values()))
    edges = np.linspace(values.min(), values.max(), HISTOGRAM_BINS + 1)
    return {"edges": edges.tolist(), **{name: np.histogram(v, edges)[0].tolist() for name, v in groups.items()}}


def run_mnist_class(normal_class: int, profile: str = "quick", seed: int = 0, activation=None, data_dir=None,
                    verbose: int = 0) -> dict:
    """Train and measure one MNIST one-vs-rest task at ``profile``'s budget; return its result record.

    ``activation`` None keeps the budget's (:data:`MNIST_BUDGETS`), otherwise replaces it.

    The record has the fields of ``adlip.experiments.run_one``'s records (``experiment`` "hkr",
    ``algorithm`` "hkr", ``lipschitz`` 1.0) plus ``certified_auroc`` (pairs ``[eps, AUROC]`` over
    :data:`CERTIFIED_RADII`), ``f_histogram`` (f on the training images, the normal and the
    anomalous test images) and ``generated`` (Algorithm 1 from uniform noise with T = 64 and
    eta = 1 towards ``f = 2 m``, as uint8 images).
    """
    from adlip import metrics
    from adlip.data import one_vs_rest
    from adlip.records import provenance
    from adlip.profiles import get_profile

    budget = get_profile(profile)
    options = dict(dict(epochs_scale=budget.epochs_scale), **MNIST_BUDGETS[budget.name])
    if activation is not None:
        options["activation"] = activation
    split = one_vs_rest("mnist", normal_class, scaling="tanh", train_size=budget.train_size,
                        test_size=budget.test_size, seed=1234, data_dir=data_dir)
    detector = OneClassHKR(seed=seed, verbose=verbose, **options)
    scores, train_seconds, score_seconds = fit_and_score(detector, split)
    normal, anomalous = scores[split.y_test == 0], scores[split.y_test == 1]
    network, x_test = detector.lipschitz_network, detector.lipschitz_inputs(split.x_test)
    bound = metrics.lipschitz_lower_bound(network, x_test, seed=seed, **budget.lipschitz_budget())
    ascent = metrics.lipschitz_gradient_ascent(network, x_test, starts=budget.ascent_starts,
                                               steps=budget.ascent_steps, seed=seed)
    generated = detector.generate(SYNTHESIS["n_samples"], steps=SYNTHESIS["steps"], seed=SYNTHESIS["seed"])
    return dict(
        run_id=mnist_run_id(normal_class, seed, activation), experiment="hkr", profile=budget.name, algorithm="hkr",
        dataset="mnist", normal_class=int(normal_class), lipschitz=1.0, seed=seed,
        epochs=detector.epochs_trained_, auc=metrics.roc_auc(split.y_test, scores),
        certified_auroc=[[eps, certified_auroc(normal, anomalous, eps)] for eps in CERTIFIED_RADII],
        lip_lower_bound=bound.value, lip_sigma=bound.sigma, lip_gradient_ascent=ascent.value,
        train_seconds=train_seconds, score_seconds=score_seconds,
        n_train=int(split.info["n_train"]), n_test=int(split.info["n_test"]),
        margin=detector.margin_, warmup_epochs=detector.warmup_epochs_,
        history={k: [float(v) for v in values] for k, values in detector.history_.items()},
        f_histogram=_histograms({"train": -detector.decision_scores_, "test normal": -normal,
                                 "test anomalous": -anomalous}),
        generated=np.round((generated[..., 0] + 1) * 127.5).clip(0, 255).astype(int).tolist(),
        status="ok", error=None, config=dict(options, scaling="tanh", seed=seed),
        profile_budget=budget.to_dict(), **provenance())


def mnist_records(profile: str = "quick", seed: int = 0, classes=None, results_dir="results", run=None,
                  activation=None, data_dir=None) -> list:
    """The chapter's MNIST records, ``results_dir/hkr/<profile>/<mnist_run_id>.jsonl``.

    ``run=None`` trains the missing classes only under the ``smoke`` profile and otherwise reads
    the committed records (``python -m adlip.studies.hkr --profile quick`` writes them);
    ``run=True`` trains whatever is missing, ``run=False`` never trains. ``classes`` None takes
    the profile's; ``activation`` replaces the budget's (records of their own).
    """
    from adlip.records import load_records, write_record
    from adlip.profiles import get_profile

    budget = get_profile(profile)
    classes = budget.classes if classes is None else tuple(classes)
    folder = Path(results_dir) / "hkr" / budget.name
    if run is None:
        run = budget.name == "smoke"
    records = []
    for normal_class in classes:
        path = folder / f"{mnist_run_id(normal_class, seed, activation)}.jsonl"
        if not path.is_file():
            if not run:
                command = f"python -m adlip.studies.hkr --profile {budget.name}" + (
                    f" --activation {activation}" if activation else "")
                raise ValueError(f"no one-class HKR record for class {normal_class} at {path}: run "
                                 f"`{command}` first, or pass run=True")
            write_record(run_mnist_class(normal_class, budget.name, seed, activation, data_dir=data_dir), path)
        records.extend(load_records(path))
    return records


def main(argv=None) -> int:
    """``python -m adlip.studies.hkr --profile quick [--classes 0 1] [--seed 0] [--activation groupsort2]``:
    write the missing MNIST records."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--classes", type=int, nargs="*")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--activation", choices=ACTIVATIONS, help="replace the budget's activation")
    args = parser.parse_args(argv)
    from adlip.profiles import get_profile

    for normal_class in get_profile(args.profile).classes if args.classes is None else args.classes:
        [record] = mnist_records(args.profile, args.seed, [normal_class], args.results_dir, run=True,
                                 activation=args.activation)
        print(f"class {record['normal_class']}: AUC {100 * record['auc']:.2f} "
              f"(paper {PAPER_MNIST_TABLE['hkr_auc'][record['normal_class']]:.2f}), "
              f"lower bound {record['lip_lower_bound']:.3f}, gradient ascent {record['lip_gradient_ascent']:.3f}, "
              f"{record['train_seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

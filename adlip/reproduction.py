"""How close a set of experiment-2 records comes to the thesis: per algorithm, on the same classes.

While a thesis-budget sweep is still running, the grid is complete for some normal classes only.
A mean over ten classes cannot be compared with a mean over three, so :func:`reproduction_table`
compares like with like: for each algorithm and model (standard, Lipschitz) it averages our ROC-AUC
over the classes that have a record and the thesis's over exactly those classes, and gives the
difference and the goal it is held to (the issue tracker's: within 2 points for the standard
detectors and 3 for the Lipschitz DCAE and Deep SVDDs; AnoGAN within the thesis's seed spread).
:func:`off_cells` goes down to single classes: the cells further from the thesis than its own seeds
spread (and, for a detector scored on a random subset of the test set, than that subset's own
sampling error), with our seeds' spread beside them where we have several.
"""
from __future__ import annotations

import statistics

from adlip import reference as ref
from adlip.tables import Table, aggregate_auc, aggregate_bound, label, select_records

GOAL_POINTS = {False: 2.0, True: 3.0}   # standard, Lipschitz: the largest gap counted as reproduced


def _per_class(stats: dict, dataset: str, value) -> dict:
    """Re-key aggregated stats as ``(algorithm, lipschitz) -> {normal class: value(stats)}`` for one data set."""
    cells = {}
    for (data_set, algorithm, k, normal_class), cell in stats.items():
        if data_set == dataset:
            cells.setdefault((algorithm, k is not None), {})[normal_class] = value(cell)
    return cells


def _class_stats(records, dataset: str, profile=None) -> dict:
    """``(algorithm, lipschitz) -> {normal class: AUCStats}`` (our mean, std over seeds, seeds)."""
    return _per_class(aggregate_auc(select_records(records, "exp2", profile)), dataset, lambda c: c)


def class_means(records, dataset: str = "mnist", profile=None) -> dict:
    """``(algorithm, lipschitz) -> {normal class: our mean ROC-AUC in percent over seeds}``."""
    return {key: {normal_class: cell.mean for normal_class, cell in by_class.items()}
            for key, by_class in _class_stats(records, dataset, profile).items()}


# A cell counts as off the thesis when it is further than this many of the thesis's seed standard
# deviations from its mean, and at least SPREAD_FLOOR points (the thesis prints 0.0 for some cells).
SPREADS = 2.0
SPREAD_FLOOR = 1.0
NORMAL_SHARE = 0.1   # each class is about a tenth of MNIST's and of CIFAR-10's test set


def subset_auc_std(auc_percent: float, n_test, full_size: int = ref.THESIS_BUDGET["test_size"]) -> float:
    """How far (percent, one standard deviation) a ROC-AUC moves between random test subsets.

    A detector scored on ``n_test`` images drawn at random from a test set of ``full_size`` would
    score a little differently on another draw: by the Hanley-McNeil standard error at that size
    (:func:`adlip.metrics.auc_standard_error`, with a tenth of the subset normal), shrunk by the
    finite-population factor ``sqrt(1 - n_test / full_size)``. Zero for the whole test set (or an
    unknown size), where every scoring sees the same images.
    """
    from adlip.metrics import auc_standard_error

    if n_test is None or n_test >= full_size:
        return 0.0
    n_normal = max(1, round(n_test * NORMAL_SHARE))
    error = 100 * auc_standard_error(min(max(auc_percent / 100, 0.0), 1.0), n_test - n_normal, n_normal)
    return error * (1 - n_test / full_size) ** 0.5


def _thesis_test_size(algorithm: str) -> int:
    """How many test images the thesis scored a detector on (AnoGAN: a seeded subset)."""
    return ref.THESIS_BUDGET["anogan_test_size" if algorithm == "anogan" else "test_size"]


def _subsets_std(algorithm: str, ours: float, n_test, thesis) -> float:
    """The combined test-subset sampling error (percent) of our cell and the thesis's."""
    return (subset_auc_std(ours, n_test) ** 2 + subset_auc_std(thesis.mean, _thesis_test_size(algorithm)) ** 2) ** 0.5


def cell_spread(algorithm: str, ours: float, n_test, thesis) -> float:
    """The standard deviation (percent) a cell's difference to the thesis has without any real change.

    The thesis's seed standard deviation and both sides' test-subset sampling errors, taken as
    independent: ``ours`` is our ROC-AUC in percent, ``n_test`` the test images we scored,
    ``thesis`` the thesis's :class:`adlip.reference.AUC` of the cell.
    """
    return ((thesis.std or 0.0) ** 2 + _subsets_std(algorithm, ours, n_test, thesis) ** 2) ** 0.5


def _test_sizes(records, dataset: str, profile=None) -> dict:
    """``(algorithm, lipschitz, normal class) -> the largest n_test`` of our records of a cell."""
    sizes = {}
    for record in select_records(records, "exp2", profile):
        if record.get("dataset") == dataset and record.get("n_test") is not None:
            key = (record.get("algorithm"), record.get("lipschitz") is not None, record.get("normal_class"))
            sizes[key] = max(sizes.get(key, 0), int(record["n_test"]))
    return sizes


def reproduction_rows(records, dataset: str = "mnist", profile=None) -> list:
    """One dict per algorithm and model: classes compared, our mean, the thesis's mean, difference, goal.

    The goal is the issue tracker's fixed one for the DCAE and Deep SVDDs. AnoGAN's is the thesis's
    own spread: ``SPREADS`` standard deviations of a mean over the compared classes, each class
    contributing its seed spread and both sides' test-subset error (:func:`cell_spread`).
    """
    rows = []
    stats = _class_stats(records, dataset, profile)
    sizes = _test_sizes(records, dataset, profile)
    for algorithm in ref.ALGORITHMS:
        for lipschitz in (False, True):
            ours = stats.get((algorithm, lipschitz), {})
            thesis = {c: ref.thesis_auc("exp2", dataset, algorithm, lipschitz, c) for c in ours}
            classes = sorted(c for c in ours if thesis[c])
            if not classes:
                continue
            our_mean = statistics.fmean(ours[c].mean for c in classes)
            thesis_mean = statistics.fmean(thesis[c].mean for c in classes)
            if algorithm == "anogan":
                variance = sum(cell_spread(algorithm, ours[c].mean, sizes.get((algorithm, lipschitz, c)),
                                           thesis[c]) ** 2 for c in classes)
                goal = SPREADS * variance ** 0.5 / len(classes)
            else:
                goal = GOAL_POINTS[lipschitz]
            rows.append(dict(algorithm=algorithm, lipschitz=lipschitz, classes=classes, ours=our_mean,
                             thesis=thesis_mean, difference=our_mean - thesis_mean, goal=goal))
    return rows


def _verdict(row) -> str:
    return "within" if abs(row["difference"]) <= row["goal"] else "outside"


def reproduction_table(records, dataset: str = "mnist", profile=None) -> Table:
    """The rows of :func:`reproduction_rows` as a table, its caption saying what is compared."""
    rows = [[label(r["algorithm"]), "Lipschitz" if r["lipschitz"] else "standard",
             ", ".join(map(str, r["classes"])), f"{r['ours']:.1f}", f"{r['thesis']:.1f}",
             f"{r['difference']:+.1f}", f"±{r['goal']:.1f}", _verdict(r)]
            for r in reproduction_rows(records, dataset, profile)]
    return Table(f"Experiment 2 ({dataset}): adlip against the thesis on the same normal classes",
                 ["Algorithm", "Model", "Classes", "ROC-AUC adlip (%)", "ROC-AUC thesis (%)", "Difference",
                  "Goal", "Verdict"], rows,
                 "Means over the normal classes that have a record (each class's ROC-AUC averaged over its "
                 "seeds first); the thesis's column averages its table over the same classes. Goal: the largest "
                 "difference counted as reproduced, fixed for the DCAE and Deep SVDDs; for AnoGAN twice the "
                 "standard deviation that the thesis's seed spreads and both sides' 1000-image test subsets "
                 "give a mean over those classes.")


def _class_bounds(records, dataset: str, profile=None) -> dict:
    """``(algorithm, lipschitz) -> {normal class: our largest lower bound over seeds}``."""
    return _per_class(aggregate_bound(select_records(records, "exp2", profile)), dataset, lambda c: c.value)


def claims_rows(records, dataset: str = "mnist", profile=None) -> list:
    """The thesis's section 5.2.2 claims, ours and the thesis's on the classes where both models ran.

    Per algorithm: the ROC-AUC the Lipschitz constraint costs (standard mean minus Lipschitz mean,
    points), the mean lower bound of each model, and the robustness ratio (standard bound over
    Lipschitz bound, of those means).
    """
    aucs, bounds = class_means(records, dataset, profile), _class_bounds(records, dataset, profile)
    rows = []
    for algorithm in ref.ALGORITHMS:
        ours = {flag: aucs.get((algorithm, flag), {}) for flag in (False, True)}
        ours_bound = {flag: bounds.get((algorithm, flag), {}) for flag in (False, True)}
        classes = sorted(set(ours[False]) & set(ours[True]) & set(ours_bound[False]) & set(ours_bound[True]))
        classes = [c for c in classes if all(ref.thesis_auc("exp2", dataset, algorithm, f, c)
                                             and ref.thesis_bound("exp2", dataset, algorithm, f, c) for f in (False, True))]
        if not classes:
            continue

        def mean(values):
            return statistics.fmean(values)

        row = dict(algorithm=algorithm, classes=classes)
        for who, auc, bound in (("ours", lambda f, c: ours[f][c], lambda f, c: ours_bound[f][c]),
                                ("thesis", lambda f, c: ref.thesis_auc("exp2", dataset, algorithm, f, c).mean,
                                 lambda f, c: ref.thesis_bound("exp2", dataset, algorithm, f, c).value)):
            standard, lipschitz = (mean(auc(f, c) for c in classes) for f in (False, True))
            bound_std, bound_lip = (mean(bound(f, c) for c in classes) for f in (False, True))
            row[who] = dict(cost=standard - lipschitz, bound_standard=bound_std, bound_lipschitz=bound_lip,
                            ratio=bound_std / bound_lip)
        rows.append(row)
    return rows


def claims_table(records, dataset: str = "mnist", profile=None) -> Table:
    """:func:`claims_rows` as a table."""
    rows = []
    for r in claims_rows(records, dataset, profile):
        ours, theirs = r["ours"], r["thesis"]
        rows.append([label(r["algorithm"]), ", ".join(map(str, r["classes"])),
                     f"{ours['cost']:+.1f}", f"{theirs['cost']:+.1f}",
                     f"{ours['bound_standard']:.2f} / {ours['bound_lipschitz']:.2f}",
                     f"{theirs['bound_standard']:.2f} / {theirs['bound_lipschitz']:.2f}",
                     f"{ours['ratio']:.2f}", f"{theirs['ratio']:.2f}"])
    return Table(f"The thesis's claims on {dataset}, on the classes both models have run",
                 ["Algorithm", "Classes", "AUC cost adlip (points)", "AUC cost thesis", "Bound std / Lip adlip",
                  "Bound std / Lip thesis", "Robustness ratio adlip", "Robustness ratio thesis"], rows,
                 "AUC cost = mean standard ROC-AUC minus mean Lipschitz ROC-AUC (positive: the constraint costs "
                 "accuracy); bounds are the random-pair lower bounds, averaged over the classes; robustness "
                 "ratio = mean standard bound / mean Lipschitz bound (above 1: the Lipschitz model is smoother).")


def off_cells(records, dataset: str = "mnist", profile=None) -> list:
    """The per-class cells further from the thesis than its own seeds and test subsets spread.

    The yardstick of a cell is the thesis's seed standard deviation, combined (as independent
    errors) with the sampling error of each side's test subset where one was scored on a random
    subset of the test set (:func:`subset_auc_std`; the thesis's AnoGAN and ours score 1000
    images, and the two draws are not the same images). One dict per off cell: algorithm,
    lipschitz, class, ours (mean, percent), our_std (None for one seed), seeds (ours), thesis
    (mean), thesis_std, subset_std (the two subsets' combined sampling error), difference and
    allowed (``SPREADS`` of the combined standard deviation, at least ``SPREAD_FLOOR``).
    """
    cells = []
    sizes = _test_sizes(records, dataset, profile)
    for (algorithm, lipschitz), by_class in sorted(_class_stats(records, dataset, profile).items()):
        for normal_class, ours in sorted(by_class.items()):
            thesis = ref.thesis_auc("exp2", dataset, algorithm, lipschitz, normal_class)
            if thesis is None:
                continue
            n_test = sizes.get((algorithm, lipschitz, normal_class))
            subset_std = _subsets_std(algorithm, ours.mean, n_test, thesis)
            allowed = max(SPREADS * cell_spread(algorithm, ours.mean, n_test, thesis), SPREAD_FLOOR)
            difference = ours.mean - thesis.mean
            if abs(difference) > allowed:
                cells.append(dict(algorithm=algorithm, lipschitz=lipschitz, normal_class=normal_class,
                                  ours=ours.mean, our_std=ours.std, seeds=ours.n, thesis=thesis.mean,
                                  thesis_std=thesis.std, subset_std=subset_std, difference=difference,
                                  allowed=allowed))
    return cells


def _cell_name(cell) -> str:
    return f"{label(cell['algorithm'])} {'Lipschitz' if cell['lipschitz'] else 'standard'}, class {cell['normal_class']}"


def off_cells_statement(records, dataset: str = "mnist", profile=None) -> str:
    """Markdown: which cells are off the thesis beyond its seed spread, and what our own seeds say.

    Where a cell has several seeds of ours, their spread is the measured yardstick: a difference
    within twice our own standard deviation is what a rerun with other seeds moves by. Cells with
    one seed can only be listed.
    """
    compared = sum(1 for by_class in _class_stats(records, dataset, profile).values() for c in by_class)
    cells = off_cells(records, dataset, profile)
    if not compared:
        return "No records to compare per class yet."
    head = (f"{len(cells)} of {compared} per-class cells lie further from the thesis than {SPREADS:g} of its "
            f"seed standard deviations (at least {SPREAD_FLOOR:g} point; where a side scored a random "
            "subset of the test set, as AnoGAN does, that subset's sampling error is added to the spread)")
    if not cells:
        return head + "."
    seeded = [c for c in cells if c["our_std"] is not None]
    single = [c for c in cells if c["our_std"] is None]
    lines = [head + ":"]
    for cell in seeded:
        ours_spread = SPREADS * cell["our_std"]
        verdict = ("within" if abs(cell["difference"]) <= ours_spread else "beyond")
        lines.append(f"* {_cell_name(cell)}: {cell['ours']:.1f} ± {cell['our_std']:.1f} over {cell['seeds']} seeds "
                     f"against {cell['thesis']:.1f} ± {cell['thesis_std'] or 0:.1f} ({cell['difference']:+.1f}); "
                     f"{verdict} {SPREADS:g} of our own standard deviations ({ours_spread:.1f}).")
    if single:
        lines.append("* One seed so far, so no spread of ours to measure against (in brackets, the largest "
                     "difference that counts as within): "
                     + "; ".join(f"{_cell_name(c)} {c['difference']:+.1f} ({c['allowed']:.1f})"
                                 for c in sorted(single, key=lambda c: -abs(c["difference"]))) + ".")
    return "\n".join(lines)

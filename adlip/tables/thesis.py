"""The thesis's result tables: experiment 1 (ROC-AUC and lower bound per Lipschitz constant, and the
constant eq. 5.2 selects) and experiment 2 (per normal class, and the section 5.2.2 summaries),
each with the thesis's published numbers beside adlip's.
"""
from __future__ import annotations

import statistics
from typing import NamedTuple

from adlip import reference as ref
from adlip.metrics import selection_score
from adlip.tables.captions import _caption, budget_caption, thesis_budget_caption
from adlip.tables.core import (
    ALGORITHM_LABELS,
    DATASET_LABELS,
    MISSING,
    Table,
    _algorithm_header,
    _algorithm_order,
    _by_class,
    _by_constant,
    _datasets,
    _difference,
    _format_auc,
    _format_bound,
    _max_n,
    aggregate_auc,
    aggregate_bound,
    class_label,
    is_failed,
    select_records,
)

SUMMARY_LABELS = {
    "mean_auc_standard": "mean ROC-AUC, standard (%)",
    "mean_auc_lipschitz": "mean ROC-AUC, Lipschitz (%)",
    "relative_change": "relative change (%)",
    "max_bound_standard": "max lower bound, standard",
    "max_bound_lipschitz": "max lower bound, Lipschitz",
    "robustness_ratio": "robustness ratio",
}
_SUMMARY_FORMATS = {
    "mean_auc_standard": "{:.1f}",
    "mean_auc_lipschitz": "{:.1f}",
    "relative_change": "{:+.1f}",
    "max_bound_standard": "{:.3f}",
    "max_bound_lipschitz": "{:.3f}",
    "robustness_ratio": "{:.2f}",
}


class Summary(NamedTuple):
    """A section 5.2.2 summary value and how many normal classes it is computed from."""

    value: float
    n_classes: int


# --- experiment 1 ---------------------------------------------------------------------------

def _exp1_constants(cells: dict, dataset: str) -> list:
    return sorted(set(ref.EXP1_CONSTANTS) | {k for (d, _, k) in cells if d == dataset})


def _thesis_exp1(getter, dataset, algorithm, k):
    return getter("exp1", dataset, algorithm, True, k) if k in ref.EXP1_CONSTANTS else None


def _exp1_table(records, kind: str, datasets, profile, normal_class) -> Table:
    chosen = select_records(records, "exp1", profile)
    is_auc = kind == "auc"
    cells = _by_constant((aggregate_auc if is_auc else aggregate_bound)(chosen), normal_class)
    getter = ref.thesis_auc if is_auc else ref.thesis_bound
    n_expected = _max_n(cells.values())
    rows = []
    for dataset in _datasets(chosen, datasets):
        for k in _exp1_constants(cells, dataset):
            row = [DATASET_LABELS.get(dataset, dataset), f"{k:g}"]
            for algorithm in ref.ALGORITHMS:
                ours, theirs = cells.get((dataset, algorithm, k)), _thesis_exp1(getter, dataset, algorithm, k)
                row += _auc_cells(ours, theirs, n_expected) if is_auc else _bound_cells(ours, theirs)
            rows.append(row)
    what = ("ROC-AUC (%), mean ± std over seeds" if is_auc
            else "Empirical Lipschitz lower bound, largest over seeds (sigma of that run)")
    title = f"Experiment 1: {'ROC-AUC' if is_auc else 'Lipschitz lower bound'} per global Lipschitz constant K"
    description = f"{what}, Lipschitz models, normal class {normal_class}."
    return Table(title, ["Data set", "K", *_algorithm_header(ref.ALGORITHMS)], rows,
                 _caption(description, chosen, "exp1", datasets))


def _auc_cells(ours, theirs, n_expected) -> list:
    return [_format_auc(ours, n_expected), _format_auc(theirs),
            _difference(ours and ours.mean, theirs and theirs.mean, "{:+.1f}")]


def _bound_cells(ours, theirs) -> list:
    return [_format_bound(ours), _format_bound(theirs),
            _difference(ours and ours.value, theirs and theirs.value, "{:+.3f}")]


def exp1_auc_table(records, datasets=None, profile=None, normal_class: int = ref.EXP1_NORMAL_CLASS) -> Table:
    """Experiment 1's ROC-AUC table (thesis 5.1.1): rows data set x K, columns per algorithm."""
    return _exp1_table(records, "auc", datasets, profile, normal_class)


def exp1_bound_table(records, datasets=None, profile=None, normal_class: int = ref.EXP1_NORMAL_CLASS) -> Table:
    """Experiment 1's lower-bound table (thesis 5.1.1): rows data set x K, columns per algorithm."""
    return _exp1_table(records, "bound", datasets, profile, normal_class)


def _scores(aucs: dict, bounds: dict):
    """Eq. 5.2 over the constants that have both an AUC (fraction) and a bound; None if none."""
    usable = {k for k in aucs if k in bounds}
    if not usable or max(bounds[k] for k in usable) <= 0:
        return None
    return selection_score({k: aucs[k] for k in usable}, {k: bounds[k] for k in usable})


def selection_scores(records, profile=None, normal_class: int = ref.EXP1_NORMAL_CLASS) -> dict:
    """Eq. 5.2 on adlip's experiment 1 runs: ``{(dataset, algorithm): (best K, {K: score})}``.

    ROC-AUC enters as a fraction (mean over seeds), the bound as the largest over seeds.
    Configurations without any K that has both numbers are left out.
    """
    chosen = select_records(records, "exp1", profile)
    aucs = _by_constant(aggregate_auc(chosen), normal_class)
    bounds = _by_constant(aggregate_bound(chosen), normal_class)
    result = {}
    for dataset, algorithm in sorted({(d, a) for (d, a, _) in aucs}):
        picked = _scores({k: v.mean / 100 for (d, a, k), v in aucs.items() if (d, a) == (dataset, algorithm)},
                         {k: v.value for (d, a, k), v in bounds.items() if (d, a) == (dataset, algorithm)})
        if picked is not None:
            result[dataset, algorithm] = picked
    return result


def thesis_selection_scores(dataset: str, algorithm: str):
    """Eq. 5.2 applied to the thesis's own experiment 1 tables: ``(best K, {K: score})``."""
    aucs, bounds = {}, {}
    for k in ref.EXP1_CONSTANTS:
        bound = ref.thesis_bound("exp1", dataset, algorithm, True, k)
        if bound is not None:
            aucs[k] = ref.thesis_auc("exp1", dataset, algorithm, True, k).mean / 100
            bounds[k] = bound.value
    return selection_score(aucs, bounds)


def chosen_constants(records, profile=None, normal_class: int = ref.EXP1_NORMAL_CLASS) -> dict:
    """The K eq. 5.2 picks from adlip's experiment 1 runs: ``{(dataset, algorithm): K}``."""
    return {key: best for key, (best, _) in selection_scores(records, profile, normal_class).items()}


def _score_cell(picked, k) -> str:
    if picked is None or k not in picked[1]:
        return MISSING
    return f"{picked[1][k]:.3f}" + (" *" if k == picked[0] else "")


def selection_table(records, datasets=None, profile=None, normal_class: int = ref.EXP1_NORMAL_CLASS) -> Table:
    """Eq. 5.2 scores per K, adlip's beside the same equation applied to the thesis's numbers."""
    chosen = select_records(records, "exp1", profile)
    ours = selection_scores(chosen, profile, normal_class)
    header = ["Data set", "K"]
    for algorithm in ref.ALGORITHMS:
        header += [f"{ALGORITHM_LABELS[algorithm]} adlip", f"{ALGORITHM_LABELS[algorithm]} thesis"]
    rows = []
    for dataset in _datasets(chosen, datasets):
        constants = sorted(set(ref.EXP1_CONSTANTS).union(*(p[1] for (d, _), p in ours.items() if d == dataset)))
        for k in constants:
            row = [DATASET_LABELS.get(dataset, dataset), f"{k:g}"]
            for algorithm in ref.ALGORITHMS:
                row += [_score_cell(ours.get((dataset, algorithm)), k),
                        _score_cell(thesis_selection_scores(dataset, algorithm), k)]
            rows.append(row)
    description = ("Selection score of eq. 5.2, AUC_K - (1/20) L_K / max_K L_K (AUC as a fraction); "
                   "* marks the largest score per column; the thesis column applies eq. 5.2 to the "
                   "thesis's published tables.")
    return Table("Experiment 1: selection score per Lipschitz constant", header, rows,
                 _caption(description, chosen, "exp1", datasets))


def chosen_constants_table(records, datasets=None, profile=None,
                           normal_class: int = ref.EXP1_NORMAL_CLASS) -> Table:
    """The chosen Lipschitz constant per data set and algorithm: adlip's by eq. 5.2, the
    thesis's published choice, and what eq. 5.2 gives on the thesis's own numbers."""
    chosen = select_records(records, "exp1", profile)
    ours = chosen_constants(chosen, profile, normal_class)
    header = ["Data set"]
    for algorithm in ref.ALGORITHMS:
        heading = ALGORITHM_LABELS[algorithm]
        header += [f"{heading} adlip", f"{heading} thesis", f"{heading} thesis eq. 5.2"]
    rows = []
    for dataset in _datasets(chosen, datasets):
        row = [DATASET_LABELS.get(dataset, dataset)]
        for algorithm in ref.ALGORITHMS:
            mine = ours.get((dataset, algorithm))
            row += [MISSING if mine is None else f"{mine:g}",
                    f"{ref.thesis_chosen_constant(dataset, algorithm):g}",
                    f"{thesis_selection_scores(dataset, algorithm)[0]:g}"]
        rows.append(row)
    description = ("Global Lipschitz constant chosen for experiment 2. 'thesis' is the published choice; "
                   "'thesis eq. 5.2' recomputes the choice from the thesis's experiment 1 tables "
                   "(they differ for the MNIST DCAE).")
    return Table("Experiment 1: chosen Lipschitz constants", header, rows, _caption(description, chosen, "exp1", datasets))


# --- experiment 2 ---------------------------------------------------------------------------

def _constants_used(runs) -> str:
    """'DCAE 2, AnoGAN 1' from one data set's Lipschitz runs ('2/5' if several constants)."""
    def constants(algorithm):
        return "/".join(f"{k:g}" for k in sorted({float(r["lipschitz"]) for r in runs if r["algorithm"] == algorithm}))

    return ", ".join(f"{ALGORITHM_LABELS.get(a, a)} {constants(a)}" for a in _algorithm_order(runs))


def _constants_note(records, lipschitz: bool) -> str:
    if not lipschitz:
        return ""
    runs = [r for r in records if not is_failed(r) and r.get("lipschitz") is not None]
    parts = []
    for dataset in ref.DATASETS:
        ours = _constants_used([r for r in runs if r["dataset"] == dataset])
        theirs = ", ".join(f"{ALGORITHM_LABELS[a]} {ref.thesis_chosen_constant(dataset, a):g}"
                           for a in ref.ALGORITHMS)
        parts.append(f"{DATASET_LABELS[dataset]}: adlip {ours or MISSING}; thesis {theirs}")
    return "Lipschitz constants K. " + ". ".join(parts) + "."


def _exp2_table(records, kind: str, lipschitz: bool, datasets, profile) -> Table:
    chosen = select_records(records, "exp2", profile)
    is_auc = kind == "auc"
    cells = _by_class((aggregate_auc if is_auc else aggregate_bound)(chosen), lipschitz)
    getter = ref.thesis_auc if is_auc else ref.thesis_bound
    with_paper = is_auc and not lipschitz
    n_expected = _max_n(cells.values())
    rows = []
    for dataset in _datasets(chosen, datasets):
        for normal_class in range(10):
            row = [DATASET_LABELS.get(dataset, dataset), class_label(dataset, normal_class)]
            for algorithm in ref.ALGORITHMS:
                ours = cells.get((dataset, algorithm, normal_class))
                theirs = getter("exp2", dataset, algorithm, lipschitz, normal_class)
                row += _auc_cells(ours, theirs, n_expected) if is_auc else _bound_cells(ours, theirs)
                if with_paper and algorithm == "deepsvdd-oc":
                    row.append(f"{ref.deep_svdd_paper_auc(dataset, normal_class):.1f}")
            rows.append(row)
    extra = {"deepsvdd-oc": ["Ruff et al."]} if with_paper else None
    model = "Lipschitz" if lipschitz else "standard"
    what = ("ROC-AUC (%), mean ± std over seeds" if is_auc
            else "Empirical Lipschitz lower bound, largest over seeds (sigma of that run)")
    description = f"{what}, {model} models, one normal class per row."
    if with_paper:
        description += " 'Ruff et al.' is the one-class Deep SVDD result of the Deep SVDD paper (2018)."
    title = f"Experiment 2: {'ROC-AUC' if is_auc else 'Lipschitz lower bound'} of the {model} models"
    notes = [n for n in [_constants_note(chosen, lipschitz)] if n]
    return Table(title, ["Data set", "Normal class", *_algorithm_header(ref.ALGORITHMS, extra)], rows,
                 _caption(description, chosen, "exp2", datasets), notes)


def exp2_auc_table(records, lipschitz: bool, datasets=None, profile=None) -> Table:
    """Experiment 2's per-class ROC-AUC table (thesis 5.2.1) for standard or Lipschitz models."""
    return _exp2_table(records, "auc", lipschitz, datasets, profile)


def exp2_bound_table(records, lipschitz: bool, datasets=None, profile=None) -> Table:
    """Experiment 2's per-class lower-bound table (thesis 5.2.1) for standard or Lipschitz models."""
    return _exp2_table(records, "bound", lipschitz, datasets, profile)


def relative_change(standard: float, lipschitz: float) -> float:
    """The thesis's relative change in percent: (standard - lipschitz) / lipschitz * 100.

    Positive means the standard model is better.
    """
    if lipschitz == 0:
        raise ValueError("the Lipschitz mean ROC-AUC is 0: the relative change is undefined")
    return 100 * (standard - lipschitz) / lipschitz


def robustness_ratio(max_bound_standard: float, max_bound_lipschitz: float) -> float:
    """How many times larger the standard model's largest lower bound is than the Lipschitz one's."""
    if max_bound_lipschitz <= 0:
        raise ValueError("the Lipschitz model's largest bound is not positive: the ratio is undefined")
    return max_bound_standard / max_bound_lipschitz


def _class_summaries(auc_cells: dict, bound_cells: dict, dataset: str, algorithm: str) -> dict:
    aucs = [v.mean for (d, a, _), v in auc_cells.items() if (d, a) == (dataset, algorithm)]
    bounds = [v.value for (d, a, _), v in bound_cells.items() if (d, a) == (dataset, algorithm)]
    summaries = {}
    if aucs:
        summaries["mean"] = Summary(statistics.fmean(aucs), len(aucs))
    if bounds:
        summaries["max"] = Summary(max(bounds), len(bounds))
    return summaries


def exp2_summaries(records, profile=None) -> dict:
    """Section 5.2.2's summaries of adlip's runs: ``{(name, dataset, algorithm): Summary}``.

    Names are ``reference.SUMMARIES``. Means are over the normal classes present (per-class
    means over seeds first); ``Summary.n_classes`` says how many. Derived values (relative
    change, robustness ratio) need both model kinds and count the classes of the smaller.
    """
    chosen = select_records(records, "exp2", profile)
    auc, bound = aggregate_auc(chosen), aggregate_bound(chosen)
    kinds = {flag: (_by_class(auc, flag), _by_class(bound, flag)) for flag in (False, True)}
    result = {}
    for dataset, algorithm in sorted({k[:2] for k in auc} | {k[:2] for k in bound}):
        standard = _class_summaries(*kinds[False], dataset, algorithm)
        lipschitz = _class_summaries(*kinds[True], dataset, algorithm)
        values = {"mean_auc_standard": standard.get("mean"), "mean_auc_lipschitz": lipschitz.get("mean"),
                  "max_bound_standard": standard.get("max"), "max_bound_lipschitz": lipschitz.get("max")}
        values["relative_change"] = _derived(relative_change, standard.get("mean"), lipschitz.get("mean"))
        values["robustness_ratio"] = _derived(robustness_ratio, standard.get("max"), lipschitz.get("max"))
        for name, value in values.items():
            if value is not None:
                result[name, dataset, algorithm] = value
    return result


def _derived(function, standard, lipschitz):
    if standard is None or lipschitz is None or lipschitz.value <= 0:
        return None
    return Summary(function(standard.value, lipschitz.value), min(standard.n_classes, lipschitz.n_classes))


def _summary_cells(name: str, ours, theirs: float) -> list:
    template = _SUMMARY_FORMATS[name]
    if ours is None:
        mine = MISSING
    else:
        mine = template.format(ours.value) + ("" if ours.n_classes == 10 else f" ({ours.n_classes}/10 classes)")
    delta = "{:+.3f}" if "bound" in name else "{:+.2f}" if name == "robustness_ratio" else "{:+.1f}"
    return [mine, template.format(theirs), _difference(ours and ours.value, theirs, delta)]


def exp2_summary_table(records, datasets=None, profile=None) -> Table:
    """The six summary tables of section 5.2.2 in one: rows data set x measure."""
    chosen = select_records(records, "exp2", profile)
    summaries = exp2_summaries(chosen, profile)
    rows = []
    for dataset in _datasets(chosen, datasets):
        for name in ref.SUMMARIES:
            row = [DATASET_LABELS.get(dataset, dataset), SUMMARY_LABELS[name]]
            for algorithm in ref.ALGORITHMS:
                row += _summary_cells(name, summaries.get((name, dataset, algorithm)),
                                      ref.thesis_summary(name, dataset, algorithm))
            rows.append(row)
    description = ("Means over normal classes of the per-class mean ROC-AUC; relative change = "
                   "(standard - Lipschitz) / Lipschitz; robustness ratio = largest standard bound / "
                   "largest Lipschitz bound. Thesis values as published (its MNIST DeepSVDD OC standard "
                   "mean, 93.9, differs from the mean of its own per-class table, 94.3).")
    return Table("Experiment 2: summary over normal classes", ["Data set", "Measure",
                 *_algorithm_header(ref.ALGORITHMS)], rows, _caption(description, chosen, "exp2", datasets))



# --- experiment 1 without pretraining ------------------------------------------------------

PRETRAINING_ALGORITHMS = ("deepsvdd-sb", "deepsvdd-oc")
PRETRAINING_VARIANTS = {"pretrained": "exp1", "not pretrained": "unpretrained"}   # variant -> experiment


def _pretraining_cells(pretrained, unpretrained, dataset, profile, normal_class) -> dict:
    """ROC-AUC stats per (variant, algorithm, K) of the two variants' records on ``dataset``."""
    cells = {}
    for (variant, experiment), records in zip(PRETRAINING_VARIANTS.items(), (pretrained, unpretrained)):
        chosen = [r for r in select_records(records, experiment, profile) if r.get("dataset") == dataset]
        for (_, algorithm, k), stats in _by_constant(aggregate_auc(chosen), normal_class).items():
            if algorithm in PRETRAINING_ALGORITHMS:
                cells[variant, algorithm, k] = stats
    return cells


def pretraining_table(pretrained, unpretrained, dataset: str = "mnist", profile: str | None = None,
                      normal_class: int = ref.EXP1_NORMAL_CLASS) -> Table:
    """Experiment 1's Lipschitz Deep SVDDs with and without the DCAE pretraining, beside the thesis.

    ``pretrained`` are experiment 1's records, ``unpretrained`` those of the ``unpretrained`` grid
    (the same runs trained from a random initialisation); rows are K, and per algorithm the columns
    give the mean ROC-AUC (%) over seeds of each variant and the thesis's value.
    """
    cells = _pretraining_cells(pretrained, unpretrained, dataset, profile, normal_class)
    n_expected = _max_n(cells.values())
    header = ["K"]
    for algorithm in PRETRAINING_ALGORITHMS:
        header += [f"{ALGORITHM_LABELS[algorithm]} {name}" for name in (*PRETRAINING_VARIANTS, "thesis")]
    rows = []
    for k in sorted(set(ref.EXP1_CONSTANTS) | {k for (_, _, k) in cells}):
        row = [f"{k:g}"]
        for algorithm in PRETRAINING_ALGORITHMS:
            row += [_format_auc(cells.get((variant, algorithm, k)), n_expected) for variant in PRETRAINING_VARIANTS]
            row.append(_format_auc(_thesis_exp1(ref.thesis_auc, dataset, algorithm, k)))
        rows.append(row)
    def clause(records, experiment):
        return budget_caption([r for r in select_records(records, experiment, profile)
                               if r.get("dataset") == dataset and r.get("algorithm") in PRETRAINING_ALGORITHMS])

    description = (f"ROC-AUC (%), mean ± std over seeds, {DATASET_LABELS.get(dataset, dataset)} normal class "
                   f"{normal_class}: the Lipschitz Deep SVDDs of experiment 1 initialised from a pretrained "
                   "DCAE's encoder (as the thesis's section 4 describes) and from a random initialisation "
                   "(epochs given as pretraining+Deep SVDD).")
    caption = (f"{description} Pretrained, {clause(pretrained, 'exp1')} Not pretrained, "
               f"{clause(unpretrained, 'unpretrained')} {thesis_budget_caption('exp1')}")
    return Table("Experiment 1's Lipschitz Deep SVDDs with and without the DCAE pretraining", header, rows, caption)


def pretraining_gaps(pretrained, unpretrained, dataset: str = "mnist", constants=None, profile: str | None = None,
                     normal_class: int = ref.EXP1_NORMAL_CLASS) -> dict:
    """How far each variant is from the thesis: (algorithm, variant) -> (mean absolute difference in
    points of ROC-AUC, number of constants), over the constants (default every K of the thesis's
    grid) that both variants have records for."""
    cells = _pretraining_cells(pretrained, unpretrained, dataset, profile, normal_class)
    gaps = {}
    for algorithm in PRETRAINING_ALGORITHMS:
        common = [k for k in (constants or ref.EXP1_CONSTANTS)
                  if all((variant, algorithm, k) in cells for variant in PRETRAINING_VARIANTS)]
        if not common:
            continue
        thesis = {k: ref.thesis_auc("exp1", dataset, algorithm, True, k).mean for k in common}
        for variant in PRETRAINING_VARIANTS:
            differences = [abs(cells[variant, algorithm, k].mean - thesis[k]) for k in common]
            gaps[algorithm, variant] = (statistics.fmean(differences), len(common))
    return gaps

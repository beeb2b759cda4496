"""Result records -> tables in the thesis's layout, with the thesis's numbers beside ours.

Every table puts, for each algorithm, three columns side by side: ``adlip`` (aggregated from
result records, i.e. produced by code), ``thesis`` (published reference values from
:mod:`adlip.reference`) and ``Δ`` (adlip minus thesis). Aggregation follows the thesis
(section 5): ROC-AUC in percent as mean ± population standard deviation over seeds, the
Lipschitz lower bound as the maximum over seeds together with the sigma of the run that gave
it. Runs with status ``"failed"`` are left out and counted in the caption; cells without runs
show ``–``.

Tables are :class:`Table` objects: ``to_markdown()`` gives a Markdown string, and notebooks
display them directly (``_repr_markdown_`` and ``_repr_html_``). The numbers behind them are
available from :func:`aggregate_auc`, :func:`aggregate_bound`, :func:`selection_scores` and
:func:`exp2_summaries`. This module does not import TensorFlow.
"""
from __future__ import annotations

import html
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from adlip import reference as ref
from adlip.data import CLASS_NAMES
from adlip.detectors import registry
from adlip.metrics import selection_score

MISSING = "–"
# Headings from the algorithm registry, the thesis's detectors in its tables' column order.
ALGORITHM_LABELS = {name: registry.get_algorithm(name).label for name in ref.ALGORITHMS}
DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
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


class AUCStats(NamedTuple):
    """ROC-AUC of one configuration over its seeds, in percent (std is None for a single run)."""

    mean: float
    std: float | None
    n: int


class BoundStats(NamedTuple):
    """Largest Lipschitz lower bound over seeds, the sigma of that run, and the number of runs."""

    value: float
    sigma: float | None
    n: int


class Summary(NamedTuple):
    """A section 5.2.2 summary value and how many normal classes it is computed from."""

    value: float
    n_classes: int


@dataclass
class Table:
    """A rendered table: a title, a header row, rows of cell strings and a caption."""

    title: str
    header: list
    rows: list
    caption: str = ""
    notes: list = field(default_factory=list)

    def to_markdown(self) -> str:
        """The table as GitHub-flavoured Markdown, title above and caption below."""
        def line(cells):
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        parts = [f"**{self.title}**", "", line(self.header), line(["---"] * len(self.header))]
        parts += [line(row) for row in self.rows]
        parts += ["", *[text for text in [self.caption, *self.notes] if text]]
        return "\n".join(parts).rstrip() + "\n"

    def to_html(self) -> str:
        """The table as an HTML fragment (for notebooks and the book)."""
        def cells(tag, values):
            return "".join(f"<{tag}>{html.escape(str(v))}</{tag}>" for v in values)

        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        paragraphs = "".join(f"<p>{html.escape(t)}</p>" for t in [self.caption, *self.notes] if t)
        return (f"<table><caption>{html.escape(self.title)}</caption>"
                f"<thead><tr>{cells('th', self.header)}</tr></thead><tbody>{body}</tbody></table>"
                f"{paragraphs}")

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


def to_markdown(table: Table) -> str:
    """Markdown text of a :class:`Table`."""
    return table.to_markdown()


# --- choosing and grouping records -------------------------------------------------------

def is_failed(record: dict) -> bool:
    """Whether a record is a failed run (excluded from every table)."""
    return record.get("status", "ok") != "ok"


def select_records(records, experiment: str, profile: str | None = None) -> list:
    """The records of one experiment (and profile), failed ones included.

    Raises ValueError if the experiment's records mix profiles and ``profile`` is not given:
    numbers from different budgets must not be averaged together.
    """
    chosen = [r for r in records if r.get("experiment") == experiment]
    if profile is not None:
        return [r for r in chosen if r.get("profile") == profile]
    profiles = sorted({str(r.get("profile")) for r in chosen})
    if len(profiles) > 1:
        raise ValueError(f"the {experiment} records mix profiles {profiles}: pass profile=... to pick one")
    return chosen


def _lipschitz_key(record: dict):
    value = record.get("lipschitz")
    return None if value is None else float(value)


def run_key(record: dict) -> tuple:
    """The configuration a run belongs to: (dataset, algorithm, lipschitz K or None, normal class)."""
    return (record["dataset"], record["algorithm"], _lipschitz_key(record), int(record["normal_class"]))


def _group(records, metric: str) -> dict:
    groups = defaultdict(list)
    for record in records:
        if not is_failed(record) and record.get(metric) is not None:
            groups[run_key(record)].append(record)
    return groups


def aggregate_auc(records) -> dict:
    """ROC-AUC per configuration (:func:`run_key`) as :class:`AUCStats` in percent.

    The standard deviation is the population one (divide by n), as in the thesis; it is None
    for a single run.
    """
    stats = {}
    for key, runs in _group(records, "auc").items():
        values = [100 * r["auc"] for r in runs]
        std = statistics.pstdev(values) if len(values) > 1 else None
        stats[key] = AUCStats(statistics.fmean(values), std, len(values))
    return stats


def aggregate_bound(records) -> dict:
    """Lipschitz lower bound per configuration as :class:`BoundStats`: the largest over seeds,
    with the ``lip_sigma`` of the run that produced it."""
    stats = {}
    for key, runs in _group(records, "lip_lower_bound").items():
        best = max(runs, key=lambda r: r["lip_lower_bound"])
        stats[key] = BoundStats(float(best["lip_lower_bound"]), best.get("lip_sigma"), len(runs))
    return stats


def _by_class(stats: dict, lipschitz: bool) -> dict:
    """Re-key experiment 2 stats by (dataset, algorithm, normal class) for one model kind."""
    cells = {}
    for (dataset, algorithm, k, normal_class), value in stats.items():
        if (k is not None) != lipschitz:
            continue
        if (dataset, algorithm, normal_class) in cells:
            raise ValueError(f"{dataset} {algorithm} class {normal_class} has runs with several Lipschitz "
                             "constants: filter the records to one constant per configuration first")
        cells[dataset, algorithm, normal_class] = value
    return cells


def _by_constant(stats: dict, normal_class: int) -> dict:
    """Re-key experiment 1 stats by (dataset, algorithm, K) for one normal class."""
    return {(d, a, k): v for (d, a, k, c), v in stats.items() if k is not None and c == normal_class}


def _datasets(records, datasets) -> list:
    if datasets is not None:
        return list(datasets)
    present = {r["dataset"] for r in records if not is_failed(r)}
    return [d for d in ref.DATASETS if d in present] or list(ref.DATASETS)


# --- cell formatting ------------------------------------------------------------------------

def _format_auc(stats, n_expected: int | None = None) -> str:
    """'mean ± std' (just 'mean' for one run); ' (n=2)' added if ``n_expected`` is given and
    the cell has fewer runs (reference values have no run count: leave ``n_expected`` None)."""
    if stats is None:
        return MISSING
    text = f"{stats.mean:.1f}" if stats.std is None else f"{stats.mean:.1f} ± {stats.std:.1f}"
    if n_expected is not None and stats.n < n_expected:
        text += f" (n={stats.n})"
    return text


def _format_bound(stats) -> str:
    if stats is None:
        return MISSING
    return f"{stats.value:.3f}" if stats.sigma is None else f"{stats.value:.3f} ({stats.sigma:.3f}σ)"


def _difference(ours, theirs, template: str) -> str:
    if ours is None or theirs is None:
        return MISSING
    return template.format(ours - theirs)


def _algorithm_header(algorithms, extra=None) -> list:
    header = []
    for algorithm in algorithms:
        heading = ALGORITHM_LABELS.get(algorithm, algorithm)
        header += [f"{heading} adlip", f"{heading} thesis", f"{heading} Δ"]
        header += [f"{heading} {name}" for name in (extra or {}).get(algorithm, [])]
    return header


def _max_n(cells) -> int | None:
    counts = [c.n for c in cells if c is not None]
    return max(counts) if counts else None


def class_label(dataset: str, normal_class: int) -> str:
    """How the thesis names a normal class: the digit for MNIST, the class name for CIFAR-10."""
    return CLASS_NAMES[dataset][normal_class] if dataset == "cifar10" else str(normal_class)


# --- captions -------------------------------------------------------------------------------

def _span(values) -> str:
    values = sorted(set(values))
    if not values:
        return MISSING
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def _algorithm_order(records) -> list:
    present = {r["algorithm"] for r in records}
    return [a for a in ref.ALGORITHMS if a in present] + sorted(present - set(ref.ALGORITHMS))


def label(algorithm: str) -> str:
    """The name a table gives an algorithm (thesis detectors, baselines and companions alike)."""
    return {**ALGORITHM_LABELS, **BASELINE_LABELS, **COMPANION_LABELS}.get(algorithm, algorithm)


def budget_caption(records, datasets=None) -> str:
    """One sentence on the budget that produced a table, from its records.

    Names the profile, the training epochs per algorithm, the number of seeds, the training
    and test set sizes, and how many failed runs were left out. A profile may give each data set
    its own budget, so records of several data sets get one clause per data set. ``datasets``
    restricts the sentence to the data sets a table shows.
    """
    if datasets is not None:
        records = [r for r in records if r.get("dataset") in datasets]
    present = {r.get("dataset") for r in records}
    datasets = [d for d in ref.DATASETS if d in present] + sorted(present - set(ref.DATASETS), key=str)
    if len(datasets) > 1:
        clauses = [f"{DATASET_LABELS.get(d, d)}: "
                   + _budget_clause([r for r in records if r.get("dataset") == d]).removeprefix("adlip: ")
                   for d in datasets]
        return "adlip, " + " ".join(clauses)
    return _budget_clause(records)


def _budget_clause(records) -> str:
    ok = [r for r in records if not is_failed(r)]
    failed = len(records) - len(ok)
    if not ok:
        return f"adlip: no completed runs yet ({failed} failed)." if failed else "adlip: no runs yet."
    profiles = _span(str(r.get("profile")) for r in ok)
    trained = [r for r in ok if r.get("epochs")]  # classical baselines have no epochs
    epochs = ", ".join(f"{label(a)} {_span(_phase_epochs(r) for r in trained if r['algorithm'] == a)}"
                       for a in _algorithm_order(trained))
    seeds = len({r.get("seed") for r in ok})
    text = (f"adlip: profile {profiles}, {f'epochs {epochs}, ' if epochs else ''}"
            f"{seeds} seed{'s' if seeds != 1 else ''}, "
            f"{_span(r.get('n_train') for r in ok if r.get('n_train'))} train / {_test_sizes(ok)}")
    steps = [(r.get("detector_params") or {}).get("latent_steps") for r in ok if r["algorithm"] == "anogan"]
    if any(steps):
        text += f", AnoGAN latent search {_span(s for s in steps if s)} steps"
    orthogonalizations = {(r.get("budget") or {}).get("orthogonalization") for r in ok
                          if r["algorithm"] == "anogan" and r.get("lipschitz") is not None}
    if orthogonalizations - {None}:
        text += f", Lipschitz GAN layers normalised by {' / '.join(sorted(orthogonalizations - {None}))}"
    pairs = {(r.get("profile_budget") or {}).get("lip_pairs_per_round") for r in ok}
    rounds = {(r.get("profile_budget") or {}).get("lip_rounds") for r in ok}
    if len(pairs) == 1 and len(rounds) == 1 and None not in pairs | rounds:
        text += f", bound over {rounds.pop()} rounds of {_count(pairs.pop())} random pairs"
    if failed:
        text += f"; {failed} failed run{'s' if failed != 1 else ''} excluded"
    return text + "."


def _phase_epochs(record):
    """A run's epochs as the caption states them: Deep SVDD's as "pretraining+Deep SVDD phase"."""
    budget = record.get("budget") or {}
    if budget.get("pretrain_epochs"):
        return f"{budget['pretrain_epochs']}+{budget['deepsvdd_epochs']}"
    return record["epochs"]


def _count(n: int) -> str:
    return f"{n / 1e6:g} million" if n >= 1_000_000 else f"{n:,}"


def _test_sizes(ok) -> str:
    per_algorithm = {a: _span(r.get("n_test") for r in ok if r["algorithm"] == a and r.get("n_test"))
                     for a in _algorithm_order(ok)}
    common = Counter(per_algorithm.values()).most_common(1)[0][0]
    others = [f"{label(a)} {size}" for a, size in per_algorithm.items() if size != common]
    return f"{common} test images" + (f" ({', '.join(others)})" if others else "")


def thesis_budget_caption(experiment: str) -> str:
    """One sentence on the thesis's budget for an experiment (from ``reference.THESIS_BUDGET``)."""
    budget = ref.THESIS_BUDGET
    epochs = budget["epochs"]
    anogan = epochs["anogan"]
    seeds = budget["seeds"]
    anogan_seeds = f" (AnoGAN {budget['exp1_anogan_seeds']})" if experiment == "exp1" else ""
    return (f"thesis: epochs DCAE {epochs['dcae']}, DeepSVDD {epochs['deepsvdd-oc']} (after DCAE pretraining), "
            f"AnoGAN {anogan['mnist']} (MNIST) / {anogan['cifar10']} (CIFAR-10); {seeds} seeds{anogan_seeds}; "
            f"whole normal training class; {budget['test_size']} test images "
            f"(AnoGAN {budget['anogan_test_size']}, drawn with seed {budget['anogan_test_seed']}).")


def _caption(description: str, records, experiment: str, datasets=None) -> str:
    return f"{description} {budget_caption(records, datasets)} {thesis_budget_caption(experiment)}"


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


# --- classical baselines and the cross-method comparison ------------------------------------

BASELINE_LABELS = registry.labels("baseline")
COMPANION_LABELS = registry.labels("companion")


def baselines_table(records, datasets=None, profile=None) -> Table:
    """ROC-AUC (%) of the classical baselines per normal class, with Ruff et al.'s one-class Deep SVDD
    (published) as a labelled reference column."""
    chosen = select_records(records, "baselines", profile)
    cells = aggregate_auc(chosen)
    algorithms = [a for a in BASELINE_LABELS if any(r["algorithm"] == a for r in chosen)]
    rows = []
    for dataset in _datasets(chosen, datasets):
        for normal_class in range(10):
            row = [DATASET_LABELS.get(dataset, dataset), class_label(dataset, normal_class)]
            row += [_format_auc(cells.get((dataset, a, None, normal_class))) for a in algorithms]
            row.append(f"{ref.deep_svdd_paper_auc(dataset, normal_class):.1f}")
            rows.append(row)
        means = [[cells[k].mean for k in cells if k[0] == dataset and k[1] == a] for a in algorithms]
        rows.append([DATASET_LABELS.get(dataset, dataset), "mean",
                     *[f"{statistics.fmean(m):.1f}" + ("" if len(m) == 10 else f" ({len(m)}/10)") if m else MISSING
                       for m in means],
                     f"{statistics.fmean(ref.deep_svdd_paper_auc(dataset, c) for c in range(10)):.1f}"])
    header = ["Data set", "Normal class", *[f"{BASELINE_LABELS[a]} adlip" for a in algorithms],
              "Deep SVDD OC (Ruff et al., published)"]
    description = ("Classical baselines on the same one-vs-rest splits and GCN preprocessing (Isolation Forest on "
                   "pixels; OC-SVM with nu = 0.1 and gamma = 'scale' and an exact Gaussian KDE with a bandwidth "
                   "chosen by held-out likelihood, both on PCA features keeping 95% of the variance).")
    return Table("Classical baselines: ROC-AUC (%) per normal class", header, rows,
                 f"{description} {budget_caption(chosen, datasets)}")


def comparison_table(records, datasets=None) -> Table:
    """Every detector (and variant) in the records: mean ROC-AUC over normal classes and mean lower bound.

    One row per (algorithm, Lipschitz K) and one column pair per data set; a cell averages the per-class
    mean AUCs (over seeds) and says how many classes it covers. Records of different profiles are kept
    apart (one row each), so budgets are never mixed.
    """
    ok = [r for r in records if not is_failed(r)]
    datasets = _datasets(ok, datasets)
    groups = defaultdict(list)
    for record in ok:
        groups[(record["algorithm"], _lipschitz_key(record), record.get("profile"))].append(record)
    rows = []
    for (algorithm, k, profile), runs in sorted(groups.items(), key=lambda item: (str(item[0][0]),
                                                                                  item[0][1] or 0, str(item[0][2]))):
        row = [label(algorithm), "standard" if k is None else f"K = {k:g}", str(profile)]
        for dataset in datasets:
            aucs = aggregate_auc([r for r in runs if r["dataset"] == dataset])
            bounds = [r["lip_lower_bound"] for r in runs if r["dataset"] == dataset and r.get("lip_lower_bound") is not None]
            if not aucs:
                row += [MISSING, MISSING]
                continue
            mean_auc = statistics.fmean(s.mean for s in aucs.values())
            row.append(f"{mean_auc:.1f} ({len(aucs)} class{'es' if len(aucs) != 1 else ''})")
            row.append(f"{statistics.fmean(bounds):.3f}" if bounds else MISSING)
        rows.append(row)
    header = ["Detector", "Variant", "Profile"]
    for dataset in datasets:
        header += [f"{DATASET_LABELS.get(dataset, dataset)} mean AUC (%)", f"{DATASET_LABELS.get(dataset, dataset)} mean bound"]
    return Table("Every detector, one-vs-rest", header, rows,
                 "Mean over normal classes of the per-class ROC-AUC (mean over seeds) and mean of the runs' "
                 "random-pair Lipschitz lower bounds (none for the classical baselines). " + budget_caption(ok, datasets))

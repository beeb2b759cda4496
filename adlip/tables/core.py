"""The ground every table stands on: the :class:`Table` type, choosing and grouping result records,
aggregating them (:func:`aggregate_auc`, :func:`aggregate_bound`), formatting cells, and the
labels tables give data sets, algorithms and normal classes.

Shared by the thesis's tables (:mod:`adlip.tables.thesis`), the other chapters' tables
(:mod:`adlip.tables.companions`), their captions (:mod:`adlip.tables.captions`) and
:mod:`adlip.reproduction`; it imports none of them.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import NamedTuple

from adlip import reference as ref
from adlip.data import CLASS_NAMES
from adlip.records import frame_of
from adlip.detectors import registry

MISSING = "–"
# Headings from the algorithm registry, the thesis's detectors in its tables' column order.
ALGORITHM_LABELS = {name: registry.get_algorithm(name).label for name in ref.ALGORITHMS}
DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
# The classical baselines' and the companion detectors' headings (label() covers all three).
BASELINE_LABELS = registry.labels("baseline")
COMPANION_LABELS = registry.labels("companion")


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


def markdown_table(headers, rows):
    """A table for a notebook cell's output (rendered by Jupyter and by the book alike)."""
    from IPython.display import Markdown

    lines = ["| " + " | ".join(map(str, headers)) + " |",
             "|" + "|".join(["---"] * len(headers)) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return Markdown("\n".join(lines))


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


def _runs_frame(records, metric: str):
    """The finished runs that measured ``metric``, one row each, with their :func:`run_key` as ``key``."""
    finished = [r for r in records if not is_failed(r) and r.get(metric) is not None]
    frame = frame_of(finished)
    frame["key"] = [run_key(r) for r in finished]
    return frame


def aggregate_auc(records) -> dict:
    """ROC-AUC per configuration (:func:`run_key`) as :class:`AUCStats` in percent.

    The standard deviation is the population one (divide by n), as in the thesis; it is None
    for a single run.
    """
    frame = _runs_frame(records, "auc")
    if frame.empty:
        return {}
    stats = (100 * frame["auc"]).groupby(frame["key"], sort=False).agg(
        ["mean", lambda values: values.std(ddof=0), "size"])
    return {key: AUCStats(float(mean), float(std) if n > 1 else None, int(n))
            for key, mean, std, n in stats.itertuples()}


def aggregate_bound(records) -> dict:
    """Lipschitz lower bound per configuration as :class:`BoundStats`: the largest over seeds,
    with the ``lip_sigma`` of the run that produced it."""
    import pandas as pd

    frame = _runs_frame(records, "lip_lower_bound")
    if frame.empty:
        return {}
    runs = frame.groupby("key", sort=False)["lip_lower_bound"]
    best = frame.loc[runs.idxmax()]
    sigma = best["lip_sigma"] if "lip_sigma" in best else [None] * len(best)
    return {key: BoundStats(float(bound), None if pd.isna(s) else float(s), int(n))
            for key, bound, s, n in zip(best["key"], best["lip_lower_bound"], sigma, runs.size())}


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


def _algorithm_order(records) -> list:
    present = {r["algorithm"] for r in records}
    return [a for a in ref.ALGORITHMS if a in present] + sorted(present - set(ref.ALGORITHMS))


def label(algorithm: str) -> str:
    """The name a table gives an algorithm (thesis detectors, baselines and companions alike)."""
    return {**ALGORITHM_LABELS, **BASELINE_LABELS, **COMPANION_LABELS}.get(algorithm, algorithm)


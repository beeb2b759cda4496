"""AnoGAN's latent search, varied on one trained GAN: how much of the ROC-AUC is the search's settings?

At the thesis's budget our standard AnoGAN lands below the thesis on every MNIST class measured,
by up to ten points (chapter 9), while the DCAE and the Deep SVDDs land on its numbers. The GAN is
the thesis's DCGAN, trained as its section 4 says; the search is where the thesis says least. It
gives eq. 2.12, lambda = 0.1 and 500 steps, but neither the optimizer's learning rate nor how the
search is started. This study asks whether those unstated settings can move the ROC-AUC by as much
as the gap.

One run trains experiment 2's standard AnoGAN on one class exactly as the thesis-budget sweep does
(the same configuration through :func:`adlip.runs.make_detector` and the same 1000-image test subset
through :func:`adlip.runs.load_split`), so with the same seed, code and thread count it is the
sweep's GAN; its training history is recorded so that this can be checked against the sweep's
record. Then it scores the first ``n_images`` of the subset once per search variant (``VARIANTS``),
all from the same initial latent vectors, and records each variant's ROC-AUC. The first variant
is the search of the first thesis-budget sweep (rate 0.01); "no search" scores the initial latent
vectors, which says how much the 500 steps add at all.

One record per (data set, normal class, seed) in ``results/latent-search/<profile>/``.

The study's answer changed adlip: the slower search (0.001, Keras's default) gained on every class
measured, so it became :class:`~adlip.detectors.AnoGAN`'s default and the AnoGAN cells of
experiments 1 and 2 were rerun with it. The first sweep's AnoGAN records are kept in
``results/archive/anogan-search-rate-0.01/`` (:func:`first_sweep_records`); :func:`rerun_table`
puts each cell's two ROC-AUCs side by side.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adlip import metrics, runs
from adlip.checks import check_integer, check_number
from adlip.profiles import get_profile
from adlip.records import _jsonable, load_records, provenance, results_folder
from adlip.studies.base import Study, StudyBudget, TaskRun

STUDY = "latent-search"
FIRST_SWEEP_SEARCH = (0.01, 0.1)   # Adam's rate and lambda of the first thesis-budget sweep's search
FIRST_SWEEP_FOLDER = Path("archive", "anogan-search-rate-0.01")   # its AnoGAN records, under results/


def search_name(learning_rate: float, feature_weight: float, steps: int | None) -> str:
    """What the book calls a search, from its settings alone, so that records made while the study's
    labels read otherwise (the first sweep's search was once called "adlip's") group with new ones."""
    if steps == 0:
        return "no search (the initial latent vectors)"
    name = f"rate {learning_rate:g}" + ("" if feature_weight == 0.1 else f", lambda {feature_weight:g}")
    notes = []
    if (learning_rate, feature_weight) == FIRST_SWEEP_SEARCH:
        notes.append("the first sweep's")
    if learning_rate == 0.001:
        notes.append("Keras's default")
    if (learning_rate, feature_weight) == _default_search():
        notes.append("adlip's default")
    if feature_weight == 0:
        notes.append("residual only")
    return name + (f" ({'; '.join(notes)})" if notes else "")


def _default_search() -> tuple:
    """The rate and lambda :class:`~adlip.detectors.AnoGAN` searches with by default."""
    import inspect

    from adlip.detectors.anogan import AnoGAN

    defaults = inspect.signature(AnoGAN.__init__).parameters
    return defaults["latent_learning_rate"].default, defaults["feature_weight"].default


def row_name(row: dict) -> str:
    """:func:`search_name` of one of a record's rows."""
    return search_name(row["learning_rate"], row["feature_weight"], row["steps"])


@dataclass(frozen=True)
class SearchVariant:
    """One way to run the latent search: Adam's learning rate, lambda of eq. 2.12, and the steps
    (None: the profile's ``latent_steps``, 500 at ``full``)."""

    learning_rate: float
    feature_weight: float = 0.1
    steps: int | None = None

    def __post_init__(self):
        check_number("learning_rate", self.learning_rate, low=0.0, low_closed=False, what="a positive number")
        check_number("feature_weight", self.feature_weight, low=0.0, high=1.0, what="in [0, 1]")
        check_integer("steps", self.steps, 0, allow_none=True, what="a non-negative integer or None")

    @property
    def label(self) -> str:
        return search_name(self.learning_rate, self.feature_weight, self.steps)


VARIANTS = (   # the first is the reference every change is measured from
    SearchVariant(*FIRST_SWEEP_SEARCH),
    SearchVariant(0.001),
    SearchVariant(0.1),
    SearchVariant(0.01, 0.0),
    SearchVariant(0.01, steps=0),
)


@dataclass(frozen=True)
class LatentSearchBudget(StudyBudget):
    """How many of the AnoGAN test subset's images each variant scores, and which classes are run;
    the GAN's epochs, the steps and the subset are the profile's (as in experiment 2).

    At ``full`` the classes are the three with the largest gaps to the thesis (3, 5 and 6) and
    class 0, where the gap is small: a better search has to close gaps without opening new ones.
    """

    n_images: int = 500
    classes: tuple = (0, 3, 5, 6)

    PER_PROFILE = {"smoke": dict(n_images=60, classes=(0,)),
                   "quick": dict(n_images=200, classes=(3,)),
                   "full": dict(n_images=500)}

    def caption(self) -> str:
        profile = get_profile(self.profile, dataset="mnist")
        return (f"Budget ({self.profile} profile): experiment 2's standard AnoGAN, "
                f"{profile.epochs(20, 'gan')} GAN epochs, MNIST class {', '.join(map(str, self.classes))}, seed 0; "
                f"each search variant scores the first {self.n_images} of the {profile.anogan_test_size} "
                f"test images the sweep scores (drawn with seed 1234), from the same initial latent "
                f"vectors, {profile.latent_steps} steps unless the variant says otherwise.")


@dataclass(frozen=True)
class LatentSearchRun(TaskRun):
    """One trained standard AnoGAN, scored with every search variant."""

    PREFIX = STUDY

    @property
    def budget(self) -> LatentSearchBudget:
        return LatentSearchBudget.resolve(self.profile)

    @property
    def config(self) -> runs.RunConfig:
        """The thesis-budget sweep's configuration of this run (experiment 2, standard AnoGAN)."""
        return runs.RunConfig("anogan", self.dataset, self.normal_class, None, self.seed, self.profile,
                              experiment="exp2")


def score_variant(detector, x, y, variant: SearchVariant) -> dict:
    """ROC-AUC and score means of one search variant on images ``x`` (labels ``y``, 1 = anomaly).

    The detector's settings are put back afterwards, so variants never leak into each other.
    """
    saved = detector.latent_learning_rate, detector.feature_weight
    start = time.perf_counter()
    try:
        detector.latent_learning_rate, detector.feature_weight = variant.learning_rate, variant.feature_weight
        result = detector.search(x, steps=variant.steps)
    finally:
        detector.latent_learning_rate, detector.feature_weight = saved
    scores = result["score"]
    travel = np.linalg.norm(result["z"] - detector.prior(len(x), detector.seed), axis=1)
    return dict(label=variant.label, learning_rate=variant.learning_rate, feature_weight=variant.feature_weight,
                steps=int(detector.latent_steps if variant.steps is None else variant.steps),
                auc=metrics.roc_auc(y, scores), residual_auc=metrics.roc_auc(y, result["residual_score"]),
                mean_normal_score=float(scores[y == 0].mean()), mean_anomalous_score=float(scores[y == 1].mean()),
                travel_normal=float(travel[y == 0].mean()), travel_anomalous=float(travel[y == 1].mean()),
                scores=[float(v) for v in scores], seconds=time.perf_counter() - start)


def run_latent_search(spec: LatentSearchRun, cache_dir=None) -> dict:
    """Train the sweep's standard AnoGAN for ``spec`` and score every variant; the record.

    With ``cache_dir`` the GAN's training state (between epochs), the fitted GAN and each variant's
    row are kept there as they finish (:mod:`adlip.resume`), so an interrupted run does only what is
    left when started again, and gives bitwise the record an uninterrupted one gives.
    """
    budget = spec.budget
    split = runs.load_split(spec.config)
    x, y = split.x_test[:budget.n_images], split.y_test[:budget.n_images]
    if len(np.unique(y)) < 2:
        raise ValueError(f"the first {budget.n_images} test images hold one label only: raise n_images")
    stages = runs.run_stages(spec.config, cache_dir)

    def fit():
        detector = runs.make_detector(spec.config)
        if stages.training_folder is not None:
            detector.checkpoint_dir = str(stages.training_folder)   # training resumes between epochs too
        return detector.fit(split.x_train)

    detector, train_seconds = stages.fitted(fit)
    rows = [stages.computed(f"variant {variant.label}", lambda variant=variant: score_variant(detector, x, y, variant))
            for variant in VARIANTS]
    record = dict(study=STUDY, run_id=spec.run_id, profile=spec.profile, dataset=spec.dataset,
                  normal_class=int(spec.normal_class), seed=int(spec.seed), config=spec.config.to_dict(),
                  n_train=int(split.info["n_train"]), n_test=int(len(y)), n_anomalies=int(y.sum()),
                  labels=[int(v) for v in y],
                  study_budget=budget.to_dict(), detector_params=_jsonable(detector.get_params()),
                  history=_jsonable(detector.history_), collapsed=bool(detector.collapsed_),
                  train_seconds=train_seconds, rows=_jsonable(rows), threads=runs.compute_threads(),
                  resumed=list(stages.resumed), **provenance())
    stages.clear()
    return record


def grid(profile: str) -> list:
    """Seed 0 on each of the budget's MNIST classes."""
    budget = LatentSearchBudget.resolve(profile)
    return [LatentSearchRun("mnist", int(c), 0, budget.profile) for c in budget.classes]


def change_interval(record: dict, index: int, level: float = 0.95) -> tuple | None:
    """``(change, low, high)`` in points: variant ``index``'s ROC-AUC minus the first sweep's search's, with a
    paired bootstrap interval over the record's images; None for records without per-image scores."""
    rows = record["rows"]
    if "labels" not in record or any("scores" not in rows[i] for i in (0, index)):
        return None
    change, low, high = metrics.paired_auc_difference(np.asarray(record["labels"]), np.asarray(rows[0]["scores"]),
                                                      np.asarray(rows[index]["scores"]), level=level)
    return 100 * change, 100 * low, 100 * high


def variant_table(records):
    """One row per record and variant: class, variant, steps, ROC-AUC, its change from the first sweep's search
    (with a 95% paired bootstrap interval where the record keeps per-image scores), and how far the
    search moved the latent vectors of normal and anomalous images (where recorded)."""
    import pandas as pd

    rows = []
    for record in records:
        reference = record["rows"][0]["auc"]
        for index, row in enumerate(record["rows"]):
            interval = change_interval(record, index) if index else None
            rows.append({"class": record["normal_class"], "search": row_name(row), "steps": row["steps"],
                         "ROC-AUC (%)": 100 * row["auc"], "change (points)": 100 * (row["auc"] - reference),
                         "95% interval": "" if interval is None else f"{interval[1]:+.1f} to {interval[2]:+.1f}",
                         "residual-only ROC-AUC (%)": 100 * row["residual_auc"],
                         "travel normal / anomalous": (f"{row['travel_normal']:.1f} / {row['travel_anomalous']:.1f}"
                                                       if "travel_normal" in row else ""),
                         "seconds": row["seconds"]})
    table = pd.DataFrame(rows).round(1)
    return table.drop(columns=[c for c in ("95% interval", "travel normal / anomalous") if not table[c].any()])


def _thesis(record: dict):
    """The thesis's experiment-2 ROC-AUC (mean, std) of the standard AnoGAN on the record's class."""
    return reference_auc(record["normal_class"], None, record["dataset"])


def variant_points(records):
    """What :func:`adlip.plots.search_variants` draws: the classes in order, each variant's ROC-AUC (%)
    per class, and the thesis's standard-AnoGAN mean and spread per class (experiment 2)."""
    records = sorted(records, key=lambda record: record["normal_class"])
    classes = [record["normal_class"] for record in records]
    labels = list(dict.fromkeys(row_name(row) for record in records for row in record["rows"]))
    aucs = {label: [next((100 * row["auc"] for row in record["rows"] if row_name(row) == label), None)
                    for record in records] for label in labels}
    references = []
    for record in records:
        thesis = _thesis(record)
        references.append(None if thesis is None else (thesis.mean, thesis.std))
    return classes, aucs, references


def same_gan(record: dict, sweep_record: dict) -> bool:
    """Whether the study's GAN trained exactly as the sweep's (the same losses at every epoch)."""
    keys = ("discriminator_loss", "generator_loss")
    return all(record["history"].get(key) == sweep_record.get("history", {}).get(key) for key in keys)


def _sweep_record(record: dict, sweep_records) -> dict | None:
    """The sweep's record of the same task (experiment 2, standard AnoGAN, class, seed, profile) that
    searched as the study's first row did (the first sweep's record), if any."""
    first = record["rows"][0]
    for candidate in sweep_records or ():
        params = candidate.get("detector_params", {})
        if (params.get("latent_learning_rate"), params.get("feature_weight")) != \
                (first["learning_rate"], first["feature_weight"]):
            continue
        if (candidate.get("algorithm") == "anogan" and candidate.get("lipschitz") is None
                and candidate.get("experiment") == "exp2" and candidate.get("status", "ok") == "ok"
                and candidate.get("dataset") == record["dataset"] and candidate.get("profile") == record["profile"]
                and candidate.get("normal_class") == record["normal_class"] and candidate.get("seed") == record["seed"]):
            return candidate
    return None


def search_statement(records, sweep_records=()) -> str:
    """Markdown, per record: do the settings the thesis leaves open move the ROC-AUC as far as the gap?

    ``sweep_records`` are experiment 2's records at the same profile: the sweep's ROC-AUC on the whole
    subset, and the check that the study's GAN is the sweep's (:func:`same_gan`).
    """
    lines = []
    for record in records:
        rows = record["rows"]
        ours, searched = rows[0], [row for row in rows[1:] if row["steps"] > 0]
        best, worst = max(searched, key=lambda r: r["auc"]), min(searched, key=lambda r: r["auc"])
        unsearched = [row for row in rows if row["steps"] == 0]
        text = (f"Class {record['normal_class']}, seed {record['seed']}, the first {record['n_test']} test images "
                f"({record['n_test'] - record['n_anomalies']} normal): the first sweep's search (rate "
                f"{ours['learning_rate']:g}) gives {100 * ours['auc']:.1f}; the other searches give from "
                f"{100 * worst['auc']:.1f} ({row_name(worst)}) to {100 * best['auc']:.1f} ({row_name(best)})")
        if unsearched:
            text += f", and no search at all {100 * unsearched[0]['auc']:.1f}"
        text += "."
        sweep = _sweep_record(record, sweep_records)
        thesis = _thesis(record)
        if record["profile"] != "full":
            text += (f" At the {record['profile']} profile the GAN and the search are far smaller than the thesis's, "
                     "so no gap to the thesis is weighed here; the `full` record does that.")
        elif sweep is not None and thesis is not None:
            gap = 100 * sweep["auc"] - thesis.mean
            gain = 100 * (best["auc"] - ours["auc"])
            interval = change_interval(record, rows.index(best))
            origin = ("the same GAN as the sweep's (the training losses agree at every epoch)" if same_gan(record, sweep)
                      else "a GAN trained like the sweep's but not bitwise the same (other code, threads or CPU)")
            text += (f" This is {origin}, whose ROC-AUC on all {sweep.get('n_test')} images is "
                     f"{100 * sweep['auc']:.1f} against the thesis's {thesis.mean:.1f} ± {thesis.std:.1f}: "
                     f"{gap:+.1f} points.")
            if gap >= 0:
                text += " There is no gap to explain on this class."
            else:
                spread = "" if interval is None else f" (95% paired bootstrap interval {interval[1]:+.1f} to {interval[2]:+.1f})"
                if gain >= -gap:
                    text += (f" The best other setting gains {gain:+.1f} points{spread}, as much as the gap: an "
                             "unstated search setting can account for it.")
                else:
                    text += (f" The best other setting gains {gain:+.1f} points{spread}, less than the gap: the "
                             "search's settings alone do not account for it.")
        lines.append(text)
    across = across_classes_statement(records, sweep_records)
    return "\n\n".join(lines + ([across] if across else [])) if lines else "No latent-search records yet."


def _full_by_class(records) -> list:
    return sorted((r for r in records if r["profile"] == "full"), key=lambda r: r["normal_class"])


def best_search(records) -> tuple | None:
    """``(name, changes)``: over the ``full`` records of two or more classes, the search (other than
    the first sweep's, with steps) whose ROC-AUC gains most on average against the first sweep's,
    and its change per class in points, classes in order. None with fewer than two such records."""
    full = _full_by_class(records)
    if len(full) < 2:
        return None
    labels = [row_name(row) for row in full[0]["rows"][1:] if row["steps"] > 0]
    changes = {label: [_change(record, label) for record in full] for label in labels}
    changes = {label: values for label, values in changes.items() if None not in values}
    if not changes:
        return None
    best = max(changes, key=lambda label: np.mean(changes[label]))
    return best, changes[best]


def across_classes_statement(records, sweep_records=()) -> str:
    """Markdown over the ``full`` records of two or more classes: the search that gains most on
    average, its change on each class, and the sweep's gaps to the thesis on the same classes.

    This is the test a new default has to pass: closing the gaps where they are, without moving the
    classes that have none away from the thesis. The changes are measured on the study's images, the
    gaps on the sweep's (twice as many), so the comparison is approximate and says so by "would".
    Empty with fewer than two such records.
    """
    full = _full_by_class(records)
    found = best_search(records)
    if found is None:
        return ""
    best, changes = found
    classes = [record["normal_class"] for record in full]
    per_class = ", ".join(f"{c}: {v:+.1f}" for c, v in zip(classes, changes))
    text = (f"Across classes {', '.join(map(str, classes))}, the search that gains most on average is "
            f"{best}: {np.mean(changes):+.1f} points against the first sweep's search (per class "
            f"{per_class}).")
    gaps = []
    for record in full:
        sweep = _sweep_record(record, sweep_records)
        thesis = _thesis(record)
        gaps.append(None if sweep is None or thesis is None else 100 * sweep["auc"] - thesis.mean)
    if None not in gaps:
        per_gap = ", ".join(f"{c}: {g:+.1f}" for c, g in zip(classes, gaps))
        text += (f" The sweep's gaps to the thesis on the same classes are {per_gap} (mean "
                 f"{np.mean(gaps):+.1f}).")
        closed = [c for c, g, v in zip(classes, gaps, changes) if g < 0 and v >= -g]
        further = [c for c, g, v in zip(classes, gaps, changes) if abs(g + v) > abs(g) + 1.0]
        text += (f" It would close the gap on {len(closed)} of the {sum(g < 0 for g in gaps)} classes below "
                 f"the thesis{' (' + ', '.join(map(str, closed)) + ')' if closed else ''}")
        text += (f", and would move class {', '.join(map(str, further))} more than a point further from the thesis."
                 if further else ", and would move no class more than a point further from the thesis.")
    return text


def _change(record: dict, label: str) -> float | None:
    """Search ``label``'s ROC-AUC minus the first sweep's search's in ``record``, in points (None if absent)."""
    rows = {row_name(row): row["auc"] for row in record["rows"]}
    return None if label not in rows else 100 * (rows[label] - record["rows"][0]["auc"])


def first_sweep_records(results_dir="results") -> list:
    """The first thesis-budget sweep's AnoGAN records (search rate 0.01), kept when the AnoGAN
    cells were rerun with the slower search; an empty list where the archive is absent."""
    folder = results_folder(results_dir, *FIRST_SWEEP_FOLDER.parts)
    return load_records(folder) if folder.is_dir() else []


def _anogan_cells(records) -> dict:
    """Experiment 2's AnoGAN records by (class, K or None, seed), finished runs only."""
    return {(r["normal_class"], r.get("lipschitz"), r["seed"]): r for r in records
            if r.get("algorithm") == "anogan" and r.get("experiment") == "exp2" and r.get("status", "ok") == "ok"}


def rerun_table(first_records, records):
    """Experiment 2's AnoGAN cells of the first sweep beside the rerun with adlip's default search:
    class, kind, both ROC-AUCs (%), the change, whether the rerun trained the same GAN (the same
    losses at every epoch; not so where the first record was made on another kind of CPU, whose
    kernels round differently, so its change holds the GAN's difference too), whether the GAN
    collapsed (the record's ``collapsed`` flag, the rerun's where there is one) and the thesis's
    mean and spread. A cell not rerun yet shows an empty rerun column."""
    import pandas as pd

    first, rerun = _anogan_cells(first_records), _anogan_cells(records)
    rate = _default_search()[0]
    rows = []
    for (normal_class, k, seed), old in sorted(first.items(), key=lambda item: (item[0][1] is not None,) + item[0][::2]):
        new = rerun.get((normal_class, k, seed))
        if new is not None and new["detector_params"].get("latent_learning_rate") != rate:
            new = None   # a record made before the switch, not a rerun
        thesis = reference_auc(normal_class, k)
        rows.append({"class": normal_class, "kind": "standard" if k is None else f"Lipschitz K={k:g}", "seed": seed,
                     f"first sweep, rate {FIRST_SWEEP_SEARCH[0]:g} (%)": 100 * old["auc"],
                     f"rerun, rate {rate:g} (%)": None if new is None else 100 * new["auc"],
                     "change (points)": None if new is None else 100 * (new["auc"] - old["auc"]),
                     "same GAN": _yes_no(None if new is None else same_gan(new, old)),
                     "GAN collapsed": _yes_no((new or old).get("collapsed")),
                     "thesis (%)": None if thesis is None else thesis.mean,
                     "thesis's std": None if thesis is None else thesis.std})
    return pd.DataFrame(rows).round(1)


def rerun_points(table) -> dict:
    """What :func:`adlip.plots.variant_panels` draws from :func:`rerun_table`: per kind (standard,
    Lipschitz K=...), the classes, the first sweep's and the rerun's ROC-AUC (%) per class (None
    where not run yet) and the thesis's mean and spread."""
    import pandas as pd

    value = lambda x: None if pd.isna(x) else float(x)
    columns = _search_columns(table)
    panels = {}
    for kind, cells in table.groupby("kind", sort=False):
        aucs = {column.removesuffix(" (%)"): [value(v) for v in cells[column]] for column in columns}
        references = [None if pd.isna(mean) else (float(mean), float(std))
                      for mean, std in zip(cells["thesis (%)"], cells["thesis's std"])]
        panels[kind] = (list(cells["class"]), aucs, references)
    return panels


def _search_columns(table) -> list:
    """:func:`rerun_table`'s two ROC-AUC columns, the first sweep's and the rerun's (their names hold the rates)."""
    return [next(c for c in table.columns if c.startswith(prefix)) for prefix in ("first sweep", "rerun")]


def _collapsed_clause(cells) -> str:
    """The clause saying in how many of ``cells`` the GAN collapsed (empty where none did)."""
    collapsed = (cells["GAN collapsed"] == "yes").sum()
    return f"; its generator collapsed to a few images in {collapsed} of them" if collapsed else ""


def _yes_no(flag) -> str:
    return "" if flag is None else ("yes" if flag else "no")


def reference_auc(normal_class: int, k, dataset: str = "mnist"):
    """The thesis's experiment-2 AnoGAN ROC-AUC (mean, std) for a class, standard (k None) or Lipschitz."""
    from adlip import reference

    return reference.thesis_auc("exp2", dataset, "anogan", k is not None, normal_class)


def rerun_statement(table) -> str:
    """Markdown over :func:`rerun_table`: per kind, the mean change over the cells rerun so far, their
    mean difference and mean distance to the thesis before and after (signed differences of both
    signs cancel in the mean; distances do not), and the classes whose thesis mean lies between the
    two searches' ROC-AUCs (where the thesis's unstated search behaves like something in between)."""
    first_column, rerun_column = _search_columns(table)
    done = table[table[rerun_column].notna()]
    if done.empty:
        return (f"No AnoGAN cell has been rerun with the slower search yet ({len(table)} to run: "
                "`python -m adlip sweep --experiment exp2 --profile full --dataset mnist --seed 0 --algorithm anogan --out results/exp2/full`).")
    parts = []
    other_gans = done[done["same GAN"] == "no"]
    for kind, cells in done.groupby("kind", sort=False):
        thesis = cells["thesis (%)"].astype(float).to_numpy()
        first, rerun = cells[first_column].to_numpy(), cells[rerun_column].to_numpy()
        before, after = first - thesis, rerun - thesis
        between = cells["class"][(np.minimum(first, rerun) <= thesis) & (thesis <= np.maximum(first, rerun))]
        parts.append(f"{kind}, {len(cells)} class{'es' if len(cells) > 1 else ''} "
                     f"({', '.join(map(str, cells['class']))}): {cells['change (points)'].mean():+.1f} points on "
                     f"average; the mean difference to the thesis goes from {np.nanmean(before):+.1f} to "
                     f"{np.nanmean(after):+.1f} (the mean distance from {np.nanmean(abs(before)):.1f} to "
                     f"{np.nanmean(abs(after)):.1f}), and the thesis's mean lies between the two searches' "
                     f"ROC-AUCs on {len(between)} of them" + (f" ({', '.join(map(str, between))})" if len(between) else "")
                     + _collapsed_clause(cells))
    todo = len(table) - len(done)
    cells = lambda rows: ", ".join(f"{kind} class {c}" for kind, c in zip(rows["kind"], rows["class"]))
    return ("Rerun with the slower search so far: " + "; ".join(parts) + "."
            + (f" The rerun trained a slightly different GAN for {cells(other_gans)} (first made on another "
               "kind of CPU), so there the change is not the search's alone." if len(other_gans) else "")
            + (f" {todo} of the first sweep's {len(table)} cells are still to rerun." if todo else ""))


LATENT_SEARCH = Study(name=STUDY, title="AnoGAN's latent search varied on one trained GAN (experiment 2's "
                                        "standard AnoGAN)",
                      grid=grid, run=run_latent_search, record_file=lambda spec: f"{spec.run_id}.json",
                      budget=LatentSearchBudget.resolve, partial=True, resumable=True)

"""The GAN chapter's comparison: AnoGAN's latent search against f-AnoGAN's encoder, from run records.

Both detectors share the thesis's DCGAN generator, so the records of experiment 2's AnoGAN runs and
of the ``fanogan`` grid compare on the same one-vs-rest tasks: detection (ROC-AUC), cost (training
time, scoring time per 1000 test images) and what is guaranteed (the generator's measured lower
bound against its constant, the certified score's constant and its median certified radius), and
how many of the runs' generators collapsed (AnoGAN's diversity-ratio check, ``collapsed`` in a record).
"""
from __future__ import annotations

import math

import pandas as pd

from adlip.records import frame_of
from adlip.tables import budget_caption, is_failed, label, markdown_table

GAN_ALGORITHMS = ("anogan", "fanogan")
COLUMNS = ["detector", "model", "classes", "ROC-AUC (%)", "training (s)", "scoring (s / 1000 images)",
           "generator lower bound", "generator K", "score constant", "median certified radius", "collapsed GANs"]


def gan_frame(records, dataset: str = "mnist") -> pd.DataFrame:
    """One row per finished AnoGAN or f-AnoGAN run on ``dataset``, with the columns the tables need."""
    chosen = [r for r in records if r.get("algorithm") in GAN_ALGORITHMS and r.get("dataset") == dataset
              and not is_failed(r)]
    frame = frame_of(chosen)
    if frame.empty:
        return frame
    for name in ("score_constant", "certified_radius_median", "collapsed"):
        if name not in frame:
            frame[name] = None
    frame["model"] = ["standard" if k is None or k != k else f"K = {k:g}" for k in frame["lipschitz"]]
    frame["scoring_per_1000"] = 1000 * frame["score_seconds"] / frame["n_test"]
    order = frame["algorithm"].map(GAN_ALGORITHMS.index) * 2 + frame["lipschitz"].notna()
    return frame.assign(order=order).sort_values(["order", "normal_class"], kind="stable")


def _number(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}g}"


def _collapsed_count(flags) -> str:
    """"c of n": of the n runs that measured their generator, c ended collapsed (mode-collapse check)."""
    known = [bool(flag) for flag in flags if flag is not None and flag == flag]
    return f"{sum(known)} of {len(known)}" if known else "–"


def comparison_table(records, dataset: str = "mnist"):
    """Per detector and model, means over the normal classes that have a record (the count is shown)."""
    frame = gan_frame(records, dataset)
    if frame.empty:
        return markdown_table(COLUMNS, [])
    rows = []
    for (algorithm, model), runs in frame.groupby(["algorithm", "model"], sort=False):
        constant = pd.to_numeric(runs["score_constant"], errors="coerce").mean()
        radius = pd.to_numeric(runs["certified_radius_median"], errors="coerce").mean()
        k = runs["lipschitz"].iloc[0]
        rows.append([label(algorithm), model, str(runs["normal_class"].nunique()), f"{100 * runs['auc'].mean():.1f}",
                     f"{runs['train_seconds'].mean():.0f}", f"{runs['scoring_per_1000'].mean():.1f}",
                     _number(runs["lip_lower_bound"].mean()), "–" if model == "standard" else f"{k:g}",
                     _number(constant), _number(radius), _collapsed_count(runs["collapsed"])])
    return markdown_table(COLUMNS, rows)


def class_table(records, dataset: str = "mnist"):
    """ROC-AUC (%) per normal class (rows) and detector and model (columns)."""
    frame = gan_frame(records, dataset)
    if frame.empty:
        return markdown_table(["normal class"], [])
    frame["column"] = [f"{label(a)} {m}" for a, m in zip(frame["algorithm"], frame["model"])]
    table = (100 * frame.pivot_table(index="normal_class", columns="column", values="auc", aggfunc="mean",
                                     sort=False))
    body = [[str(c)] + ["–" if v != v else f"{v:.1f}" for v in row] for c, row in zip(table.index, table.values)]
    return markdown_table(["normal class", *table.columns], body)


def speed_statement(records, dataset: str = "mnist") -> str:
    """How many times faster f-AnoGAN scores than AnoGAN, per model kind, from the records' timings."""
    frame = gan_frame(records, dataset)
    if frame.empty:
        return "No records of AnoGAN and f-AnoGAN yet."
    parts = []
    for kind, runs in frame.groupby(frame["lipschitz"].isna().map({True: "standard", False: "Lipschitz"}), sort=False):
        per = runs.groupby("algorithm")["scoring_per_1000"].mean()
        if set(GAN_ALGORITHMS) <= set(per.index):
            parts.append(f"{kind}: {per['anogan']:.0f} s against {per['fanogan']:.2f} s per 1000 test images, "
                         f"{per['anogan'] / per['fanogan']:.0f} times faster")
    return ("Scoring, f-AnoGAN's encoder pass against AnoGAN's latent search, " + "; ".join(parts) + "."
            if parts else "The records do not hold both detectors of one kind yet.")


def caption(records, dataset: str = "mnist") -> str:
    """The budget sentence of the records the tables show."""
    return budget_caption([r for r in records if r.get("algorithm") in GAN_ALGORITHMS], datasets=[dataset])

"""Chapter 09's calibration point: the Lipschitz AnoGAN with spectral normalisation (what the profiles
run) beside the thesis's Björck orthonormalisation, same class, K, seed and budget.

The inputs are run records: experiment 2's (``results/exp2/<profile>``) and the ``bjorck`` grid's
(``results/bjorck/<profile>``, :func:`adlip.experiments.bjorck_grid`). IPython is imported when a
function needs it.
"""
from __future__ import annotations

from adlip import reference
from adlip.tables.core import MISSING, is_failed, markdown_table

HEADERS = ("Class", "K", "Kernels", "ROC-AUC", "thesis ROC-AUC (reference)", "random-pair bound",
           "thesis bound (reference)", "gradient-ascent bound", "GAN epochs", "training (min)",
           "collapsed")


def _key(record) -> tuple:
    return record["dataset"], record["normal_class"], record["lipschitz"], record["seed"], record["profile"]


def calibration_pairs(exp2_records, bjorck_records) -> list:
    """``(bjorck, spectral or None)`` for each finished Björck record, matched to experiment 2's
    Lipschitz AnoGAN run of the same data set, class, K, seed and profile."""
    spectral = {_key(r): r for r in exp2_records
                if r.get("algorithm") == "anogan" and r.get("lipschitz") is not None and not is_failed(r)
                and r.get("budget", {}).get("orthogonalization") == "spectral"}
    return [(r, spectral.get(_key(r))) for r in sorted(bjorck_records, key=_key) if not is_failed(r)]


def _row(record, kernels: str) -> list:
    def number(field, digits):
        value = record.get(field)
        return MISSING if value is None else f"{value:.{digits}f}"

    dataset, normal_class = record["dataset"], record["normal_class"]
    auc = reference.thesis_auc("exp2", dataset, "anogan", True, normal_class)
    bound = reference.thesis_bound("exp2", dataset, "anogan", True, normal_class)
    return [normal_class, f"{record['lipschitz']:g}", kernels, f"{100 * record['auc']:.1f}",
            MISSING if auc is None else f"{auc.mean:.1f}", number("lip_lower_bound", 3),
            MISSING if bound is None else f"{bound.value:.3f}", number("lip_gradient_ascent", 3),
            record.get("budget", {}).get("gan_epochs", MISSING), f"{record['train_seconds'] / 60:.0f}",
            {True: "yes", False: "no"}.get(record.get("collapsed"), MISSING)]


def calibration_table(exp2_records, bjorck_records):
    """The Björck runs and their spectral counterparts, one row each (a Markdown table)."""
    pairs = calibration_pairs(exp2_records, bjorck_records)
    if not pairs:
        raise ValueError("no finished Björck calibration records to show")
    rows = []
    for bjorck, spectral in pairs:
        rows.append(_row(bjorck, "Björck (thesis)"))
        if spectral is not None:
            rows.append(_row(spectral, "spectral (profiles)"))
    return markdown_table(HEADERS, rows)


def calibration_statement(exp2_records, bjorck_records) -> str:
    """One computed sentence per pair: how far the spectral run's ROC-AUC is from the Björck one's."""
    sentences = []
    for bjorck, spectral in calibration_pairs(exp2_records, bjorck_records):
        where = f"class {bjorck['normal_class']}, K = {bjorck['lipschitz']:g}"
        if spectral is None:
            sentences.append(f"{where}: experiment 2 has no spectral run to compare with yet.")
            continue
        gap = 100 * (spectral["auc"] - bjorck["auc"])
        cost = bjorck["train_seconds"] / spectral["train_seconds"]
        sentences.append(f"{where}: spectral normalisation scores {gap:+.1f} points of ROC-AUC against "
                         f"Björck's, and Björck training took {cost:.0f} times as long.")
    return " ".join(sentences)

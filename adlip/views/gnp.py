"""Chapter 18's table, figure and statements, from the records of :mod:`adlip.studies.gnp`."""
from __future__ import annotations

from adlip import plots
from adlip.tables import markdown_table
from adlip.studies.gnp import ESTIMATORS, VARIANTS


def results_table(rows):
    """ROC-AUC and the three Lipschitz estimates per detector and kind of layers."""
    body = [[r["family"], r["layers"], f"{r['k']:g}", f"{100 * r['auc']:.1f}", f"{r['test pairs']:.3g}",
             f"{r['gradient ascent']:.3g}", f"{r['upper bound']:.3g}", f"{r['gradient ascent'] / r['k']:.1%}"]
            for r in rows]
    return markdown_table(["detector", "layers", "K", "ROC-AUC (%)", "test-pair bound", "gradient-ascent bound",
                           "product bound", "ascent / K"], body)


def results_figure(rows):
    """The estimates as bars per detector, with K dashed."""
    labels = [f"{r['family']}\n{r['layers']}" for r in rows]
    return plots.estimator_bars({label: {name: r[name] for name in ESTIMATORS} for label, r in zip(labels, rows)},
                                {label: r["k"] for label, r in zip(labels, rows)})


def statements(rows):
    """One computed sentence per detector: what the swap of layers changed."""
    from IPython.display import Markdown

    lines = []
    for family in dict.fromkeys(r["family"] for r in rows):
        thesis, gnp = (next(r for r in rows if r["family"] == family and r["layers"] == v) for v in VARIANTS)
        lines.append(
            f"**{family}** (K = {thesis['k']:g}): ROC-AUC {100 * thesis['auc']:.1f}% with the thesis's layers, "
            f"{100 * gnp['auc']:.1f}% with GroupSort2 and L2-norm pooling; gradient ascent finds "
            f"{thesis['gradient ascent'] / thesis['k']:.1%} of K against {gnp['gradient ascent'] / gnp['k']:.1%}, "
            f"and the product bound is {thesis['upper bound']:.3g} against {gnp['upper bound']:.3g}.")
    return Markdown("\n".join(f"* {line}" for line in lines))

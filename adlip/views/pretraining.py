"""Chapter 8's pretraining section: table, figure and statements from :mod:`adlip.studies.pretraining`.

Every function takes the study's records (one per K, each with a row per variant: pretrained or
not). matplotlib and IPython are imported when a function needs them.
"""
from __future__ import annotations

import numpy as np

from adlip import reference
from adlip.studies.pretraining import PROBES, VARIANTS
from adlip.tables.core import MISSING, markdown_table

PANELS = {"auc": "ROC-AUC (%)", "distance_normal": r"mean $\|\phi(x) - c\|$, normal test images",
          "norm": r"mean $\|\phi(x)\|$, test images"}
PROBE_PANELS = {f"{probe}_correlation": f"rank correlation of the distance\nwith {meaning}"
                for probe, meaning in PROBES.items()}


def rows_by_k(records) -> list:
    """``(K, algorithm, {variant: row})`` in increasing K; an error if there is nothing to show."""
    if not records:
        raise ValueError("no pretraining records to render: run `python -m adlip study pretraining` first")
    found = sorted(((float(r["lipschitz"]), r["algorithm"], {row["variant"]: row for row in r["rows"]})
                    for r in records), key=lambda item: item[0])
    unknown = {variant for _, _, rows in found for variant in rows} - set(VARIANTS)
    if unknown:
        raise ValueError(f"records with unknown variants {sorted(unknown)}; known: {list(VARIANTS)}")
    return found


def has_probes(records) -> bool:
    """Whether every record traced the correlations with the probes (records made before the study
    measured them lack them)."""
    return all(f"{probe}_correlation" in point for record in records for row in record["rows"]
               for point in row["trace"] for probe in PROBES)


def trace(row, quantity) -> np.ndarray:
    """One tracked quantity of a row over its checkpoints (``epoch``: the epochs trained)."""
    return np.array([point[quantity] for point in row["trace"]], dtype=float)


def thesis_auc(algorithm: str, k: float):
    """The thesis's experiment-1 ROC-AUC (%) of the Lipschitz ``algorithm`` at K, or None off its grid."""
    try:
        return reference.thesis_auc("exp1", "mnist", algorithm, True, k)
    except ValueError:
        return None


def lowest_point(row) -> tuple:
    """``(epochs trained, ROC-AUC in %)`` at the checkpoint where the ROC-AUC was lowest."""
    epochs, aucs = trace(row, "epoch"), 100 * trace(row, "auc")
    index = int(np.argmin(aucs))
    return int(epochs[index]), float(aucs[index])


def summary_table(records):
    """Per K and variant: the ROC-AUC before training, at its lowest checkpoint and at the end, beside
    the thesis's experiment-1 value (a labelled reference column)."""
    body, probed = [], has_probes(records)
    for k, algorithm, rows in rows_by_k(records):
        thesis = thesis_auc(algorithm, k)
        for variant in VARIANTS:
            if variant not in rows:
                continue
            row = rows[variant]
            aucs = 100 * trace(row, "auc")
            low_epoch, low = lowest_point(row)
            cells = [f"{k:g}", variant, f"{aucs[0]:.1f}", f"{low:.1f} (epoch {low_epoch})",
                     f"{100 * row['auc']:.1f}", str(row["epochs"])]
            if probed:
                cells += [f"{trace(row, f'{probe}_correlation')[-1]:+.2f}" for probe in PROBES]
            body.append(cells + [MISSING if thesis is None else f"{thesis.mean:.1f}"])
    header = ["K", "initialisation", "ROC-AUC before training (%)", "lowest ROC-AUC (%)", "final ROC-AUC (%)",
              "Deep SVDD epochs"] + ([f"final correlation: {probe}" for probe in PROBES] if probed else [])
    return markdown_table(header + ["thesis: ROC-AUC (reference)"], body)


def traces_figure(records, quantities=tuple(PANELS)):
    """The tracked quantities over training (``PANELS`` or ``PROBE_PANELS`` keys, "auc" among them
    possibly): colour per K, solid pretrained, dashed not pretrained."""
    import matplotlib.pyplot as plt

    from adlip import plots

    found = rows_by_k(records)
    labels = {**PANELS, **PROBE_PANELS}
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(found)))
    series = {}
    for colour, (k, _, rows) in zip(colours, found):
        for variant, style in zip(VARIANTS, ("-", "--")):
            if variant in rows:
                row = rows[variant]
                series[f"K = {k:g}, {variant}"] = dict(
                    epoch=trace(row, "epoch"), color=colour, linestyle=style,
                    **{q: trace(row, q) * (100 if q == "auc" else 1) for q in quantities})
    fig = plots.training_traces(series, {q: labels[q] for q in quantities}, log_panels=("distance_normal", "norm"),
                                xlabel="Deep SVDD epochs trained")
    for quantity in set(quantities) & set(PROBE_PANELS):
        fig.axes[list(quantities).index(quantity)].axhline(0, color="0.6", linestyle=":")
    if "auc" in quantities:
        axis = fig.axes[list(quantities).index("auc")]
        axis.axhline(50, color="0.6", linestyle=":")
        for colour, (k, algorithm, _) in zip(colours, found):
            thesis = thesis_auc(algorithm, k)
            if thesis is not None:
                axis.axhline(thesis.mean, color=colour, linestyle=":", alpha=0.8)
    return fig


def probes_figure(records):
    """The ROC-AUC beside the distance's rank correlation with each probe, over training."""
    return traces_figure(records, ("auc",) + tuple(PROBE_PANELS))


def probe_agreement(row) -> str:
    """The distance's rank correlation with each probe: its mean over the checkpoints below chance
    (if any) and its value at the end."""
    below = trace(row, "auc") < 0.5
    parts = []
    for probe in PROBES:
        correlations = trace(row, f"{probe}_correlation")
        during = f"{correlations[below].mean():+.2f} below chance, " if below.any() else ""
        parts.append(f"{probe} {during}{correlations[-1]:+.2f} at the end")
    return "rank correlation with " + " and ".join(parts)


def statements(records):
    """The section's computed sentences: where each variant started, how low it went, where it ended."""
    from IPython.display import Markdown

    lines, probed = [], has_probes(records)
    for k, algorithm, rows in rows_by_k(records):
        thesis = thesis_auc(algorithm, k)
        parts = []
        for variant, row in rows.items():
            aucs = 100 * trace(row, "auc")
            low_epoch, low = lowest_point(row)
            below = int(np.sum(aucs < 50))
            text = (f"{variant}: {aucs[0]:.1f}% before training, lowest {low:.1f}% after {low_epoch} epochs, "
                    f"{100 * row['auc']:.1f}% at the end ({below} of {len(aucs)} checkpoints below chance)")
            if probed:
                text += f"; {probe_agreement(row)}"
            parts.append(text)
        reference_text = "" if thesis is None else f" The thesis: {thesis.mean:.1f}%."
        lines.append(f"**K = {k:g}.** " + "; ".join(parts) + "." + reference_text)
    return Markdown("\n".join(f"* {line}" for line in lines))


def probe_baseline(records):
    """The sentence on the data alone: the ROC-AUC of each probe used as the anomaly score, or None
    when the records predate the probes."""
    from IPython.display import Markdown

    if not all("probe_aucs" in record for record in records):
        return None
    parts = []
    for probe, meaning in PROBES.items():
        values = sorted({round(100 * record["probe_aucs"][probe], 1) for record in records})
        shown = f"{values[0]:.1f}%" if len(values) == 1 else f"{values[0]:.1f}% to {values[-1]:.1f}%"
        parts.append(f"{meaning} ({probe}): {shown}")
    return Markdown("On the test images of these records, each probe used on its own as the anomaly score has a "
                    "ROC-AUC of: " + "; ".join(parts) + ".")

"""The companion chapters' figures (chapters 12 to 15): one function per figure, each returning a
matplotlib ``Figure``.

As in :mod:`adlip.plots`, the functions draw numbers the chapter's study computed (curves, grids of
values, records), never train or score a model; the computation lives in
:mod:`adlip.studies.regsvdd`, :mod:`adlip.studies.hkr`, :mod:`adlip.studies.vae` and
:mod:`adlip.studies.realnvp`.
"""
from __future__ import annotations

import numpy as np

from adlip.detectors.vae import SCORE_LABELS
from adlip.studies.realnvp import VARIANTS as REALNVP_VARIANTS
from adlip.studies.vae import MODEL_NAMES as VAE_MODEL_NAMES


def _subplots(*args, **kwargs):
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


# -- chapter 12: regularized Deep SVDD ----------------------------------------------------------------

def _per_network(curves: dict, key: str, first_epoch: int, height: float, ylabel: str, only=None):
    """One panel per network, one log-scale line per model of the curves' ``key`` against the epoch."""
    fig, axes = _subplots(1, len(curves), figsize=(5.2 * len(curves), height))
    for ax, (network, by_model) in zip(np.atleast_1d(axes), curves.items()):
        for model, curve in by_model.items():
            if only is None or only in model:
                ax.semilogy(range(first_epoch, len(curve[key]) + first_epoch), curve[key], marker="o", ms=3,
                            label=model)
        ax.set(title=network, xlabel="epoch (0: before training)" if first_epoch == 0 else "epoch", ylabel=ylabel)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def variance_figure(curves: dict):
    """The embedding variance of every model before training and after every epoch, per network."""
    return _per_network(curves, "variance", 0, 3.6, "embedding variance $v$")


def weight_figure(curves: dict):
    """The adaptive weight c_t of the two regularized models at the end of every epoch, per network."""
    return _per_network(curves, "weight", 1, 3.2, "$c_t$ at the end of the epoch", only="reg.")


# -- chapter 13: one-class HKR ------------------------------------------------------------------------

def toy_contours(toy: dict, surfaces: dict):
    """One column per toy set, one row per method: its normality on the grid, the level 0 in black and
    every fourth training point."""
    xs, ys, values = surfaces["xs"], surfaces["ys"], surfaces["values"]
    methods = list(next(iter(values.values())))
    figure, axes = _subplots(len(methods), len(toy), figsize=(3.3 * len(toy), 3.0 * len(methods)),
                             sharex=True, sharey=True)
    for column, (name, x) in enumerate(toy.items()):
        for row, method in enumerate(methods):
            axis = axes[row, column]
            filled = axis.contourf(xs, ys, values[name][method], levels=20, cmap="RdBu")
            axis.contour(xs, ys, values[name][method], levels=[0.0], colors="black", linewidths=1.2)
            axis.scatter(*x[::4].T, s=1, c="black", alpha=0.5)
            figure.colorbar(filled, ax=axis, shrink=0.85)
            axis.set_title(f"{method}: {name}" if row == 0 else method, fontsize=9)
    figure.tight_layout()
    return figure


def walks_figure(data: np.ndarray, walks: dict):
    """Algorithm 1's walks on a toy set: every second training point in gray, each walk's points in red."""
    figure, axes = _subplots(1, len(walks), figsize=(10, 3.2), sharex=True, sharey=True)
    for axis, (title, points) in zip(axes, walks.items()):
        axis.scatter(*data[::2].T, s=1, c="lightgray")
        axis.scatter(*points.T, s=3, c="tab:red")
        axis.set(title=title, xlim=(-5, 5), ylim=(-5, 5))
        axis.title.set_fontsize(9)
    figure.tight_layout()
    return figure


def f_histograms(records: list):
    """Histograms of f (the paper's Figure 5) for the first record and the one with the lowest ROC-AUC."""
    weakest = min(records, key=lambda r: r["auc"])
    chosen = [records[0]] + ([weakest] if weakest is not records[0] else [])
    figure, axes = _subplots(1, len(chosen), figsize=(5 * len(chosen), 3.0), squeeze=False)
    for axis, record in zip(axes[0], chosen):
        histogram = record["f_histogram"]
        edges = np.asarray(histogram["edges"])
        for group, color in (("train", "tab:blue"), ("test normal", "tab:green"), ("test anomalous", "tab:red")):
            counts = np.asarray(histogram[group], dtype=float)
            axis.stairs(counts / counts.sum(), edges, label=group, color=color, fill=group == "test anomalous",
                        alpha=0.4 if group == "test anomalous" else 1.0)
        axis.set(title=f"normal class {record['normal_class']} (ROC-AUC {100 * record['auc']:.1f})",
                 xlabel="$f(x)$", ylabel="fraction")
        axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def generated_digits(records: list):
    """One row per record (normal class): the ten images Algorithm 1 generated."""
    figure, axes = _subplots(len(records), 10, figsize=(10, 1.05 * len(records)), squeeze=False)
    for row, record in zip(axes, records):
        for axis, image in zip(row, record["generated"]):
            axis.imshow(np.asarray(image), cmap="gray", vmin=0, vmax=255)
            axis.set_xticks([])
            axis.set_yticks([])
        row[0].set_ylabel(str(record["normal_class"]), rotation=0, labelpad=10)
    figure.tight_layout()
    return figure


def certified_curves(runs: dict, radii, mean_curves: dict):
    """Certified ROC-AUC against the L2 radius: thin lines per record, thick the mean per activation."""
    figure, axis = _subplots(figsize=(6, 3.6))
    for (name, run), color in zip(runs.items(), ("tab:blue", "tab:orange")):
        for record in run:
            record_radii, values = np.asarray(record["certified_auroc"]).T
            axis.plot(record_radii, 100 * values, color=color, alpha=0.3, linewidth=1)
        axis.plot(radii, mean_curves[name], color=color, linewidth=2.5, label=f"{name}: mean over {len(run)} classes")
    axis.set(xlabel=r"L2 radius $\varepsilon$ ([-1, 1] pixel units)", ylabel="certified ROC-AUC (%)")
    axis.legend()
    figure.tight_layout()
    return figure


# -- chapter 14: the Lipschitz VAE --------------------------------------------------------------------

def code_size_histograms(means: dict):
    """Per model, histograms of the largest coordinate of the posterior means of every probe set."""
    fig, axes = _subplots(1, len(means), figsize=(4.2 * len(means), 3.4), sharey=True)
    for ax, (model, sets) in zip(axes, means.items()):
        top = max(np.abs(m).max() for m in sets.values())
        bins = np.linspace(0, top, 40)
        for name, m in sets.items():
            ax.hist(np.abs(m).max(axis=1), bins=bins, density=True, histtype="step", lw=1.6, label=name)
        ax.set(title=VAE_MODEL_NAMES[model], xlabel=r"$\|\mu(x)\|_\infty$")
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def latent_plane(plane: np.ndarray, hole: np.ndarray, n_inliers: int):
    """Codes on two principal components: inliers and outliers (left), coloured by the hole indicator (right)."""
    fig, (left, right) = _subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True)
    left.scatter(*plane[:n_inliers].T, s=5, alpha=0.5, color="tab:blue", label="MNIST (inliers)")
    left.scatter(*plane[n_inliers:].T, s=5, alpha=0.5, color="tab:red", label="Fashion-MNIST (outliers)")
    left.set(title="posterior means", xlabel="PC 1", ylabel="PC 2")
    left.legend(fontsize=8, markerscale=3)
    order = np.argsort(hole)
    dots = right.scatter(*plane[order].T, c=np.log10(hole[order]), s=5, cmap="viridis")
    fig.colorbar(dots, ax=right, label="log10 hole indicator")
    right.set(title="coloured by the hole indicator", xlabel="PC 1")
    fig.tight_layout()
    return fig


def ablation_figure(rows: list, decoder_constants):
    """The decoder-smoothing ablation: AUROC against the decoder's constant, per score and outlier set."""
    fig, axes = _subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, score in zip(axes, ("hole", "importance")):
        for outlier in dict.fromkeys(r["outlier"] for r in rows):
            chosen = [r for r in rows if r["score"] == score and r["outlier"] == outlier]
            ax.plot([r["decoder_lipschitz"] for r in chosen], [100 * r["auroc"] for r in chosen], "o-",
                    label=outlier)
        ax.set(xscale="log", title=SCORE_LABELS[score], xlabel="decoder Lipschitz constant")
        ax.set_xticks(decoder_constants, [f"{c:g}" for c in decoder_constants])
    axes[0].set_ylabel("AUROC (%)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


# -- chapter 15: robust Real NVP ----------------------------------------------------------------------

def moons_densities(moons: tuple, kind: str, densities: tuple):
    """The contaminated data, then each variant's log-density on a grid (floored 12 nats below its peak)."""
    x, is_anomaly = moons
    xs, ys, log_densities = densities
    figure, axes = _subplots(1, 4, figsize=(13, 3.0), sharex=True, sharey=True)
    axes[0].scatter(*x[is_anomaly == 0].T, s=3, c="tab:blue", label="normal")
    axes[0].scatter(*x[is_anomaly == 1].T, s=6, c="tab:red", label="anomaly")
    axes[0].set_title(f"training data ({kind} anomalies)")
    axes[0].legend(loc="lower left", fontsize=7)
    for axis, variant in zip(axes[1:], REALNVP_VARIANTS):
        values = log_densities[variant]
        axis.contourf(xs, ys, np.maximum(values, values.max() - 12), levels=24, cmap="viridis")
        axis.set_title(variant)
    figure.tight_layout()
    return figure

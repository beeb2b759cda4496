"""The book's figures: one function per figure, each returning a matplotlib ``Figure``.

The functions take plain arrays (never models), so a chapter computes its numbers first and then
draws them; the same function serves every chapter that shows that kind of figure. Colours are
shared: normal data is blue, anomalies red.
"""
from __future__ import annotations

import numpy as np

from adlip.detectors import registry

NORMAL_COLOR = "tab:blue"
ANOMALY_COLOR = "tab:red"
KIND_STYLE = {
    "normal": dict(color=NORMAL_COLOR, marker="o", s=12, alpha=0.5),
    "point anomaly": dict(color=ANOMALY_COLOR, marker="x", s=60),
    "collective anomaly": dict(color="tab:orange", marker="^", s=30),
}


def _group_color(name, index):
    """Blue for normal data, red for anomalies, other colours for any further group."""
    if "anomal" in name:
        return ANOMALY_COLOR
    if "normal" in name:
        return NORMAL_COLOR
    return ["tab:green", "tab:purple", "tab:brown", "tab:olive"][index % 4]


def _subplots(nrows=1, ncols=1, width=6.0, height=3.6, **kwargs):
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def anomaly_types(points, kinds, t, series, contextual_index):
    """Left: 2-D data with point and collective anomalies; right: a contextual anomaly in time."""
    fig, (left, right) = _subplots(1, 2, width=10, height=3.8)
    kinds = np.asarray(kinds)
    for kind, style in KIND_STYLE.items():
        chosen = kinds == kind
        if chosen.any():
            left.scatter(points[chosen, 0], points[chosen, 1], label=kind, **style)
    left.set(title="point and collective anomalies", xlabel="$x_1$", ylabel="$x_2$")
    left.legend(loc="best", fontsize=8)
    right.plot(t, series, color=NORMAL_COLOR, lw=1)
    right.scatter(t[contextual_index], series[contextual_index], color=ANOMALY_COLOR, s=60,
                  marker="x", zorder=3, label="contextual anomaly")
    right.set(title="a contextual anomaly", xlabel="time", ylabel="value")
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def decision_regions(points, is_outlier, grid_x, grid_y, grid_scores):
    """Detectors' scores over the plane (one panel per {title: scores on the grid}), data on top."""
    n = len(grid_scores)
    fig, axes = _subplots(1, n, width=4.6 * n, height=4.0, squeeze=False)
    is_outlier = np.asarray(is_outlier, bool)
    for ax, (title, scores) in zip(axes[0], grid_scores.items()):
        filled = ax.contourf(grid_x, grid_y, scores, levels=20, cmap="Greys")
        fig.colorbar(filled, ax=ax, label="anomaly score")
        ax.scatter(*points[~is_outlier].T, s=8, color=NORMAL_COLOR, label="normal")
        ax.scatter(*points[is_outlier].T, s=30, color=ANOMALY_COLOR, marker="x", label="anomaly")
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _displayable(image, value_range):
    """An image as a 2-D (grey) or 3-D (RGB) float array in [0, 1] for ``imshow``."""
    image = np.asarray(image, dtype=float)
    if image.ndim == 1:
        side = int(round(np.sqrt(image.size)))
        image = image.reshape(side, side)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    low, high = value_range if value_range is not None else (image.min(), image.max())
    return np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)


def image_rows(rows, n=8, cmap="gray", value_range=None):
    """Rows of images, one row per entry of ``rows`` ({label: images (N, H, W[, C])}).

    Each image is scaled to its own min and max unless ``value_range=(low, high)`` is given.
    """
    fig, axes = _subplots(len(rows), n, width=1.1 * n, height=1.25 * len(rows), squeeze=False)
    for row_axes, (label, images) in zip(axes, rows.items()):
        for ax, image in zip(row_axes, list(images)[:n]):
            ax.imshow(_displayable(image, value_range), cmap=cmap, vmin=0.0, vmax=1.0)
        for ax in row_axes:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        row_axes[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def roc_curves(y_true, scores):
    """ROC curves of one or more scores ({name: scores}) with the area under each in the legend."""
    from sklearn.metrics import roc_curve

    from adlip.metrics import roc_auc

    fig, ax = _subplots(width=4.6, height=4.2)
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y_true, score)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y_true, score):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="random (AUC 0.5)")
    ax.set(xlabel="false positive rate (normal flagged)",
           ylabel="true positive rate (anomalies flagged)", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def score_histograms(y_true, scores, xlabel="anomaly score", title=None, log=False):
    """Histograms of a score for the normal (0) and anomalous (1) test examples."""
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    fig, ax = _subplots(width=6, height=3.4)
    values = np.log10(scores) if log else scores
    bins = np.histogram_bin_edges(values, bins=40)
    ax.hist(values[y_true == 0], bins=bins, alpha=0.6, density=True, color=NORMAL_COLOR,
            label=f"normal ({(y_true == 0).sum()})")
    ax.hist(values[y_true == 1], bins=bins, alpha=0.6, density=True, color=ANOMALY_COLOR,
            label=f"anomalous ({(y_true == 1).sum()})")
    ax.set(xlabel=f"log10 {xlabel}" if log else xlabel, ylabel="density", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def convolution_maps(image, kernels, responses):
    """An image, then each kernel ({name: kernel}) beside the feature map it produces."""
    n = len(kernels)
    fig, axes = _subplots(2, n + 1, width=2.3 * (n + 1), height=4.4, squeeze=False)
    axes[0, 0].imshow(image, cmap="gray")
    axes[0, 0].set_title("input")
    axes[1, 0].axis("off")
    for column, (name, kernel) in enumerate(kernels.items(), start=1):
        limit = np.abs(kernel).max()
        axes[0, column].imshow(kernel, cmap="coolwarm", vmin=-limit, vmax=limit)
        axes[0, column].set_title(f"kernel: {name}", fontsize=9)
        response_limit = np.abs(responses[name]).max()
        axes[1, column].imshow(responses[name], cmap="coolwarm", vmin=-response_limit,
                               vmax=response_limit)
        axes[1, column].set_title("feature map", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def collapse_curves(histories):
    """Deep SVDD training: mean squared distance to the center, per network ({name: history}).

    Each history maps "normal (train)" and "anomalous (test)" to per-epoch means.
    """
    fig, axes = _subplots(1, len(histories), width=4.2 * len(histories), height=3.6,
                          sharey=True, squeeze=False)
    for ax, (name, history) in zip(axes[0], histories.items()):
        for index, (label, values) in enumerate(history.items()):
            color = _group_color(label, index)
            ax.semilogy(np.arange(1, len(values) + 1), values, color=color, label=label)
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].set_ylabel(r"mean $\|\phi(x) - c\|^2$")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def gan_samples_1d(real, fakes, grid=None, discriminators=None):
    """Histograms of real 1-D data and of each GAN's samples ({title: samples}).

    ``discriminators`` ({title: D(grid)}) adds each discriminator's output on ``grid``.
    """
    n = len(fakes)
    fig, axes = _subplots(1, n, width=3.2 * n, height=3.0, sharey=True, squeeze=False)
    bins = np.linspace(-4, 4, 61)
    for ax, (title, fake) in zip(axes[0], fakes.items()):
        ax.hist(np.ravel(real), bins=bins, density=True, alpha=0.4, color="grey", label="real")
        ax.hist(np.ravel(fake), bins=bins, density=True, alpha=0.6, color=NORMAL_COLOR,
                label="generated")
        if discriminators is not None:
            ax.plot(grid, discriminators[title], color=ANOMALY_COLOR, lw=1, label="D(x)")
        ax.set(title=title, xlabel="x")
    axes[0, 0].legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return fig


def latent_search_curves(losses, ylabel="AnoGAN loss"):
    """Loss during a batched latent search: median and quartiles per group ({name: (steps, batch)})."""
    fig, ax = _subplots(width=6, height=3.6)
    for index, (name, values) in enumerate(losses.items()):
        color = _group_color(name, index)
        values = np.asarray(values)
        steps = np.arange(len(values))
        low, mid, high = np.percentile(values, [25, 50, 75], axis=1)
        ax.plot(steps, mid, color=color, label=f"{name} (median)")
        ax.fill_between(steps, low, high, color=color, alpha=0.2)
    ax.set(xlabel="search step", ylabel=ylabel, yscale="log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def attack_accuracy(epsilons, accuracies, xlabel=r"perturbation budget $\epsilon$", ylabel="accuracy"):
    """Accuracy under attack against the perturbation budget, one line per attack ({name: accs}).

    Any score in [0, 1] against a radius draws the same way (``ylabel``: a certified ROC-AUC, say)."""
    fig, ax = _subplots(width=5.5, height=3.6)
    for name, values in accuracies.items():
        ax.plot(epsilons, values, marker="o", ms=3, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def certified_vs_empirical(certified, empirical, xlabel="certified radius (lower bound)",
                           ylabel="radius at which the attack succeeded"):
    """Per example: a certified radius against the radius an attack needed (log-log)."""
    certified, empirical = np.asarray(certified, float), np.asarray(empirical, float)
    fig, ax = _subplots(width=4.8, height=4.4)
    ax.scatter(certified, empirical, s=10, alpha=0.6, color=NORMAL_COLOR)
    positive = np.concatenate([certified[certified > 0], empirical[empirical > 0]])
    low, high = positive.min() / 1.5, positive.max() * 1.5
    ax.plot([low, high], [low, high], color="grey", ls="--", lw=1, label="equal radii")
    ax.set(xscale="log", yscale="log", xlim=(low, high), ylim=(low, high),
           xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def convergence(errors, ylabel, xlabel="iteration"):
    """Errors of one or more iterative methods against the iteration ({name: errors}), log scale."""
    fig, ax = _subplots(width=5.5, height=3.6)
    for name, values in errors.items():
        ax.semilogy(np.arange(1, len(values) + 1), np.maximum(values, 1e-17), marker=".", label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def singular_value_paths(history):
    """All singular values of a matrix across the iterations of an orthonormalization (iters, k)."""
    history = np.asarray(history)
    fig, ax = _subplots(width=5.5, height=3.6)
    ax.plot(np.arange(len(history)), history, color=NORMAL_COLOR, lw=0.8, alpha=0.7)
    ax.axhline(1.0, color="grey", ls="--", lw=1)
    ax.set(xlabel="Björck iteration", ylabel="singular values")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def gradient_norms(depths, norms):
    """Norm of a back-propagated gradient against network depth, per activation ({name: norms})."""
    fig, ax = _subplots(width=5.5, height=3.6)
    for name, values in norms.items():
        ax.semilogy(depths, values, marker="o", ms=3, label=name)
    ax.set(xlabel="layers back-propagated through", ylabel=r"$\|g\|_2$ (started at 1)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- experiment figures: drawn from result records (lists of dicts) -------------------------

ALGORITHM_COLORS = registry.colors()        # the thesis's detectors' colours, from the algorithm registry
ALGORITHM_NAMES = registry.labels("thesis")
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "fashion_mnist": "Fashion-MNIST"}


def _present(records, field):
    order = {"mnist": 0, "cifar10": 1, "fashion_mnist": 2, **{a: i for i, a in enumerate(ALGORITHM_COLORS)}}
    return sorted({r[field] for r in records}, key=lambda v: (order.get(v, 99), str(v)))


def _per_k(records, dataset, algorithm, field, reduce):
    values = {}
    for record in records:
        if record["dataset"] == dataset and record["algorithm"] == algorithm and record.get("lipschitz") \
                and record.get(field) is not None:
            values.setdefault(float(record["lipschitz"]), []).append(float(record[field]))
    ks = sorted(values)
    return ks, [reduce(values[k]) for k in ks]


def metric_against_k(records, field, thesis_getter=None, ylabel=None, scale=1.0, experiment="exp1"):
    """One panel per data set: a metric (mean over seeds) against K per algorithm, ours solid and
    the thesis's dashed (``thesis_getter(experiment, dataset, algorithm, True, k)`` -> (mean, ...))."""
    datasets = _present(records, "dataset")
    fig, axes = _subplots(1, len(datasets), width=5.2 * len(datasets), height=3.6, squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for algorithm in _present([r for r in records if r["dataset"] == dataset], "algorithm"):
            color = ALGORITHM_COLORS.get(algorithm)
            ks, values = _per_k(records, dataset, algorithm, field, lambda v: scale * float(np.mean(v)))
            ax.plot(ks, values, "o-", color=color, label=f"{ALGORITHM_NAMES.get(algorithm, algorithm)} (adlip)")
            if thesis_getter is not None:
                published = [(k, thesis_getter(experiment, dataset, algorithm, True, k)) for k in ks]
                published = [(k, v[0]) for k, v in published if v is not None and v[0] is not None]
                if published:
                    ax.plot(*zip(*published), "--", color=color, alpha=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("Lipschitz constant K")
        ax.set_ylabel(ylabel or field)
        ax.set_title(f"{DATASET_NAMES.get(dataset, dataset)} (dashed: thesis)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def pretraining_against_k(variants: dict, thesis_getter=None, dataset="mnist", algorithms=None):
    """One panel per algorithm (default: those present): ROC-AUC (mean over seeds, %) against K for
    each variant (``{name: records}``, e.g. with and without pretraining), the thesis's dashed and
    chance dotted."""
    algorithms = algorithms or _present([r for records in variants.values() for r in records
                                         if r["dataset"] == dataset], "algorithm")
    fig, axes = _subplots(1, len(algorithms), width=4.8 * len(algorithms), height=3.6, squeeze=False)
    for ax, algorithm in zip(axes[0], algorithms):
        ks = []
        for (name, records), marker in zip(variants.items(), "os^vD"):
            ks_variant, values = _per_k(records, dataset, algorithm, "auc", lambda v: 100 * float(np.mean(v)))
            ax.plot(ks_variant, values, marker + "-", label=f"{name} (adlip)")
            ks = sorted(set(ks) | set(ks_variant))
        if thesis_getter is not None:
            published = [(k, thesis_getter("exp1", dataset, algorithm, True, k)) for k in ks]
            published = [(k, v[0]) for k, v in published if v is not None and v[0] is not None]
            if published:
                ax.plot(*zip(*published), "k--", alpha=0.6, label="thesis")
        ax.axhline(50, color="0.6", linestyle=":", label="chance")
        ax.set_xscale("log")
        ax.set(xlabel="Lipschitz constant K", ylabel="ROC-AUC (%)", title=ALGORITHM_NAMES.get(algorithm, algorithm))
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def bounds_against_k(records):
    """One panel per data set: random-pair and gradient-ascent lower bounds (max over seeds) against K,
    with the guaranteed upper bound L = K as a grey diagonal."""
    datasets = _present(records, "dataset")
    fig, axes = _subplots(1, len(datasets), width=5.2 * len(datasets), height=3.8, squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        all_ks = set()
        for algorithm in _present([r for r in records if r["dataset"] == dataset], "algorithm"):
            color = ALGORITHM_COLORS.get(algorithm)
            ks, pairs = _per_k(records, dataset, algorithm, "lip_lower_bound", max)
            ax.plot(ks, pairs, "o-", color=color, label=f"{ALGORITHM_NAMES.get(algorithm, algorithm)}: random pairs")
            ks_ascent, ascent = _per_k(records, dataset, algorithm, "lip_gradient_ascent", max)
            ax.plot(ks_ascent, ascent, "^:", color=color, label="gradient ascent")
            all_ks.update(ks)
        if all_ks:
            span = np.array(sorted(all_ks))
            ax.plot(span, span, color="0.6", linewidth=3, alpha=0.5, label="upper bound K")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Lipschitz constant K")
        ax.set_ylabel("empirical lower bound")
        ax.set_title(DATASET_NAMES.get(dataset, dataset))
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def _first_seed_histories(records, algorithm):
    runs = {}
    for record in sorted(records, key=lambda r: r.get("seed", 0)):
        if record["algorithm"] == algorithm and record.get("lipschitz") and record.get("history"):
            runs.setdefault((record["dataset"], float(record["lipschitz"])), record["history"])
    return runs


def loss_curves_by_k(records, algorithm, key="loss", title=None):
    """Training curves of one algorithm's Lipschitz runs, one line per K, one panel per data set."""
    runs = _first_seed_histories(records, algorithm)
    datasets = _present([{"dataset": d} for d, _ in runs], "dataset") or ["mnist"]
    fig, axes = _subplots(1, len(datasets), width=5.2 * len(datasets), height=3.4, squeeze=False)
    colors = plt_colormap(len({k for _, k in runs}))
    ks = sorted({k for _, k in runs})
    for ax, dataset in zip(axes[0], datasets):
        for k in ks:
            history = runs.get((dataset, k))
            if history and history.get(key):
                ax.plot(np.arange(1, len(history[key]) + 1), history[key], color=colors[ks.index(k)], label=f"K = {k:g}")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(f"{DATASET_NAMES.get(dataset, dataset)}" + (f": {title}" if title else ""))
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plt_colormap(n):
    import matplotlib.pyplot as plt

    return [plt.cm.viridis(i / max(1, n - 1)) for i in range(n)]


def gan_losses_by_k(records):
    """Generator and discriminator losses per epoch of the Lipschitz AnoGAN runs, one line per K."""
    runs = _first_seed_histories(records, "anogan")
    keys = sorted({k for history in runs.values() for k in history
                   if "gen" in k.lower() or "disc" in k.lower()})[:2]
    fig, axes = _subplots(1, max(1, len(keys)), width=5.2 * max(1, len(keys)), height=3.4, squeeze=False)
    ks = sorted({k for _, k in runs})
    colors = plt_colormap(len(ks))
    for ax, key in zip(axes[0], keys):
        for (dataset, k), history in sorted(runs.items()):
            style = "-" if dataset == "mnist" else "--"
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], style, color=colors[ks.index(k)],
                    label=f"{DATASET_NAMES.get(dataset, dataset)} K = {k:g}")
        ax.set_xlabel("epoch")
        ax.set_title(key.replace("_", " "))
    if keys:
        axes[0][0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def paired_auc(records):
    """Per normal class, the standard detector's ROC-AUC (x) against the Lipschitz one's (y), one
    panel per data set; points above the diagonal favour the Lipschitz detector."""
    datasets = _present(records, "dataset")
    fig, axes = _subplots(1, len(datasets), width=4.6 * len(datasets), height=4.2, squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for algorithm in _present([r for r in records if r["dataset"] == dataset], "algorithm"):
            pairs = {}
            for record in records:
                if record["dataset"] == dataset and record["algorithm"] == algorithm:
                    kind = "lip" if record.get("lipschitz") else "std"
                    pairs.setdefault(record["normal_class"], {}).setdefault(kind, []).append(100 * record["auc"])
            both = [(np.mean(v["std"]), np.mean(v["lip"])) for v in pairs.values() if "std" in v and "lip" in v]
            if both:
                xs, ys = zip(*both)
                ax.scatter(xs, ys, color=ALGORITHM_COLORS.get(algorithm), label=ALGORITHM_NAMES.get(algorithm, algorithm))
        low = min([ax.get_xlim()[0], ax.get_ylim()[0]])
        ax.plot([low, 100], [low, 100], color="0.6")
        ax.set_xlabel("standard ROC-AUC (%)")
        ax.set_ylabel("Lipschitz ROC-AUC (%)")
        ax.set_title(DATASET_NAMES.get(dataset, dataset))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def overlay_reconstructions(images, reconstructions, title=None, ncols=3):
    """Each input in white with its reconstruction overlaid at half opacity in colour (thesis fig. 5.7)."""
    images, reconstructions = np.asarray(images), np.asarray(reconstructions)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = _subplots(nrows, ncols, width=1.6 * ncols, height=1.6 * nrows + 0.4, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, image, reconstruction in zip(axes.ravel(), images, reconstructions):
        ax.imshow(_displayable(image, (0, 1)), cmap="gray", vmin=0, vmax=1)
        ax.imshow(_displayable(reconstruction, (0, 1)), cmap="magma", vmin=0, vmax=1, alpha=0.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def estimator_bars(results: dict, constants: dict | None = None, title=None):
    """Grouped bars (log scale): each model's Lipschitz estimates, with its guaranteed K as a line.

    ``results`` maps a model's label to ``{estimator name: value}`` (None values are skipped);
    ``constants`` maps labels of Lipschitz models to their K.
    """
    labels = list(results)
    names = list(dict.fromkeys(name for values in results.values() for name in values))
    fig, ax = _subplots(width=max(6.0, 1.6 * len(labels)), height=3.8)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [results[label].get(name) for label in labels]
        xs = [j + (i - (len(names) - 1) / 2) * width for j, v in enumerate(values) if v]
        ax.bar(xs, [v for v in values if v], width, label=name, color=f"C{i}")
    for j, label in enumerate(labels):
        if constants and label in constants:
            ax.hlines(constants[label], j - 0.45, j + 0.45, colors="black", linestyles="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("Lipschitz constant (estimate)")
    ax.legend(fontsize="small", ncol=2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def training_traces(series, panels, log_panels=(), xlabel="epochs trained"):
    """Quantities measured during training, one panel per quantity, one line per series.

    ``series`` maps a legend label to a dict with "epoch" (the x values), one list per quantity of
    ``panels`` and optionally "color" and "linestyle"; ``panels`` maps a quantity to its axis label;
    the quantities in ``log_panels`` get a logarithmic axis.
    """
    fig, axes = _subplots(1, len(panels), width=3.6 * len(panels), height=3.4, squeeze=False)
    for ax, (quantity, label) in zip(axes[0], panels.items()):
        for name, values in series.items():
            ax.plot(values["epoch"], values[quantity], label=name, color=values.get("color"),
                    linestyle=values.get("linestyle", "-"), lw=1.4)
        if quantity in log_panels:
            ax.set_yscale("log")
        ax.set(xlabel=xlabel, ylabel=label)
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def search_variants(classes, aucs: dict, references=None, reference_label="the thesis (mean ± std over seeds)"):
    """Per normal class (x), the ROC-AUC of each way of running one search (one marker each, side by
    side), with a reference value and its spread as a black bar where given.

    ``aucs`` maps a variant's label to one ROC-AUC (%) per class (None where not measured);
    ``references`` is one ``(mean, std)`` or None per class.
    """
    fig, ax = _subplots(width=max(5.5, 1.5 * len(classes) + 3.0), height=3.8)
    _variant_markers(ax, classes, aucs, references, reference_label)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def variant_panels(panels: dict, reference_label="the thesis (mean ± std over seeds)"):
    """:func:`search_variants` once per panel, side by side on one ROC-AUC axis: ``panels`` maps a
    panel's title to its ``(classes, aucs, references)``. One legend serves all panels, so the
    variants must carry the same labels in each."""
    widths = [max(2.0, 0.6 * len(classes) + 0.8) for classes, _, _ in panels.values()]
    fig, axes = _subplots(1, len(panels), width=sum(widths) + 2.5, height=3.8, sharey=True, squeeze=False,
                          gridspec_kw={"width_ratios": widths})
    for ax, (title, (classes, aucs, references)) in zip(axes[0], panels.items()):
        _variant_markers(ax, classes, aucs, references, reference_label)
        ax.set_title(title)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    handles = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    axes[0][-1].legend(handles.values(), handles.keys(), fontsize="small", loc="center left",
                       bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def _variant_markers(ax, classes, aucs, references, reference_label):
    positions = np.arange(len(classes), dtype=float)
    width = 0.7 / max(1, len(aucs))
    markers = "osD^vP"
    for i, (label, values) in enumerate(aucs.items()):
        shift = (i - (len(aucs) - 1) / 2) * width
        points = [(x + shift, v) for x, v in zip(positions, values) if v is not None]
        if points:
            xs, ys = zip(*points)
            ax.scatter(xs, ys, marker=markers[i % len(markers)], color=f"C{i}", label=label, zorder=3)
    if references is not None:
        shown = False
        for x, reference in zip(positions, references):
            if reference is not None:
                mean, std = reference
                ax.errorbar(x, mean, yerr=std, xerr=0.4, color="black", capsize=0, lw=1.2,
                            label=None if shown else reference_label, zorder=2)
                shown = True
    ax.set_xticks(positions, [str(c) for c in classes])
    ax.set_xlabel("normal class")
    ax.set_ylabel("ROC-AUC (%)")

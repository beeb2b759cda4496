# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# (chap-one-class-hkr)=
# # One-class learning with a Lipschitz classifier
#
# The thesis puts a Lipschitz constraint on detectors that were designed without one: an
# autoencoder, Deep SVDD, a GAN. Béthune and Serrurier (NeurIPS 2022 ML Safety Workshop,
# "Certifiable metric one class learning with adversarially trained Lipschitz classifier"; the
# method is developed further in {cite:t}`bethune2023`) start from the other end and build a
# detector for which the constraint is the whole point. Their detector is a **binary classifier**
# between the normal data and negative examples that the classifier generates itself. Because the
# classifier is 1-Lipschitz and trained with the hinge Kantorovich-Rubinstein loss of
# {cite:t}`serrurier2021`, its output approximates the *signed distance* to the boundary of the
# normal data, and every score comes with a robustness certificate for free.
#
# This chapter explains the three ingredients (the signed distance, the loss, the generation of
# negatives), draws what the classifier learns on two-dimensional toy data next to a one-class
# SVM and an Isolation Forest, and then reads the paper's MNIST experiment: per-class ROC-AUC
# beside the paper's table, the images the classifier generates, and ROC-AUC certified against
# every perturbation of a given L2 size.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip and the book's tools first
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[book] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"
seed = 0
run_missing = None   # MNIST records: None trains missing ones under smoke only, True always, False never

# %%
import time

import adlip  # noqa: F401  (before TensorFlow: selects Keras 2)
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from adlip.book import markdown_table
from adlip.detectors.hkr import OneClassHKR
from adlip.reference.hkr import PAPER_MNIST_SETTINGS, PAPER_MNIST_TABLE, PAPER_TOY_SETTINGS
from adlip.studies.hkr import MNIST_BUDGETS, SYNTHESIS, mnist_records
from adlip.profiles import get_profile

budget = get_profile(profile)
tf.get_logger().setLevel("ERROR")  # each fit traces its own training step; that is expected here
# The toy experiment's budget per profile: points per data set, epochs (4 steps each at batch 256
# for 1024 points), the width of the 2-512-512-512-512-1 network, the contour grid's resolution.
# "full" is the paper's (10 000 gradient steps, width 512, a 300 x 300 grid).
# The MNIST classes: None takes the profile's (smoke keeps one, to stay within seconds).
CHAPTER_BUDGET = {
    "smoke": dict(toy_points=256, toy_epochs=3, toy_width=16, grid=60, mnist_classes=(0,)),
    "quick": dict(toy_points=1024, toy_epochs=150, toy_width=64, grid=200, mnist_classes=None),
    "full": dict(toy_points=1024, toy_epochs=2500, toy_width=512, grid=300, mnist_classes=None),
}[budget.name]
CHAPTER_BUDGET

# %% [markdown]
# ## The signed distance to the normal data
#
# Let the normal data be drawn from a distribution $\mathbb{P}_X$ whose support $\mathcal{X}$ is a
# compact subset of $\mathbb{R}^d$, and let $\partial\mathcal{X}$ be its boundary. The **signed
# distance function** is the distance to that boundary, counted positive inside and negative
# outside:
#
# $$
# \mathcal{S}(x) = \begin{cases} \phantom{-}\operatorname{d}(x, \partial\mathcal{X}) & x \in \mathcal{X}, \\
#                                -\operatorname{d}(x, \partial\mathcal{X}) & x \notin \mathcal{X}, \end{cases}
# \qquad \operatorname{d}(x, \partial\mathcal{X}) = \inf_{z \in \partial\mathcal{X}} \|x - z\|_2 .
# $$ (eq-hkr-sdf)
#
# $\mathcal{S}$ is an ideal normality score: $-\mathcal{S}(x)$ says how far outside the normal
# data a point lies, in the units of the input. It also has a property that singles out the
# networks of this book: almost everywhere its gradient has norm exactly 1, so $\mathcal{S}$ is
# 1-Lipschitz with respect to the L2 norm. It is therefore natural to look for $\mathcal{S}$
# among 1-Lipschitz networks, and the best such networks are *gradient norm preserving*: orthogonal
# weight matrices (deel-lip's `SpectralDense` and `SpectralConv2D`, orthogonalised by Björck's
# algorithm {cite:p}`bjorck1971`) and sorting activations such as GroupSort
# {cite:p}`anil2019`, which keep the gradient's norm where ReLU would shrink it.
#
# ## One class as two: the hinge Kantorovich-Rubinstein loss
#
# How can a classifier learn a distance from one class only? By inventing the second class. Let
# $\mathbb{Q}$ be a distribution of negatives that fills the rest of a bounded domain $B$ (for
# images, the cube of all possible pixel values), and leave a gap of width $2\epsilon$ around
# $\mathcal{X}$. Train a 1-Lipschitz $f$ to tell $\mathbb{P}_X$ (label $y = +1$) from $\mathbb{Q}$
# ($y = -1$) with the **hinge Kantorovich-Rubinstein (HKR) loss** of {cite:t}`serrurier2021`,
#
# $$
# \mathcal{L}^{\mathrm{hkr}}_{m,\lambda}\big(y f(x)\big) = \lambda \max\{0,\, m - y f(x)\} - y f(x),
# \qquad
# \mathcal{E}(f) = \mathbb{E}_{x \sim \mathbb{P}_X}\!\left[\mathcal{L}^{\mathrm{hkr}}_{m,\lambda}(f(x))\right]
#   + \mathbb{E}_{z \sim \mathbb{Q}}\!\left[\mathcal{L}^{\mathrm{hkr}}_{m,\lambda}(-f(z))\right].
# $$ (eq-hkr-loss)
#
# The two terms pull in different directions. The hinge term, weighted by $\lambda$, asks for a
# margin: $f \geq m$ on normal data and $f \leq -m$ on negatives. The linear term,
# $-(\mathbb{E}_{\mathbb{P}_X} f - \mathbb{E}_{\mathbb{Q}} f)$, asks $f$ to separate the two
# distributions as widely as it can. Over 1-Lipschitz functions, the largest separation is the
# Wasserstein-1 distance between them, by the Kantorovich-Rubinstein duality
#
# $$
# W_1(\mathbb{P}_X, \mathbb{Q}) = \sup_{\|f\|_{\mathrm{Lip}} \leq 1}
#   \mathbb{E}_{x \sim \mathbb{P}_X}[f(x)] - \mathbb{E}_{z \sim \mathbb{Q}}[f(z)] ,
# $$ (eq-hkr-kr-duality)
#
# the same duality that the Wasserstein GAN's critic estimates. The paper's Theorem 1 puts the two
# together: if the negatives fill the domain up to the gap and $m = \epsilon$, the hinge term can be
# made zero, and the best the linear term can then do under the Lipschitz constraint is to let $f$
# rise with slope 1 away from the boundary on both sides. The minimiser is $f^* = \mathcal{S} + m$
# on the data and on the negatives: the signed distance, shifted by the margin. The anomaly score
# of this chapter is $s(x) = -f(x)$.
#
# adlip writes the loss as in {eq}`eq-hkr-loss` (`adlip.detectors.hkr.hkr_loss`). deel-lip's
# `HKR` loss is the same function with other conventions: its margin is split across the two sides
# and its hinge is averaged over both sets at once, so `HKR(alpha=2 * lambda, min_margin=2 * m)` on
# equal-sized batches equals {eq}`eq-hkr-loss`; the tests check this.
#
# ## Negatives made by the classifier: Algorithm 1
#
# The theorem needs negatives that fill the whole domain *except* a thin shell around the data.
# Uniform noise over $B$ fills the domain, and in high dimension it is almost surely far from the
# data, but it is also far from the boundary, where the classifier needs negatives most. The paper
# moves the noise towards the classifier's own level set $f = -\epsilon$ with a Newton-Raphson
# step. Linearising $f$ around a point $z$ and asking $f(z + \delta) = -\epsilon$ gives the shortest
# displacement $\delta = -(f(z) + \epsilon)\, \nabla f(z) / \|\nabla f(z)\|^2$. Algorithm 1 takes
# $T$ small steps of that kind from uniform noise, with a random rate $\eta \sim \mathcal{U}(0, 1)$
# per sample, and projects back onto the domain after each step:
#
# $$
# z_0 \sim \mathcal{U}(B), \qquad
# z_{t+1} = \Pi_B\!\left(z_t - \frac{\eta}{T}\, \big(f(z_t) + \epsilon\big)\,
#   \frac{\nabla_x f(z_t)}{\|\nabla_x f(z_t)\|_2^2}\right), \quad t = 0, \dots, T - 1 .
# $$ (eq-hkr-newton)
#
# The random rate spreads the negatives along the whole path from the noise to the level set
# instead of piling them up on it. A 1-Lipschitz $f$ keeps the steps honest: its gradient has norm
# at most 1, so a step never jumps across the boundary by more than the mismatch in $f$.
#
# Training (Algorithm 2) alternates: with the weights frozen, generate a batch of negatives by
# {eq}`eq-hkr-newton`; then take one optimiser step on {eq}`eq-hkr-loss` with a batch of normal
# data and these negatives. Each batch of negatives comes from the newest classifier, so the
# negatives follow the boundary as it forms. The first epochs use raw uniform noise, before the
# classifier's level sets mean anything.
#
# ## Two-dimensional toy data
#
# The paper's Figure 1 draws $f$ on scikit-learn's toy data sets. We fit `OneClassHKR` with
# `dataset="tabular"` on three of them (standardised, domain $B = [-5, 5]^2$), with the paper's toy
# settings (margin 0.05, $\lambda = 100$, $T = 4$, batch 256; a narrower network and fewer steps at
# this profile, see the caption), and fit scikit-learn's one-class SVM and Isolation Forest with the
# paper's baseline settings for comparison.

# %%
def toy_sets(n, random_state):
    sets = {
        "two moons": make_moons(n, noise=0.05, random_state=random_state)[0],
        "two circles": make_circles(n, noise=0.05, factor=0.5, random_state=random_state)[0],
        "two blobs": make_blobs(n, centers=[[-2, -2], [2, 2]], cluster_std=0.5, random_state=random_state)[0],
    }
    return {name: StandardScaler().fit_transform(x).astype(np.float32) for name, x in sets.items()}


toy = toy_sets(CHAPTER_BUDGET["toy_points"], seed)
TOY_SETTINGS = dict(dataset="tabular", width=CHAPTER_BUDGET["toy_width"], margin=PAPER_TOY_SETTINGS["margin"],
                    hkr_lambda=PAPER_TOY_SETTINGS["hkr_lambda"], newton_steps=PAPER_TOY_SETTINGS["newton_steps"],
                    schedule=dict(phases=[[CHAPTER_BUDGET["toy_epochs"], 1e-3]], batch_size=256), seed=seed, verbose=0)
toy_models, toy_seconds = {}, {}
for name, x in toy.items():
    started = time.perf_counter()
    toy_models[name] = {
        "one-class HKR": OneClassHKR(**TOY_SETTINGS).fit(x),
        "one-class SVM": OneClassSVM(kernel="rbf", nu=0.05, gamma=0.5).fit(x),
        "Isolation Forest": IsolationForest(contamination=0.05, random_state=seed).fit(x),
    }
    toy_seconds[name] = time.perf_counter() - started
{name: f"{seconds:.1f} s" for name, seconds in toy_seconds.items()}


# %%
def normality(model, points):
    """Higher inside the normal data: f for the HKR classifier, scikit-learn's decision_function otherwise."""
    if isinstance(model, OneClassHKR):
        return model.classifier_output(points)
    return model.decision_function(points)


def plot_toy(extent=3.0):
    side = np.linspace(-extent, extent, CHAPTER_BUDGET["grid"])
    xs, ys = np.meshgrid(side, side)
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    methods = list(next(iter(toy_models.values())))
    figure, axes = plt.subplots(len(methods), len(toy), figsize=(3.3 * len(toy), 3.0 * len(methods)),
                                sharex=True, sharey=True)
    for column, (name, x) in enumerate(toy.items()):
        for row, method in enumerate(methods):
            axis = axes[row, column]
            values = normality(toy_models[name][method], grid).reshape(xs.shape)
            filled = axis.contourf(xs, ys, values, levels=20, cmap="RdBu")
            axis.contour(xs, ys, values, levels=[0.0], colors="black", linewidths=1.2)
            axis.scatter(*x[::4].T, s=1, c="black", alpha=0.5)
            figure.colorbar(filled, ax=axis, shrink=0.85)
            axis.set_title(f"{method}: {name}" if row == 0 else method, fontsize=9)
    figure.tight_layout()
    return figure


plot_toy();

# %% [markdown]
# *Figure: top row, the classifier $f$ of `OneClassHKR` (blue positive, red negative; black line
# $f = 0$) on three standardised toy data sets (every fourth training point in black). Middle and
# bottom rows: the decision functions of scikit-learn's one-class SVM (RBF kernel, $\nu = 0.05$,
# $\gamma = 1/2$) and Isolation Forest (contamination 0.05), the paper's baseline settings. Budget of
# the HKR classifier: `toy_epochs` epochs of 4 gradient steps (batch 256), Adam at 1e-3, a
# 2-`toy_width`-`toy_width`-`toy_width`-`toy_width`-1 GroupSort2 network, $T = 4$, margin 0.05,
# $\lambda = 100$, one seed (quick: 600 steps at width 64; the paper: 10 000 RMSprop steps at
# width 512).*
#
# How distance-like is $f$? A signed distance has gradients of norm 1 everywhere. The table gives
# the median norm of the gradient of each method's function over the grid points more than one
# unit away from every training point (finite differences on the grid).

# %%
def far_gradient_norms(extent=3.0):
    side = np.linspace(-extent, extent, CHAPTER_BUDGET["grid"])
    xs, ys = np.meshgrid(side, side)
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    rows = []
    for name, x in toy.items():
        nearest = np.min(np.linalg.norm(grid[:, None, :] - x[None, ::4, :], axis=2), axis=1)
        far = nearest.reshape(xs.shape) > 1.0
        row = [name]
        for model in toy_models[name].values():
            values = normality(model, grid).reshape(xs.shape)
            d_rows, d_cols = np.gradient(values, side[1] - side[0])
            row.append(f"{np.median(np.hypot(d_rows, d_cols)[far]):.2f}")
        rows.append(row)
    return markdown_table(["data set", *next(iter(toy_models.values()))], rows)


far_gradient_norms()

# %% [markdown]
# *Table: median gradient norm of each method's function at grid points of the figure above that
# lie more than 1 from every (fourth) training point. A signed distance has 1; the one-class SVM's
# and the Isolation Forest's scores are not in distance units, so only whether they vanish is
# comparable.*
#
# Away from the data the HKR classifier keeps a slope of order one (a fully trained one has
# slope 1): its level sets follow the data's outline and $f$ keeps falling with the distance, as
# the theorem promises. The Isolation Forest's score is piecewise constant on axis-aligned boxes,
# with almost no slope at all; the one-class SVM's decision function falls steeply near the data
# but in no particular unit, and farther out than the figure shows it flattens to a constant, as
# every sum of Gaussian kernels does. Holes, such as the inside of the inner circle, are the
# slowest part for the HKR classifier to learn: few uniform negatives land there, and generated
# ones must first find them.
#
# ### What Algorithm 1 produces
#
# `OneClassHKR.generate` runs {eq}`eq-hkr-newton` on the trained classifier. The figure shows,
# for the two moons, uniform noise, the negatives that training sees (random rate, target
# $f = -m$, $T = 4$), and points pushed *into* the data (rate 1, target $f = 2m$, $T = 64$, the
# setting the paper uses to synthesise images).

# %%
moons_model = toy_models["two moons"]["one-class HKR"]
noise = np.random.default_rng(seed).uniform(-5, 5, (400, 2)).astype(np.float32)
walks = {
    "uniform noise $z_0$": noise,
    "negatives: $f = -m$, random $\\eta$, T = 4": moons_model.generate(
        start=noise, level=-moons_model.margin_, steps=4, random_rate=True, seed=seed),
    "synthesis: $f = 2m$, $\\eta = 1$, T = 64": moons_model.generate(start=noise, steps=64),
}
figure, axes = plt.subplots(1, 3, figsize=(10, 3.2), sharex=True, sharey=True)
for axis, (title, points) in zip(axes, walks.items()):
    axis.scatter(*toy["two moons"][::2].T, s=1, c="lightgray")
    axis.scatter(*points.T, s=3, c="tab:red")
    axis.set(title=title, xlim=(-5, 5), ylim=(-5, 5))
    axis.title.set_fontsize(9)
figure.tight_layout()

# %% [markdown]
# *Figure: Algorithm 1 on the two-moons classifier above (gray: training data; red: 400 points).
# The same uniform noise (left) moved towards $f = -m$ with random rates, as in training
# (middle), and towards $f = 2m$ with rate 1 and 64 steps (right).*
#
# ## Certificates
#
# A 1-Lipschitz score cannot be fooled cheaply. For any perturbation $\delta$,
# $|f(x + \delta) - f(x)| \leq \|\delta\|_2$, so an adversary who may move each test input by at most
# $\varepsilon$ in L2 norm can raise a normal input's anomaly score by at most $\varepsilon$ and lower
# an anomaly's by at most $\varepsilon$. Whatever the attack, the ROC-AUC is then at least
#
# $$
# \mathrm{AUC}_\varepsilon = \mathrm{AUC}\Big(\{s(x) + \varepsilon : x \text{ normal}\},\;
#   \{s(x) - \varepsilon : x \text{ anomalous}\}\Big),
# $$ (eq-hkr-certified-auc)
#
# the **certified ROC-AUC** at radius $\varepsilon$ (`adlip.metrics.certified_auroc`). No
# attack needs to be run: the bound follows from the constraint alone. For a $K$-Lipschitz
# score the shifts are $K\varepsilon$: what a certificate measures is the gap between scores
# divided by the constant, so the scale of a score matters as much as its ranking.
#
# ## MNIST
#
# The paper trains one classifier per MNIST digit on images scaled to $[-1, 1]$ (so $B$ is the
# cube $[-1, 1]^{784}$), with margin $m = 0.02 \sqrt{784 \cdot 2} \approx 0.79$, $\lambda = 200$,
# $T = 16$, batch 128 and 1000 epochs of Adam, on the VGG-like convolutional network of its Table 2
# (four 3x3 convolutions with 128 channels and FullSort, L2-norm pooling, three dense layers). That
# network is out of reach on a CPU: one training step, with its 16 gradient evaluations for the
# negatives, took a minute or more on this machine. At the `quick` profile adlip therefore trains a
# 1-Lipschitz *dense* network (784-128-128-128-128-1) for 12 epochs with the paper's margin,
# $\lambda$, $T$ and batch size, about one and a half minutes of CPU per digit, once with the
# paper's FullSort activation and once with GroupSort2. The records are written by
# `python -m adlip.studies.hkr --profile quick` (and `--activation groupsort2`); this chapter
# reads them.

# %%
PAPER_MNIST_SETTINGS, MNIST_BUDGETS[budget.name]

# %%
ACTIVATIONS = {"FullSort": None, "GroupSort2": "groupsort2"}   # None: the budget's own (FullSort)
runs = {name: sorted(mnist_records(profile, seed=seed, classes=CHAPTER_BUDGET["mnist_classes"], run=run_missing,
                                   activation=activation), key=lambda r: r["normal_class"])
        for name, activation in ACTIVATIONS.items()}
records = runs["FullSort"]
classes = [r["normal_class"] for r in records]


def paper_mean(key):
    return np.mean([PAPER_MNIST_TABLE[key][k] for k in classes])


def mnist_table():
    rows = []
    for k, *per_activation in zip(classes, *runs.values()):
        rows.append([k, *[f"{100 * r['auc']:.2f}" for r in per_activation],
                     f"{PAPER_MNIST_TABLE['hkr_auc'][k]:.2f}", f"{PAPER_MNIST_TABLE['deepsvdd_auc'][k]:.1f}",
                     f"{PAPER_MNIST_TABLE['ocsvm_auc'][k]:.1f}", f"{PAPER_MNIST_TABLE['iforest_auc'][k]:.1f}"])
    rows.append(["mean", *[f"{100 * np.mean([r['auc'] for r in run]):.2f}" for run in runs.values()],
                 f"{paper_mean('hkr_auc'):.2f}", f"{paper_mean('deepsvdd_auc'):.1f}",
                 f"{paper_mean('ocsvm_auc'):.1f}", f"{paper_mean('iforest_auc'):.1f}"])
    return markdown_table(["class", *[f"ours, {name}" for name in runs], "paper: HKR", "paper: Deep SVDD",
                           "paper: OC-SVM", "paper: IF"], rows)


mnist_table()

# %% [markdown]
# *Table: MNIST one-vs-rest test ROC-AUC (%) of the anomaly score $-f$: ours, with each activation,
# beside the paper's Table 1 (reference data typed in from the paper, not produced here: the paper's
# HKR classifier after 1000 epochs on its convolutional network, and the Deep SVDD, OC-SVM and
# Isolation Forest numbers it quotes from {cite:t}`ruff2018`). Our budget: `MNIST_BUDGETS[profile]`
# above with the profile's training and test sets (quick: the whole normal class, about 6000
# images, and the whole test set of 10 000; a 1-Lipschitz dense 784-128-128-128-128-1 network, 12
# epochs of which the first uses uniform noise as negatives, $T = 16$, $m = 0.79$, $\lambda = 200$,
# batch 128, Adam at 1e-3, one seed). The paper also reports an accuracy at the best threshold; it
# does not say on which test set (on the whole one-vs-rest test set a constant "anomalous" already
# scores 90%), so it is left out.*
#
# The Lipschitz constant is guaranteed to be 1; the table below measures it from below on the test
# images with the two estimators used throughout the book ({ref}`chap-lipschitz`):
# `adlip.metrics.lipschitz_lower_bound` (random pairs) and `lipschitz_gradient_ascent`, at the
# profile's budgets, and gives the largest value over the classes.

# %%
markdown_table(["activation", "random pairs (max over classes)", "gradient ascent (max over classes)",
                "training seconds (mean)"],
               [[name, f"{max(r['lip_lower_bound'] for r in run):.3f}",
                 f"{max(r['lip_gradient_ascent'] for r in run):.4f}",
                 f"{np.mean([r['train_seconds'] for r in run]):.0f}"] for name, run in runs.items()])

# %% [markdown]
# *Table: empirical lower bounds on the Lipschitz constant of $f$ (guaranteed: 1) and the mean
# training time per class (wall-clock, on a shared 2-core CPU); budget as in the previous table.*
#
# The paper's Figure 5 shows histograms of $f$ on the normal class's training images, its test
# images and the other digits. Here they are for the first class and for the class with the lowest
# ROC-AUC, with FullSort.

# %%
def plot_histograms(chosen):
    figure, axes = plt.subplots(1, len(chosen), figsize=(5 * len(chosen), 3.0), squeeze=False)
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


weakest = min(records, key=lambda r: r["auc"])
plot_histograms([records[0]] + ([weakest] if weakest is not records[0] else []));

# %% [markdown]
# *Figure: histograms of $f$ (normalised per group) on the normal class's training images, its test
# images and the other digits' test images, for the first class and the class with the lowest
# ROC-AUC in the table (FullSort; budget as in the table).*

# %%
def share_above(record, group, threshold=0.0):
    """The fraction of a histogram group whose bin lies above ``threshold`` (bins are narrow)."""
    histogram = record["f_histogram"]
    centres = np.convolve(histogram["edges"], [0.5, 0.5], mode="valid")
    counts = np.asarray(histogram[group], dtype=float)
    return counts[centres > threshold].sum() / counts.sum()


def last_epoch_mean(run, key):
    return np.mean([r["history"][key][-1] for r in run])


markdown_table(["activation", "mean f on the last epoch's negatives", "Wasserstein estimate, last epoch",
                "other digits with f > 0"],
               [[name, f"{last_epoch_mean(run, 'f_negative'):.2f}", f"{last_epoch_mean(run, 'wasserstein'):.2f}",
                 f"{100 * np.mean([share_above(r, 'test anomalous') for r in run]):.0f}%"]
                for name, run in runs.items()])

# %% [markdown]
# *Table: averaged over the classes, the mean of $f$ on the generated negatives of the last epoch,
# the Wasserstein estimate $\mathbb{E}_{\mathbb{P}_X} f - \mathbb{E}_{\mathbb{Q}} f$ of the last epoch
# (how far apart $f$ puts the normal data and the negatives), and the share of the other digits'
# test images that the classifier puts inside ($f > 0$).*
#
# At this budget the classifier has learnt to tell digits from what Algorithm 1 makes of noise,
# and to rank the digits, but not yet the signed distance: the negatives sit about a margin below
# zero, where the hinge stops pushing, and the other digits still lie on the positive side (the
# histograms' horizontal axes, and the table). Theorem 1 describes the end of training, when the
# negatives have reached every region the normal class does not cover, the other digits included.
#
# ### Images from the classifier
#
# The backward pass of a convolutional classifier is a transposed convolution, the building block
# of a GAN's generator: following $\nabla f$ from noise generates images, with no generator
# network. The paper's Figure 2 runs Algorithm 1 with $T = 64$ and $\eta = 1$ towards $f = 2m$,
# inside the support. Each record holds ten such images per class (from the seeded noise of
# `adlip.studies.hkr.SYNTHESIS`).

# %%
figure, axes = plt.subplots(len(records), 10, figsize=(10, 1.05 * len(records)), squeeze=False)
for row, record in zip(axes, records):
    for axis, image in zip(row, record["generated"]):
        axis.imshow(np.asarray(image), cmap="gray", vmin=0, vmax=255)
        axis.set_xticks([])
        axis.set_yticks([])
    row[0].set_ylabel(str(record["normal_class"]), rotation=0, labelpad=10)
figure.tight_layout()

# %% [markdown]
# *Figure: one row per normal class, ten images made by Algorithm 1 ($T = 64$, $\eta = 1$, target
# $f = 2m$) from uniform noise with the class's classifier (FullSort; budget as in the table; not
# cherry-picked).*
#
# How far did the walks go? The starting noise is reproducible from the seed, so we can compare.

# %%
start = tf.random.Generator.from_seed(SYNTHESIS["seed"]).uniform(
    (SYNTHESIS["n_samples"], 28, 28, 1), -1.0, 1.0).numpy()[..., 0]
moved = [np.linalg.norm((np.asarray(r["generated"]) / 127.5 - 1 - start).reshape(len(start), -1), axis=1)
         for r in records]
print(f"L2 norm of the starting noise: {np.linalg.norm(start.reshape(len(start), -1), axis=1).mean():.1f}; "
      f"distance the walks moved it: median {np.median(moved):.1f}, largest {np.max(moved):.1f}")

# %% [markdown]
# At this budget the images stay noise. Each step of {eq}`eq-hkr-newton` with $\eta = 1$ closes a
# fraction $1/T$ of the remaining gap to the target (about 63% over the $T$ steps when $f$ is
# linear), the clipping to $[-1, 1]$ blocks every pixel that is already at a bound, and the gap is
# small: the classifier rates noise only about a margin below zero, as it does its negatives. So
# the walks move the noise very little (the line above) compared with the noise's own norm. The
# paper's classifiers, trained almost a hundred times longer on a convolutional network, rate noise
# far lower and pull it a long way, into recognisable digits: that is the experiment to run with a
# GPU (profile `full`).
#
# ### Certified ROC-AUC
#
# Each record holds {eq}`eq-hkr-certified-auc` at a few L2 radii. For scale, in $[-1, 1]$ pixel
# units: turning one black pixel white is a perturbation of L2 norm 2, and the paper's margin
# $m = 0.79$ ("2% of the maximum norm of an image") is the norm of changing one pixel by 0.79, or
# of changing 64 pixels by 0.1 each.

# %%
figure, axis = plt.subplots(figsize=(6, 3.6))
mean_curves = {}
for (name, run), color in zip(runs.items(), ("tab:blue", "tab:orange")):
    for record in run:
        radii, values = np.asarray(record["certified_auroc"]).T
        axis.plot(radii, 100 * values, color=color, alpha=0.3, linewidth=1)
    mean_curves[name] = 100 * np.mean([np.asarray(r["certified_auroc"])[:, 1] for r in run], axis=0)
    axis.plot(radii, mean_curves[name], color=color, linewidth=2.5, label=f"{name}: mean over {len(run)} classes")
axis.set(xlabel=r"L2 radius $\varepsilon$ ([-1, 1] pixel units)", ylabel="certified ROC-AUC (%)")
axis.legend()
figure.tight_layout()

# %% [markdown]
# *Figure: certified ROC-AUC {eq}`eq-hkr-certified-auc` of the MNIST classifiers against the L2
# radius of the perturbation (thin lines: one per normal class; thick: their mean), for each
# activation. Budget as in the table.*

# %%
markdown_table(["activation"] + [f"radius {eps:g}" for eps in radii],
               [[name] + [f"{v:.1f}" for v in curve] for name, curve in mean_curves.items()])

# %% [markdown]
# *Table: the mean curves of the figure above (certified ROC-AUC in %).*
#
# The certificate costs nothing to compute, but it measures something the plain ROC-AUC does not:
# the *gaps* between scores, in input units. A ranking that puts anomalies barely below normal
# data is perfect at radius 0 and worthless at any radius larger than the gaps. Compare the two
# activations in the tables: the one with the better ranking (the higher mean ROC-AUC in the first
# table) need not be the one whose certificate survives larger perturbations. The spread of the
# $f$ values decides that, and the Wasserstein column of the table above measures it: at this
# budget GroupSort2 spreads $f$ much wider than FullSort, and its gradient-ascent bound shows it
# reaching gradients of norm 1 where FullSort's stay below. The paper's classifiers, trained to
# the signed distance, put anomalies whole distance units away and certify correspondingly larger
# radii.
#
# ## Summary
#
# * The signed distance {eq}`eq-hkr-sdf` to the normal data is a 1-Lipschitz normality score; a
#   1-Lipschitz classifier trained with the HKR loss {eq}`eq-hkr-loss` against negatives that fill
#   the rest of the domain approximates it (shifted by the margin).
# * The negatives are generated by the classifier itself: Newton-Raphson steps
#   {eq}`eq-hkr-newton` from uniform noise towards its level set $f = -m$, alternating with
#   optimiser steps.
# * On 2-D toy data, $f$ grows like a distance away from the data, unlike the one-class SVM's and
#   the Isolation Forest's scores. On MNIST the tables give our ROC-AUC at this profile's budget
#   beside the paper's; the gap is the budget (a dense network, 12 epochs instead of 1000 on a
#   convolutional one), and at that budget $f$ ranks digits well before it measures distances.
# * Because the score is 1-Lipschitz (the measured bounds stay below 1), the ROC-AUC is certified
#   against every L2 perturbation of size $\varepsilon$ by shifting scores by $\varepsilon$
#   {eq}`eq-hkr-certified-auc`; how far the certificate reaches depends on the scale of the score,
#   not only on its ranking.
#
# ## Exercises
#
# 1. Train the two-circles classifier with `warmup_epochs` as large as the schedule, so that it
#    only ever sees uniform noise as negatives. How does the hole in the middle look? Why do
#    generated negatives matter more there than elsewhere?
# 2. Replace `OneClassHKR`'s network by an unconstrained one (the paper's "conventional network"
#    with binary cross-entropy) and measure its Lipschitz lower bound after training. What happens
#    to the certificate {eq}`eq-hkr-certified-auc`?
# 3. Prove the certificate: if $s$ is $K$-Lipschitz and every input moves by at most $\varepsilon$,
#    show that the ROC-AUC cannot drop below the AUC of normal scores shifted up by $K\varepsilon$
#    against anomalous scores shifted down by $K\varepsilon$.
# 4. Run Algorithm 1 from test images of *other* digits instead of noise (`generate(start=...)`,
#    target the median of $f$ on the training images). What does the classifier change in them?

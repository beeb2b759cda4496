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
# (chap-anomaly-detection)=
# # Anomaly Detection
#
# An *anomaly* (or outlier) is an observation that does not fit the behaviour of the bulk of the
# data. "Normal" here means "ordinary", not "Gaussian". Finding anomalies serves two different
# purposes: cleaning a data set before it is analysed, and, more often today, finding the
# anomalies *because they matter*: a fraudulent transaction, an intrusion, a tumour, a failing
# sensor {cite:p}`chandola2009`.
#
# The task is hard for reasons that have little to do with any particular algorithm. The data may
# not cover all normal behaviour, so a rare but normal pattern looks anomalous. The boundary
# between normal and anomalous is often blurry, and it may drift over time. Anomalies themselves
# are diverse; a detector cannot expect to have seen every kind. And some anomalies are made by
# an adversary who tries to make them look normal, which is where robustness, the theme of this
# book, enters ({ref}`chap-robustness`).

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training
normal_class = 0  # the class trained on as normal; every other class is an anomaly

# %%
import numpy as np
from sklearn.neighbors import NearestNeighbors

from adlip import plots
from adlip.tables import markdown_table
from adlip.data import CLASS_NAMES, one_vs_rest
from adlip.metrics import roc_auc
from adlip.profiles import get_profile

budget = get_profile(profile)
rng = np.random.default_rng(seed)

# %% [markdown]
# ## Three kinds of anomalies
#
# It helps to distinguish three kinds of anomalies {cite:p}`chandola2009`:
#
# * a **point anomaly** is a single observation far from all others;
# * a **contextual anomaly** is a value that is ordinary in general but not in its context, for
#   example a summer temperature measured in winter;
# * a **collective anomaly** is a group of observations that is anomalous as a group, although
#   each member has close neighbours: the other members of the group.
#
# The code below draws a small example of each: two normal clusters with two isolated points and
# a small dense clump in two dimensions, and a periodic signal in which one value has the right
# size but comes at the wrong time.

# %%
normal_points = np.concatenate([rng.normal([-2.0, 0.0], 0.6, size=(200, 2)),
                                rng.normal([2.5, 1.5], 0.5, size=(150, 2))])
point_anomalies = np.array([[0.3, 3.4], [-4.6, -2.6]])
collective_anomaly = rng.normal([3.4, -2.6], 0.12, size=(12, 2))
points = np.concatenate([normal_points, point_anomalies, collective_anomaly])
kinds = np.array(["normal"] * len(normal_points) + ["point anomaly"] * len(point_anomalies)
                 + ["collective anomaly"] * len(collective_anomaly))

t = np.linspace(0, 6 * np.pi, 300)
series = np.sin(t) + 0.05 * rng.standard_normal(t.shape)
contextual_index = int(np.argmin(np.abs(t - 3.5 * np.pi)))  # a trough of the sine
series[contextual_index] = 0.95                             # a value only seen at the peaks

# %% mystnb={"figure": {"name": "fig-anomaly-types", "caption": "Left: two normal clusters, two point anomalies and a collective anomaly (a small dense clump). Right: a contextual anomaly, a value that is common in the series but not at that time."}}
plots.anomaly_types(points, kinds, t, series, contextual_index);

# %% [markdown]
# ## Supervised, semi-supervised and unsupervised detection
#
# Detection methods differ in the labels they need:
#
# | category | training data | main difficulty |
# |---|---|---|
# | supervised | normal and anomalous examples, labelled | labels are costly; anomalies are rare and new kinds keep appearing |
# | semi-supervised | labelled normal examples (rarely, a few labelled anomalies) | the normal data must cover all normal behaviour |
# | unsupervised | unlabelled data, assumed mostly normal | fails when anomalies are not rare |
#
# The three detectors studied in this book learn from a training set that contains (almost) only
# normal data and never see an anomaly during training. The thesis calls them unsupervised; in the
# taxonomy above, training on data known to be normal is also called semi-supervised or one-class
# learning. What matters for the experiments is the protocol below.
#
# A detector can output a label (normal or anomalous) or a **score**. All detectors in this book
# output a score $s(x)$, with the convention that *higher means more anomalous*. Turning a score
# into a label needs a threshold $\tau$, flagging $x$ when $s(x) > \tau$; where to put $\tau$ is a
# decision about the costs of false alarms and misses, not a property of the detector.
#
# A simple unsupervised score is the distance from a point to its $k$-th nearest neighbour in the
# data. Isolated points get large scores. The choice of $k$ matters for collective anomalies: as
# long as $k$ is smaller than the clump, every member of the clump has $k$ close neighbours.

# %%
is_anomaly = kinds != "normal"
grid_x, grid_y = np.meshgrid(np.linspace(-6, 6, 121), np.linspace(-4.5, 5, 96))
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])


def knn_distance(reference, queries, k, exclude_self=False):
    """Distance from each query to its k-th nearest reference point (a classical outlier score)."""
    neighbours = NearestNeighbors(n_neighbors=k + int(exclude_self)).fit(reference)
    distances, _ = neighbours.kneighbors(queries)
    return distances[:, -1]


ks = (3, 20)
grid_scores = {f"k = {k}": knn_distance(points, grid, k).reshape(grid_x.shape) for k in ks}
toy_aucs = {k: roc_auc(is_anomaly, knn_distance(points, points, k, exclude_self=True)) for k in ks}
markdown_table(["k", "ROC-AUC of the k-NN distance on the 2-D example"],
               [[k, f"{auc:.3f}"] for k, auc in toy_aucs.items()])

# %% mystnb={"figure": {"name": "fig-knn-regions", "caption": "The $k$-nearest-neighbour distance over the plane for a small and a large $k$. With a small $k$ the collective anomaly (bottom right) sits in a region of low scores, because its members are each other's neighbours."}}
plots.decision_regions(points, is_anomaly, grid_x, grid_y, grid_scores);

# %% [markdown]
# ## The one-vs-rest protocol
#
# Benchmarks for anomaly detection on images are usually built from classification data sets
# {cite:p}`ruff2018`: one class is declared normal, the detector is trained on that class's
# training images only, and it is tested on the whole test set, where the images of the nine
# other classes are the anomalies. Repeating this for every class gives ten tasks per data set.
# The thesis follows this protocol on MNIST and CIFAR-10, and so does this book.
#
# `adlip.data.one_vs_rest` builds one such task. It returns the normal training images, the test
# images and the test labels (1 = anomaly). By default the images are preprocessed as in the Deep
# SVDD paper: global contrast normalization per image, then min-max scaling to $[0, 1]$ with the
# minimum and maximum over the normal class's training images. The profile decides how many
# images are used.

# %%
split = one_vs_rest("mnist", normal_class, train_size=budget.train_size,
                    test_size=budget.test_size, seed=seed)
print(split)
print(f"normal class: {split.info['class_name']!r}; anomalies make up "
      f"{split.y_test.mean():.0%} of the test set")

# %%
test_classes = split.info["test_classes"]
one_per_class = [np.flatnonzero(test_classes == c)[0] for c in range(10) if c != normal_class]

# %% mystnb={"figure": {"name": "fig-one-vs-rest", "caption": "One MNIST one-vs-rest task. Top: normal training images. Bottom: one anomalous test image from each of the other classes."}}
plots.image_rows({"normal (train)": split.x_train[:9],
                  "anomalous (test)": split.x_test[one_per_class]}, n=9);

# %% [markdown]
# ## Scores, thresholds and the ROC curve
#
# Write $P$ for the anomalous test examples and $N$ for the normal ones. At a threshold $\tau$,
# the **true positive rate** is the fraction of anomalies that are flagged, and the **false
# positive rate** the fraction of normal examples that are flagged:
#
# $$
# \mathrm{TPR}(\tau) = \frac{|\{x \in P : s(x) > \tau\}|}{|P|}, \qquad
# \mathrm{FPR}(\tau) = \frac{|\{x \in N : s(x) > \tau\}|}{|N|}.
# $$ (eq-tpr-fpr)
#
# Sweeping $\tau$ from $+\infty$ down to $-\infty$ traces the **ROC curve** from $(0, 0)$ to
# $(1, 1)$ {cite:p}`fawcett2006`. The area under it, the **ROC-AUC**, summarises the score over all
# thresholds at once, which is why the thesis reports it and never fixes a threshold. It has a
# direct meaning: it is the probability that a randomly drawn anomaly gets a higher score than a
# randomly drawn normal example (ties count half),
#
# $$
# \mathrm{AUC} = \Pr\big(s(X_P) > s(X_N)\big) + \tfrac{1}{2}\Pr\big(s(X_P) = s(X_N)\big).
# $$ (eq-auc-probability)
#
# An AUC of 1 separates the two groups perfectly, 0.5 is what a random score achieves, and values
# below 0.5 mean the score ranks the groups the wrong way round. (The thesis calls the normal
# class "positive"; exchanging the roles of the two groups and negating the score leaves the AUC
# unchanged.)
#
# To see this on the task above, take two simple scores that need no training at all: the
# Euclidean distance from an image to the *mean* normal training image, and the distance to its
# fifth nearest normal training image.

# %%
flat_train = split.x_train.reshape(len(split.x_train), -1)
flat_test = split.x_test.reshape(len(split.x_test), -1)
mean_image = flat_train.mean(axis=0)
toy_scores = {
    "distance to the mean image": np.linalg.norm(flat_test - mean_image, axis=1),
    "distance to the 5th neighbour": knn_distance(flat_train, flat_test, k=5),
}

# %% mystnb={"figure": {"name": "fig-roc", "caption": "ROC curves of two training-free scores on the MNIST task above; the legend gives each area under the curve."}}
plots.roc_curves(split.y_test, toy_scores);

# %% [markdown]
# The probabilistic reading {eq}`eq-auc-probability` can be checked directly by counting, for
# every anomaly, how many normal examples score lower:


# %%
def pairwise_auc(y_true, scores):
    """The fraction of (anomaly, normal) pairs that the score orders correctly, ties counting half."""
    normal = np.sort(scores[y_true == 0])
    anomalous = scores[y_true == 1]
    below = np.searchsorted(normal, anomalous, side="left")
    ties = np.searchsorted(normal, anomalous, side="right") - below
    return (below + 0.5 * ties).sum() / (len(normal) * len(anomalous))


markdown_table(["score", "roc_auc", "fraction of correctly ordered pairs"],
               [[name, f"{roc_auc(split.y_test, s):.4f}", f"{pairwise_auc(split.y_test, s):.4f}"]
                for name, s in toy_scores.items()])

# %% [markdown]
# A threshold turns a score into decisions. A common choice is a quantile of the scores of normal
# *training* data: with the 95 % quantile, about 5 % of normal data is flagged by design. The true
# positive rate is then whatever the score achieves:

# %%
mean_distance_train = np.linalg.norm(flat_train - mean_image, axis=1)
tau = np.quantile(mean_distance_train, 0.95)
flagged = toy_scores["distance to the mean image"] > tau
print(f"threshold tau = {tau:.3f}: TPR = {flagged[split.y_test == 1].mean():.3f}, "
      f"FPR = {flagged[split.y_test == 0].mean():.3f}")

# %% [markdown]
# Neither score knows anything about digits, yet both are far better than chance on this task.
# Keep them in mind as a floor: the deep detectors of the next chapters have to beat such simple
# baselines to be worth their cost.
#
# ## Summary
#
# * Anomalies come as points, in context, or as groups; a detector's assumptions decide which of
#   them it can find.
# * The book's detectors are trained on normal data only and output a score (higher = more
#   anomalous); a threshold is a separate decision.
# * The one-vs-rest protocol makes ten anomaly detection tasks out of a ten-class data set.
# * The ROC-AUC is the probability that an anomaly outscores a normal example; 0.5 is chance.
#
# ## Exercises
#
# 1. In the 2-D example, how large must $k$ be for the $k$-NN distance to flag the collective
#    anomaly? Relate your answer to the size of the clump.
# 2. Rerun the MNIST part with `normal_class = 1` and then `8` (papermill: `-p normal_class 8`).
#    Which class is easier for the distance to the mean image, and why might that be?
# 3. Show that any strictly increasing transformation of a score leaves its ROC-AUC unchanged,
#    using {eq}`eq-auc-probability`. Why is that a useful property when comparing detectors
#    whose scores live on different scales?

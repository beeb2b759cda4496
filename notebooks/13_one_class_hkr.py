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

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training
run_missing = None   # MNIST records: None trains missing ones under smoke only, True always, False never
results_dir = "results"   # where the MNIST records are read from (and written to)

# %%
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2)
import tensorflow as tf
from adlip.glue import glue

from adlip.views import companion_plots, companion_tables
from adlip.reference.hkr import PAPER_MNIST_SETTINGS
from adlip.studies import hkr as hkr_study

tf.get_logger().setLevel("ERROR")  # each fit traces its own training step; that is expected here
budget = hkr_study.HKRBudget.resolve(profile)
glue("hkr_budget", budget.caption(), display=False)
print(budget.caption())

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
toy = hkr_study.toy_sets(budget.toy_points, seed)
toy_models, toy_seconds = hkr_study.fit_toy_models(toy, budget, seed)
{name: f"{seconds:.1f} s" for name, seconds in toy_seconds.items()}

# %%
surfaces = hkr_study.toy_surfaces(toy_models, budget.grid)
companion_plots.toy_contours(toy, surfaces);

# %% [markdown]
# *Figure: top row, the classifier $f$ of `OneClassHKR` (blue positive, red negative; black line
# $f = 0$) on three standardised toy data sets (every fourth training point in black). Middle and
# bottom rows: the decision functions of scikit-learn's one-class SVM (RBF kernel, $\nu = 0.05$,
# $\gamma = 1/2$) and Isolation Forest (contamination 0.05), the paper's baseline settings. Budget of
# the HKR classifier: epochs of 4 gradient steps (batch 256), Adam at 1e-3, a GroupSort2 network,
# $T = 4$, margin 0.05, $\lambda = 100$, one seed, with the points, epochs, width and grid of the
# toy data in: {glue:text}`hkr_budget` (quick: 600 steps at width 64; the paper: 10 000 RMSprop
# steps at width 512).*
#
# How distance-like is $f$? A signed distance has gradients of norm 1 everywhere. The table gives
# the median norm of the gradient of each method's function over the grid points more than one
# unit away from every training point (finite differences on the grid).

# %%
companion_tables.far_gradient_table(hkr_study.far_gradient_norms(toy, surfaces))

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
walks = hkr_study.algorithm1_walks(toy_models["two moons"]["one-class HKR"], seed)
companion_plots.walks_figure(toy["two moons"], walks);

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
# `python -m adlip study hkr --profile quick` (both activations); this chapter reads them.

# %%
PAPER_MNIST_SETTINGS, budget.detector_options()

# %%
runs = hkr_study.mnist_runs(profile, seed, results_dir, run=run_missing)
records = runs["FullSort"]
companion_tables.mnist_table(runs)

# %% [markdown]
# *Table: MNIST one-vs-rest test ROC-AUC (%) of the anomaly score $-f$: ours, with each activation,
# beside the paper's Table 1 (reference data typed in from the paper, not produced here: the paper's
# HKR classifier after 1000 epochs on its convolutional network, and the Deep SVDD, OC-SVM and
# Isolation Forest numbers it quotes from {cite:t}`ruff2018`). Our budget, with the detector's options
# above: {glue:text}`hkr_budget` (quick: the whole normal class, about 6000
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
companion_tables.hkr_bounds_table(runs)

# %% [markdown]
# *Table: empirical lower bounds on the Lipschitz constant of $f$ (guaranteed: 1) and the mean
# training time per class (wall-clock, on a shared 2-core CPU); budget as in the previous table.*
#
# The paper's Figure 5 shows histograms of $f$ on the normal class's training images, its test
# images and the other digits. Here they are for the first class and for the class with the lowest
# ROC-AUC, with FullSort.

# %%
companion_plots.f_histograms(records);

# %% [markdown]
# *Figure: histograms of $f$ (normalised per group) on the normal class's training images, its test
# images and the other digits' test images, for the first class and the class with the lowest
# ROC-AUC in the table (FullSort; budget as in the table).*

# %%
companion_tables.hkr_training_table(runs)

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
companion_plots.generated_digits(records);

# %% [markdown]
# *Figure: one row per normal class, ten images made by Algorithm 1 ($T = 64$, $\eta = 1$, target
# $f = 2m$) from uniform noise with the class's classifier (FullSort; budget as in the table; not
# cherry-picked).*
#
# How far did the walks go? The starting noise is reproducible from the seed, so we can compare.

# %%
print(companion_tables.synthesis_distances(hkr_study.synthesis_distances(records)))

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
radii, mean_curves = hkr_study.mean_certified(runs)
companion_plots.certified_curves(runs, radii, mean_curves);

# %% [markdown]
# *Figure: certified ROC-AUC {eq}`eq-hkr-certified-auc` of the MNIST classifiers against the L2
# radius of the perturbation (thin lines: one per normal class; thick: their mean), for each
# activation. Budget as in the table.*

# %%
companion_tables.certified_table(radii, mean_curves)

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

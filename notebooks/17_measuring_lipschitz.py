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
# (chap-measuring-lipschitz)=
# # Measuring the Lipschitz Constant
#
# The thesis measures robustness by the largest ratio $\|f(x) - f(y)\|_2 / \|x - y\|_2$ over random
# pairs of test images (its eq. 5.1), and asks in its outlook for a better metric. A ratio found by any search is a *lower*
# bound on the network's constant $L(f)$; the question is which search gets closest, and what the
# numbers mean for networks whose constant is not known.
#
# This chapter compares four lower bounds, each given **the same time budget**:
#
# * **test pairs**: the thesis's metric, random pairs of test images;
# * **random images**: pairs of uniformly random images in the data's range, drawn afresh;
# * **local perturbations**: a test image and a random point at a small distance $r$ from it, which
#   measures the local slope (the constant is the largest slope, $L(f) = \sup_x \|J_f(x)\|_2$);
# * **gradient ascent**: pairs of test images moved uphill on the ratio by Adam
#   (`adlip.metrics.lipschitz_gradient_ascent`);
#
# and one **upper** bound that holds for every network, standard or not: the product of the layers'
# constants,
#
# $$
# L(f_n \circ \dots \circ f_1) \le \prod_{i=1}^n L(f_i),
# $$ (eq-product-bound)
#
# where an affine layer contributes the largest singular value of its linear part (found by Lanczos
# iteration on the layer as an operator, so convolutions need no unrolling into a matrix), leaky
# ReLU contributes 1, a sigmoid $1/4$, max pooling with disjoint windows 1 and batch normalization
# in inference mode its largest $|\gamma| / \sqrt{\sigma^2 + \epsilon}$. For the Lipschitz models the
# construction guarantees $L(f) \le K$ as well. The true constant lies between the best lower bound
# and the smaller upper bound.

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
seconds_per_estimator = None   # None: 0.5 s under the smoke profile, 10 s otherwise
radius = 0.1                   # distance of the local perturbations

# %%
import numpy as np
from IPython.display import Markdown, display

from adlip import metrics, plots
from adlip.tables import markdown_table
from adlip.data import one_vs_rest
from adlip.detectors import DCAE, DeepSVDD
from adlip.profiles import get_profile

import tensorflow as tf  # noqa: E402  (after adlip, which selects Keras 2)

tf.get_logger().setLevel("ERROR")   # models are traced again for new input shapes; TF's notices would fill the page

budget = get_profile(profile)
seconds = seconds_per_estimator or (0.5 if profile == "smoke" else 10.0)
split = one_vs_rest("mnist", normal_class, train_size=budget.train_size, test_size=budget.test_size, seed=1234)
display(Markdown(
    f"**Budget.** Profile `{profile}`: MNIST normal class {normal_class}, {len(split.x_train)} training "
    f"images, epochs scaled by {budget.epochs_scale:g} of the thesis's schedules, seed {seed}; every "
    f"estimator gets {seconds:g} s on {len(split.x_test)} test images."))

# %% [markdown]
# ## The models
#
# The thesis's DCAE and one-class Deep SVDD, each standard and Lipschitz at the constant experiment 2
# uses ($K = 2$ for the DCAE, $K = 50$ for Deep SVDD), trained here at the profile's budget. For the
# DCAE the measured map is the whole autoencoder $x \mapsto \hat x$; for Deep SVDD the network
# $\phi$ whose distance to the center is the score.

# %%
def train(detector_class, lipschitz, **options):
    detector = detector_class(dataset="mnist", lipschitz=lipschitz, seed=seed, verbose=0,
                              epochs_scale=budget.epochs_scale, **options)
    return detector.fit(split.x_train)


models = {
    "DCAE": train(DCAE, None),
    "DCAE, K=2": train(DCAE, 2.0),
    "Deep SVDD": train(DeepSVDD, None),
    "Deep SVDD, K=50": train(DeepSVDD, 50.0),
}
constants = {label: detector.lipschitz for label, detector in models.items() if detector.lipschitz}

# %% [markdown]
# ## Four searches, one budget
#
# Gradient ascent and the random perturbations stay inside the range of the test images, so every
# pair they report is a pair of valid inputs.

# %%
domain = (float(split.x_test.min()), float(split.x_test.max()))
results = {}
for label, detector in models.items():
    inputs = detector.lipschitz_inputs(split.x_test, seed=seed)
    results[label] = metrics.compare_lipschitz_estimators(detector.lipschitz_network, inputs, seconds=seconds,
                                                          domain=domain, seed=seed, radius=radius)

names = list(next(iter(results.values())))


def cell(value):
    return "–" if value is None else f"{value:.3g}"


markdown_table(["model", "K"] + names,
               [[label, cell(constants.get(label))] + [cell(results[label][n]) for n in names] for label in results])

# %%
fig = plots.estimator_bars(results, constants)

# %% [markdown]
# ```{note}
# Lower bounds from four searches at the same time budget, and the guaranteed product bound of
# eq. {eq}`eq-product-bound`, for each model (log scale); the dashed line is the constant $K$ a
# Lipschitz model is built to respect. Budget as stated above.
# ```
#
# ## What the numbers say
#
# The statements below are computed from the table.

# %%
lower_names = [n for n in names if n != "upper bound"]
statements = []
for label, values in results.items():
    best = max(lower_names, key=lambda n: values[n])
    gap = values[best] / values["test pairs"] if values["test pairs"] else float("inf")
    line = (f"**{label}**: the best lower bound is {best} ({values[best]:.3g}), "
            f"{gap:.1f} times the thesis's test-pair metric")
    upper = [v for v in (values["upper bound"], constants.get(label)) if v]
    if upper:
        line += (f"; the true constant lies in [{values[best]:.3g}, {min(upper):.3g}], so the best lower bound "
                 f"reaches {values[best] / min(upper):.1%} of the best guarantee")
    statements.append(line + ".")
winners = {max(lower_names, key=lambda n: values[n]) for values in results.values()}
statements.append("The search that came closest was " + " / ".join(sorted(winners)) +
                  " for every model." if len(winners) == 1 else
                  "No single search came closest for every model: " + ", ".join(sorted(winners)) + ".")
display(Markdown("\n".join(f"* {s}" for s in statements)))

# %% [markdown]
# ## Discussion
#
# Far-apart pairs, whether test images or random images, mostly measure how *flat* a network is on
# average between two points; the Lipschitz constant is the steepest slope anywhere. Gradient ascent
# and local perturbations look for steep places directly, which is why they usually report larger
# values at the same cost. For the Lipschitz models the gap between the best lower bound and $K$ is
# the slack of the construction itself: deel-lip normalises every layer to $K^{1/n}$, but the
# layers' worst directions need not line up, and ReLU-type activations lose norm where they cut.
#
# For the standard models no $K$ exists, and the product bound can be orders of magnitude above the
# lower bounds: it multiplies worst cases that never happen together. Neither number alone is the
# network's constant, but together they say what the thesis's robustness ratio could not: how much a
# standard network *can* stretch (the lower bound, realised by an actual pair of inputs) and how much
# it is *guaranteed* not to exceed (the upper bound).
#
# ## Summary
#
# * A lower bound is as good as its search. At equal time, searches that follow the gradient or
#   probe locally beat random test pairs, the thesis's metric.
# * An upper bound from the layers' norms costs seconds and turns "the Lipschitz model looks
#   smoother" into a bracket $[\text{lower}, \text{upper}]$ for any network.
# * `adlip.metrics.compare_lipschitz_estimators(model, x, seconds)` runs all of them on any
#   sequential tf.keras model.

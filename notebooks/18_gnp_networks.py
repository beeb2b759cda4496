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
# (chap-gnp)=
# # Gradient-Norm-Preserving Detectors
#
# A $K$-Lipschitz network built the thesis's way normalises every layer to $K^{1/n}$ and keeps the
# leaky ReLU and max pooling of the standard network. Both lose gradient norm: a leaky ReLU scales
# the negative half of its input by 0.1, and max pooling passes the gradient of one input in four.
# Backpropagated through several layers, the gradient shrinks, the network can use only a fraction
# of the slope $K$ it is allowed, and it fits the data less well ({ref}`chap-lipschitz` shows the
# effect on a toy stack). The remedy is to keep every layer gradient norm
# preserving {cite:p}`anil2019`:
#
# * **GroupSort2** sorts each pair of neighbouring units. It is a permutation of its input on every
#   linear piece, so $\|J\|_2 = 1$ everywhere, and it is still non-linear. **FullSort** sorts the
#   whole vector.
# * **L2-norm pooling** replaces a window's maximum by the Euclidean norm of the window (scaled so
#   that disjoint windows give a 1-Lipschitz map); every input in the window gets gradient.
#
# With orthogonal (Björck) kernels the whole network then has Jacobians of norm close to $K$ where
# it matters. This chapter swaps these layers into the thesis's Lipschitz DCAE and Deep SVDD, at the
# constants experiment 2 uses, and measures what changes: detection, and how much of $K$ the network
# actually uses.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training
dataset = "mnist"  # "mnist" or "cifar10"
normal_class = 0  # the class trained on as normal; every other class is an anomaly
seconds_per_estimator = None   # None: 0.5 s under the smoke profile, 5 s otherwise
results_dir = "results"        # where the run on the other data set is read from (and saved to)
save_results = False           # True: save this run's results for the book (see the last section)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import adlip  # noqa: F401  (before TensorFlow: selects Keras 2)
from adlip.studies.gnp import GNP, GNPRun, budget_text, run_gnp
from adlip.views.gnp import results_figure, results_table, statements

import tensorflow as tf  # noqa: E402  (after adlip, which selects Keras 2)

tf.get_logger().setLevel("ERROR")   # models are traced again for new input shapes; TF's notices would fill the page

run = GNPRun(dataset, normal_class, seed, profile, seconds_per_estimator)   # the study's one run

# %% [markdown]
# ## Four detectors, two kinds of layers
#
# Each detector is trained twice with the same seed, schedule and data: once with the thesis's leaky
# ReLU and max pooling, once with GroupSort2 and L2-norm pooling.

# %%
record = run_gnp(run)   # trains the four networks and measures them (adlip.studies.gnp)
rows = record["results"]["rows"]
display(Markdown("**Budget.** " + budget_text(dataset, normal_class, seed, profile,
                                               **record["results"]["chapter_budget"])))
results_table(rows)

# %%
fig = results_figure(rows)

# %% [markdown]
# ```{note}
# Lower bounds (random test pairs, gradient ascent) and the guaranteed product bound for each
# Lipschitz detector, with the thesis's layers and with gradient-norm-preserving ones; the dashed
# line is $K$. Budget as stated above.
# ```
#
# ## What changed
#
# The statements are computed from the table.

# %%
statements(rows)

# %% [markdown]
# (sec-gnp-other-dataset)=
# ## The other data set
#
# The book executes this chapter on MNIST. The same chapter executed on CIFAR-10 (parameter
# `dataset = "cifar10"`, at CIFAR-10's own, smaller budget of {ref}`chap-experiment1`) takes
# several times longer on a CPU, so its results are saved once and committed, and this section
# renders them:
#
# ```bash
# python -m adlip.book --profile quick --only 18 --no-build --executed-dir _build/cifar10 \
#     -p dataset=cifar10 -p save_results=true
# ```
#
# The table, figure and statements below are those of the sections above, computed from the saved
# results. A chapter executed on CIFAR-10 shows MNIST's saved results here instead.

# %%
other = GNPRun("cifar10" if dataset == "mnist" else "mnist", normal_class, seed, profile)
if save_results:
    print(f"saved to {GNP.save(record, run, results_dir)}")
saved = GNP.saved(other, results_dir)
if saved is None:
    display(Markdown(f"*No saved {other.dataset} results for profile `{profile}`, normal class {normal_class} and "
                     f"seed {seed} in `{GNP.folder(profile, results_dir)}`: run the command above to make them.*"))
else:
    display(Markdown(f"**Budget.** {budget_text(other.dataset, normal_class, seed, profile, **saved['results']['chapter_budget'])} "
                     f"Saved by adlip {saved['adlip_version']} at commit `{saved['git_commit']}`."))
    display(results_table(saved["results"]["rows"]))
    results_figure(saved["results"]["rows"])
    plt.show()   # the figure between the table and the statements, not at the end of the cell
    display(statements(saved["results"]["rows"]))

# %% [markdown]
# ## Summary
#
# * `DCAE(..., activation="groupsort2", pooling="l2norm")` and the same arguments of `DeepSVDD` (also
#   `architectures.build`) give gradient-norm-preserving Lipschitz networks; the constant $K$ and its
#   per-layer share are unchanged, since both replacements are 1-Lipschitz.
# * Whether the swap helps detection at a given budget is read off the tables above, one seed and
#   one class at a time; rerun the chapter with another `normal_class` or a larger profile to see
#   whether it holds.

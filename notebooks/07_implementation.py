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
# (chap-implementation)=
# # deel-lip and the Implementation
#
# This chapter shows the networks the experiments train, exactly as `adlip` builds them. Each network
# is *data*: an `adlip.architectures.Architecture`, a list of rows like the tables of the thesis's
# chapter 4 {cite:p}`wickes2024`. The tables below are rendered from that data, and the test suite
# builds every network and checks its output shapes against the same rows, so the book and the code
# cannot drift apart.
#
# Lipschitz versions are made with deel-lip {cite:p}`serrurier2021`: `SpectralConv2D` and
# `SpectralDense` layers whose kernels are normalised (spectral normalization, then Björck
# orthonormalization, {ref}`chap-lipschitz`) and multiplied by a factor. A global constant $K$ is
# shared as $K^{1/n}$ by the $n$ deel-lip layers of a network; every other layer (leaky ReLU, ReLU,
# 2x2 max pooling, sigmoid, tanh, flatten, reshape) is 1-Lipschitz, so the whole network is
# $K$-Lipschitz. Batch normalization is not, and the Lipschitz networks go without it.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training

# %%
import numpy as np
from IPython.display import Markdown, display

import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow)
import tensorflow as tf
from adlip import architectures, metrics
from adlip.tables import markdown_table
from adlip.detectors import DETECTORS
from adlip.profiles import get_profile

tf.get_logger().setLevel("ERROR")   # models are traced again for new input shapes; TF's notices would fill the page

budget = get_profile(profile)

# %% [markdown]
# ## The networks
#
# ### DCAE
#
# The autoencoders follow Ruff et al. {cite:p}`ruff2018`: no bias terms, batch normalization without
# a learned scale or offset, leaky ReLU with slope 0.1. The standard decoders upsample with strided
# transposed convolutions; the Lipschitz decoders are stacks of dense layers, the thesis's answer to
# blurred reconstructions from convolutional Lipschitz decoders. {ref}`chap-spectralconv` finds the
# cause of that blur and offers a convolutional Lipschitz decoder that does not blur
# (`DCAE(decoder="operatorconv")`).

# %%
def show(family, dataset, lipschitz):
    display(Markdown(architectures.to_markdown(architectures.get_architecture(family, dataset, lipschitz))))


for dataset in ("mnist", "cifar10"):
    for lipschitz in (False, True):
        show("dcae", dataset, lipschitz)

# %% [markdown]
# ### Deep SVDD
#
# Deep SVDD's network is the autoencoder's encoder, and it starts from a trained DCAE's encoder
# weights. Note that the printed Lipschitz CIFAR-10 DCAE ends its encoder with 96 units while the
# Lipschitz CIFAR-10 Deep SVDD ends with 128; adlip keeps both tables as printed and transfers the
# weights whose shapes match.

# %%
for dataset in ("mnist", "cifar10"):
    for lipschitz in (False, True):
        show("deepsvdd", dataset, lipschitz)

# %% [markdown]
# ### AnoGAN's DCGAN
#
# The generator maps a 256-dimensional latent vector to an image; every convolution of the
# discriminator has stride 2. The Lipschitz generator is a stack of very wide dense layers.

# %%
for family in ("generator", "discriminator"):
    for dataset in ("mnist", "cifar10"):
        for lipschitz in (False, True):
            show(family, dataset, lipschitz)

# %% [markdown]
# ## Lipschitz by construction, checked by measurement
#
# A constraint that is only assumed is not worth much. deel-lip has a pitfall that shows why: if a
# `deel_lip.model.Sequential` with $K \ne 1$ is built with its input shape at construction, the
# `SpectralDense` layers trace their computation before the model hands them their factor $K^{1/n}$,
# and silently keep a factor of 1, while their `k_coef_lip` attribute still reports the intended
# value. adlip gives each layer its factor in its constructor instead. The cell below builds every
# Lipschitz network at a few constants and measures its constant from below, by random pairs and by
# gradient ascent (the experiment chapters use both); no measurement may exceed $K$.

# %%
rows = []
constants = (2.0,) if profile == "smoke" else (0.5, 2.0, 50.0)
for family in ("dcae", "deepsvdd", "generator", "discriminator"):
    for k in constants:
        arch = architectures.get_architecture(family, "mnist", True)
        model = architectures.build(arch, lipschitz=k, seed=seed, orthogonalization="spectral")
        if family == "generator":
            inputs = np.random.default_rng(seed).standard_normal((256, arch.input_shape[0])).astype("float32")
        else:
            inputs = np.random.default_rng(seed).random((256, *arch.input_shape)).astype("float32")
        pairs = metrics.lipschitz_lower_bound(model, inputs, rounds=3, pairs_per_round=20_000, seed=seed)
        ascent = metrics.lipschitz_gradient_ascent(model, inputs, starts=16, steps=budget.ascent_steps // 2 or 5,
                                                   learning_rate=0.05, seed=seed)
        rows.append([arch.name, f"{k:g}", len(architectures.lipschitz_layers(model)), f"{pairs.value:.4f}",
                     f"{ascent.value:.4f}", "yes" if max(pairs.value, ascent.value) <= k * (1 + 1e-3) else "NO"])
markdown_table(["network (MNIST)", "K", "deel-lip layers", "random pairs", "gradient ascent", "below K"], rows)

# %% [markdown]
# ```{note}
# Measured lower bounds of freshly initialised Lipschitz networks (spectral normalization, inputs
# uniform in the unit cube, latent vectors standard normal). Untrained networks stretch far less
# than they may; training pushes them towards $K$.
# ```
#
# ## Training schedules
#
# Every detector takes the thesis's schedule by default; a profile multiplies each phase's epochs.

# %%
rows = []
for name in ("dcae", "deepsvdd-oc", "anogan"):
    for lipschitz in (None, 2.0):
        detector = DETECTORS[name](dataset="mnist", lipschitz=lipschitz)
        schedule = detector.resolved_schedule()
        phases = ", then ".join(f"{epochs} epochs at {rate:g}" for epochs, rate in schedule.phases)
        scaled = detector.set_params(epochs_scale=budget.epochs_scale).resolved_schedule().total_epochs
        rows.append([name, "standard" if lipschitz is None else "Lipschitz", phases, schedule.batch_size,
                     f"{schedule.weight_decay:g}", scaled])
markdown_table(["detector", "variant", "thesis schedule (MNIST)", "batch", "weight decay",
                f"epochs under profile {profile}"], rows)

# %% [markdown]
# ## Using a detector
#
# Every detector follows the scikit-learn / PyOD contract: hyperparameters are constructor arguments,
# `fit` returns the detector, `decision_function` is higher for more anomalous inputs.
#
# ```python
# from adlip.data import one_vs_rest
# from adlip.detectors import DETECTORS
#
# split = one_vs_rest("mnist", normal_class=0)            # GCN + min-max scaling, label 1 = anomaly
# dcae = DETECTORS["dcae"](dataset="mnist", lipschitz=2.0, seed=0).fit(split.x_train)
# scores = dcae.decision_function(split.x_test)
# dcae.save("dcae-mnist-0")                               # a folder: JSON state + .keras networks
# ```
#
# From the command line, `python -m adlip run --algorithm dcae --dataset mnist --normal-class 0
# --lipschitz 2` does the same and prints one JSON record with the ROC-AUC and the Lipschitz bounds.
#
# ## Same seed, same numbers: on one kind of CPU
#
# A seed fixes the data subsets, the initial weights, the batch order and every random draw of the
# training, and a fit turns off the graph rewrites whose choices varied between runs. The same seed
# with the same thread count then gives bitwise the same scores, on an idle machine or a busy one
# (`tests/test_determinism.py`). What a seed cannot fix is the processor: TensorFlow picks its CPU
# kernels by the vector instructions the processor has, and an AVX-512 kernel adds up a product in
# another order than an AVX2 one. Across two kinds of CPU the same run agrees to about five
# significant digits, not bit for bit. Every record therefore names its processor and those
# instruction sets; this is the machine the chapter runs on:

# %%
from adlip.records import cpu

cpu()

# %% [markdown]
# ## Summary
#
# * The networks are data; the tables above and the tests read the same data.
# * Lipschitz constants are distributed over the deel-lip layers and then measured, never assumed.
# * Schedules are the thesis's; profiles scale them.
# * A seed reproduces a run bit for bit on the same kind of CPU; records name the CPU.

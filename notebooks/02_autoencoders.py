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
# (chap-autoencoders)=
# # Autoencoders
#
# An autoencoder is a neural network trained to reproduce its input through a narrow middle
# layer. Because the middle layer is too small to pass everything through, the network has to
# learn which aspects of the data matter; because it learns this from normal data only, it
# reproduces normal inputs well and unfamiliar inputs badly. The reconstruction error is then an
# anomaly score. This chapter builds that idea from the ground up: dimensionality reduction, the
# linear case (principal component analysis), convolutions, and finally a small autoencoder
# trained on MNIST digits.

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
bottleneck = 32  # size of the autoencoder's code (the bottleneck)

# %%
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2, see the introduction)
import numpy as np
import tensorflow as tf
from scipy.signal import correlate2d
from sklearn.decomposition import PCA

from adlip import plots
from adlip.tables import markdown_table
from adlip.data import one_vs_rest
from adlip.metrics import roc_auc
from adlip.profiles import get_profile

budget = get_profile(profile)
demo = {"smoke": dict(n_train=256, epochs=2), "quick": dict(n_train=2000, epochs=15),
        "full": dict(n_train=None, epochs=100)}[profile]   # for the small autoencoder
tf.keras.utils.set_random_seed(seed)

# %% [markdown]
# ## Dimensionality reduction
#
# Images of handwritten digits have $28 \times 28 = 784$ pixels, but they do not fill the
# 784-dimensional space: almost every random pixel pattern is noise, not a digit. The digits lie
# near a set of much lower *intrinsic* dimension, spanned by a few factors such as slant, stroke
# width and the shape of loops. Dimensionality reduction looks for a map from the data to a
# low-dimensional code that keeps these factors.
#
# An autoencoder learns two maps at once {cite:p}`kramer1991`: an **encoder** $g$ from the input
# space to a code of dimension $p$ (the *bottleneck*), and a **decoder** $h$ back to the input
# space,
#
# $$
# z = g(x) \in \mathbb{R}^p, \qquad \hat{x} = h(z) \in \mathbb{R}^d, \qquad p < d.
# $$ (eq-encoder-decoder)
#
# Both are trained together to make $\hat{x}$ close to $x$ over the training set
# $\{x_1, \dots, x_n\}$, usually with the sum of squared errors,
#
# $$
# E(g, h) = \sum_{i=1}^{n} \big\| x_i - h(g(x_i)) \big\|_2^2 .
# $$ (eq-autoencoder-loss)
#
# The bottleneck is essential. With $p \ge d$ the network could learn the identity map and
# reconstruct everything, including anomalies, perfectly. With $p$ small, information must be
# dropped, and the network keeps what is common to its training data.
#
# ## Reconstruction error as an anomaly score
#
# Trained on normal data, the autoencoder's decoder can only produce images that look like
# normal data. An anomaly is mapped to *some* code, but decoding that code gives a normal-looking
# image, far from the input. The thesis scores an input $x$ by the Euclidean reconstruction error
# {cite:p}`sakurada2014`,
#
# $$
# s(x) = \big\| x - h(g(x)) \big\|_2 = \Big( \sum_{j=1}^{d} \big(x_j - \hat{x}_j\big)^2 \Big)^{1/2}.
# $$ (eq-reconstruction-error)
#
# ## The linear case: principal component analysis
#
# If $g$ and $h$ are linear, minimizing {eq}`eq-autoencoder-loss` recovers principal component
# analysis (PCA): the best linear code of size $p$ is the projection onto the $p$ leading
# principal directions of the (centered) training data. PCA is therefore the natural baseline for
# an autoencoder, and it shows the role of the bottleneck without any training. We fit it on one
# MNIST one-vs-rest task (the protocol of {ref}`chap-anomaly-detection`) and score the test set by
# {eq}`eq-reconstruction-error` for several code sizes $p$.

# %%
split = one_vs_rest("mnist", normal_class, train_size=budget.train_size,
                    test_size=budget.test_size, seed=seed)
x_train = split.x_train.reshape(len(split.x_train), -1)
x_test = split.x_test.reshape(len(split.x_test), -1)
print(split)
# PCA in double precision: with large codes the errors get tiny and float32 rounding would show.

code_sizes = [p for p in (1, 4, 16, 64, 256, 700) if p < min(x_train.shape)]
pca = PCA(n_components=max(code_sizes), random_state=seed).fit(x_train.astype(np.float64))


def pca_reconstruction_error(p):
    """Distance of each test image to the span of the p leading principal directions.

    Principal directions are nested, so one fit with the largest p serves every smaller p.
    """
    directions = pca.components_[:p]
    centered = x_test.astype(np.float64) - pca.mean_
    return np.linalg.norm(centered - centered @ directions.T @ directions, axis=1)


pca_aucs = {p: roc_auc(split.y_test, pca_reconstruction_error(p)) for p in code_sizes}
markdown_table(["code size p", "ROC-AUC of the PCA reconstruction error"],
               [[p, f"{auc:.3f}"] for p, auc in pca_aucs.items()])

# %% [markdown]
# With the whole training class available (the `quick` and `full` profiles) the table shows
# both ends of the trade-off: the AUC rises with $p$ while the code is too small to reconstruct
# normal digits well, and falls again as $p$ grows towards $d = 784$. A large subspace
# reconstructs the normal training digits almost exactly and anomalies nearly as well; what is
# left of an anomaly's error lies in the few directions in which the normal training digits do
# not vary at all. (With the `smoke` profile's few hundred training images the large code sizes
# cannot be fitted and are left out.) A nonlinear autoencoder can represent curved sets of images,
# which a linear subspace cannot, but the code size remains a choice the data do not make for us.
#
# ## Convolutions
#
# A dense layer connects every input pixel to every unit: 784 inputs and 100 units need 78,400
# weights. A **convolutional layer** instead slides a small kernel $w$ over the image and computes,
# at every position, a weighted sum of the pixels under it (deep learning libraries compute this
# cross-correlation and call it convolution):
#
# $$
# (x \star w)_{ij} = \sum_{a=0}^{k-1} \sum_{b=0}^{k-1} x_{i+a,\, j+b}\, w_{ab}.
# $$ (eq-convolution)
#
# The same kernel is used at every position (*weight sharing*), so a layer of $m$ kernels of size
# $k \times k$ on a one-channel image has only $m k^2$ weights, whatever the image size. Each
# output depends only on a $k \times k$ patch (its *receptive field*), and a kernel that detects a
# pattern detects it anywhere in the image. Stacking convolutions and pooling layers, which
# downsample the feature maps, lets later layers see larger patches and combine simple patterns
# into complex ones {cite:p}`masci2011`. Keras counts the weights for us:

# %%
dense = tf.keras.layers.Dense(100, use_bias=False)
dense.build((None, 784))
conv = tf.keras.layers.Conv2D(14, 5, use_bias=False)
conv.build((None, 28, 28, 1))
markdown_table(["layer", "weights"],
               [["Dense(100) on 784 pixels", dense.count_params()],
                ["Conv2D(14 kernels of 5x5) on a 28x28 image", conv.count_params()]])

# %% [markdown]
# A kernel can be designed by hand. The Sobel kernels respond to horizontal and vertical changes
# in brightness, that is, to edges; the first layer of a trained convolutional network often
# learns kernels of a similar kind.

# %%
digit = split.x_train[0, :, :, 0]
sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
kernels = {"vertical edges": sobel, "horizontal edges": sobel.T}
responses = {name: correlate2d(digit, kernel, mode="same") for name, kernel in kernels.items()}

# %% mystnb={"figure": {"name": "fig-sobel", "caption": "A digit and two hand-made $3 \\times 3$ kernels (top) with the feature maps they produce (bottom): each map lights up where the digit has edges in the kernel's direction; red and blue mark the two signs."}}
plots.convolution_maps(digit, kernels, responses);

# %% [markdown]
# The thesis's first detector is a deep *convolutional* autoencoder (DCAE): a convolutional
# encoder with pooling, a dense bottleneck, and a decoder that upsamples back to the image,
# following the Deep SVDD paper {cite:p}`ruff2018`. It is one of adlip's detectors; the
# implementation part of the book shows its architecture layer by layer. Here a small *dense*
# autoencoder is enough to see the idea at work.
#
# ## A small autoencoder on MNIST
#
# The encoder maps the 784 pixels through a hidden layer to a code of size `bottleneck`; the
# decoder mirrors it and ends in a sigmoid, since the preprocessed training images lie in
# $[0, 1]$. It trains for a few epochs on a subset of the normal training images (the sizes depend
# on the profile).


# %%
def dense_autoencoder(code_size):
    """784 -> 128 -> code_size -> 128 -> 784, leaky ReLU inside, sigmoid output."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        layers.Dense(128), layers.LeakyReLU(0.1),
        layers.Dense(code_size), layers.LeakyReLU(0.1),
        layers.Dense(128), layers.LeakyReLU(0.1),
        layers.Dense(784, activation="sigmoid"),
    ])


ae_train = x_train[:demo["n_train"]]
autoencoder = dense_autoencoder(bottleneck)
autoencoder.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
history = autoencoder.fit(ae_train, ae_train, epochs=demo["epochs"], batch_size=64, verbose=0)
print(f"trained {demo['epochs']} epochs on {len(ae_train)} images; "
      f"final training MSE {history.history['loss'][-1]:.4f}")

# %%
reconstructions = autoencoder.predict(x_test, batch_size=512, verbose=0)
ae_scores = np.linalg.norm(x_test - reconstructions, axis=1)
normal_idx = np.flatnonzero(split.y_test == 0)[:8]
anomalous_idx = np.flatnonzero(split.y_test == 1)[:8]

# %% mystnb={"figure": {"name": "fig-ae-reconstructions", "caption": "Test images and the small autoencoder's reconstructions. Normal digits (top two rows) come back close to the input; anomalous digits (bottom two rows) are pulled towards shapes of the normal class."}}
plots.image_rows({"normal: input": x_test[normal_idx],
                  "normal: output": reconstructions[normal_idx],
                  "anomalous: input": x_test[anomalous_idx],
                  "anomalous: output": reconstructions[anomalous_idx]}, value_range=(0, 1));

# %% mystnb={"figure": {"name": "fig-ae-errors", "caption": "Reconstruction errors {eq}`eq-reconstruction-error` of normal and anomalous test images."}}
plots.score_histograms(split.y_test, ae_scores, xlabel="reconstruction error");

# %%
pca_size = min(bottleneck, pca.n_components_)
pca_scores = pca_reconstruction_error(pca_size)
markdown_table(["score", "ROC-AUC"],
               [[f"dense autoencoder, code size {bottleneck}", f"{roc_auc(split.y_test, ae_scores):.3f}"],
                [f"PCA, code size {pca_size}", f"{roc_auc(split.y_test, pca_scores):.3f}"]])

# %% [markdown]
# Whether the small autoencoder beats PCA at the same code size depends on its budget: with the
# `smoke` profile it trains for two epochs on a few hundred images and cannot; the table above is
# computed for the profile this page was built with. (PCA is fitted on all training images the
# profile provides, the autoencoder on a subset.) The convolutional autoencoder of the thesis has
# fewer weights than this dense one and exploits the image structure through its kernels.
#
# ## Summary
#
# * An autoencoder compresses its input into a small code and decodes it again; trained on normal
#   data, it reconstructs normal data well and anomalies badly.
# * The reconstruction error {eq}`eq-reconstruction-error` is the anomaly score.
# * The code size is a real hyperparameter: too small loses normal detail, too large
#   reconstructs anomalies too.
# * With linear maps, the autoencoder is PCA, a baseline worth reporting.
# * Convolutions share one small kernel over the whole image; they need far fewer weights than
#   dense layers and see local patterns wherever they occur.
#
# ## Exercises
#
# 1. Change `bottleneck` (papermill: `-p bottleneck 4`, then `128`) and compare the autoencoder's
#    ROC-AUC with the PCA table. Does the autoencoder show the same dependence on code size?
# 2. Score the test images by the *squared* error, or by the error of the worst pixel, instead of
#    {eq}`eq-reconstruction-error`. Which of these changes can alter the ROC-AUC, and why can the
#    squared error not?
# 3. How many weights does a `Conv2D` layer with 8 kernels of size $5 \times 5$ have when its
#    input has 4 channels? Check your answer with `count_params()`.

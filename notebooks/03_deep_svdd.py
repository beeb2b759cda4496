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
# (chap-deep-svdd)=
# # Deep SVDD
#
# Most deep anomaly detectors borrow a network trained for something else (reconstruction for
# the autoencoder, generation for AnoGAN) and read an anomaly score off it. Deep Support Vector
# Data Description (Deep SVDD) {cite:p}`ruff2018` trains a network *for* anomaly detection
# directly: it learns a feature map that squeezes the normal data into a small hypersphere, and
# scores a new input by its distance from the hypersphere's center. It descends from two classical
# ideas: one-class classification, which learns a description of normal data only, and Support
# Vector Data Description (SVDD) {cite:p}`tax2004`, which encloses the data in a ball of minimum
# volume in a kernel feature space. Deep SVDD replaces the fixed kernel by a trained network.
#
# The idea comes with a trap: a network can make the hypersphere as small as it likes by
# ignoring its input. This chapter states the two objectives, explains the architectural rules
# that keep the trap shut, and then springs it on purpose.

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
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2, see the introduction)
import numpy as np
import tensorflow as tf

from adlip import plots
from adlip.tables import markdown_table
from adlip.data import one_vs_rest
from adlip.metrics import roc_auc
from adlip.profiles import get_profile

get_profile(profile)  # fails early, naming the valid profiles, if `profile` is misspelt
demo = {"smoke": dict(n_train=256, epochs=10),
        "quick": dict(n_train=1000, epochs=100),
        "full": dict(n_train=2000, epochs=300)}[profile]

# %% [markdown]
# ## Two objectives
#
# Let $\phi(\cdot\,; \mathcal{W})$ be a network with weights $\mathcal{W} = \{W^1, \dots, W^L\}$
# that maps an input $x$ to a feature vector in $\mathbb{R}^p$, let $c \in \mathbb{R}^p$ be the
# center of the hypersphere, and write $d_i = \|\phi(x_i; \mathcal{W}) - c\|_2^2$ for the squared
# distance of training example $x_i$ from it. The **soft-boundary** objective learns the weights
# together with a radius $R > 0$:
#
# $$
# \min_{R, \mathcal{W}} \; R^2 + \frac{1}{\nu n} \sum_{i=1}^{n} \max\{0,\, d_i - R^2\}
#   + \frac{\lambda}{2} \sum_{\ell=1}^{L} \|W^\ell\|_F^2 .
# $$ (eq-svdd-soft-boundary)
#
# The first term shrinks the sphere, the second charges for every point left outside it, and the
# third is weight decay. The hyperparameter $\nu \in (0, 1]$ sets the balance: it is an upper
# bound on the fraction of training points left outside the sphere and a lower bound on the
# fraction on or outside its boundary (the $\nu$-property known from the one-class SVM
# {cite:p}`scholkopf2001`). A point's anomaly score is $s(x) = \|\phi(x) - c\|^2 - R^2$, which is
# positive outside the sphere. In practice $R$ is not trained by gradient descent; every few
# epochs it is set to the $(1 - \nu)$-quantile of the training distances, which solves the
# objective for $R$ with the network held fixed.
#
# If the training data are known to be (almost) all normal, the radius can be dropped. The
# **one-class** objective simply pulls every training point towards the center,
#
# $$
# \min_{\mathcal{W}} \; \frac{1}{n} \sum_{i=1}^{n} \|\phi(x_i; \mathcal{W}) - c\|_2^2
#   + \frac{\lambda}{2} \sum_{\ell=1}^{L} \|W^\ell\|_F^2 ,
# $$ (eq-svdd-one-class)
#
# and scores a point by its squared distance from the center, $s(x) = \|\phi(x) - c\|^2$.
#
# ## Hypersphere collapse, and how the architecture prevents it
#
# Both objectives have a trivial minimizer: a network that maps *every* input onto $c$ has zero
# distances, so the one-class loss is zero (and the soft-boundary loss is too, with $R = 0$). Such
# a network scores every input alike and detects nothing. This **hypersphere collapse** is the
# reason for the rules that Deep SVDD imposes {cite:p}`ruff2018`, which the thesis lists as the
# properties of the method:
#
# 1. **The center is fixed, not learned.** If $c$ were a free parameter, all-zero weights together
#    with $c$ equal to the network's constant output would be an optimum. The center is computed
#    once, as the mean of the network's outputs on the training data before training, and coordinates
#    very close to zero are pushed away from it. In particular $c$ must not be $0$: a network
#    without bias terms maps everything to $0$ when its weights are $0$.
# 2. **No bias terms.** With biases, the network can learn weights near zero and a last-layer bias
#    equal to $c$: a constant map onto the center, and the trivial optimum again.
# 3. **No bounded activations.** A saturating activation, such as a sigmoid, outputs a near-constant
#    value for large inputs; if some input feature has the same sign on all training data, the
#    network can blow up the weights on it, saturate, and so build a bias out of the activation.
#    Unbounded activations such as ReLU or leaky ReLU avoid this.
# 4. **The $\nu$-property** of the soft-boundary objective (above) lets prior knowledge about the
#    fraction of outliers in the training data enter through $\nu$.
#
# The first three are architectural; the rest of this chapter tests the first two on MNIST. We
# use the same small network in three variants: with bias terms (violating rule 2), without bias
# terms but with $c = 0$ (violating rule 1), and without bias terms with $c$ set from the data (the
# recommended setup). Each is trained with the one-class objective {eq}`eq-svdd-one-class`.
#
# The inputs are pixel intensities in $[0, 1]$ rather than the global contrast normalization used
# elsewhere in the book, for a reason worth a short detour. Global contrast normalization gives
# every image mean $0$, and the min-max scaling after it applies the same affine map to all images,
# so *every* preprocessed image ends up with the same mean pixel value:

# %%
gcn_split = one_vs_rest("mnist", normal_class, scaling="gcn", train_size=demo["n_train"], seed=seed)
pixel_means = gcn_split.x_train.reshape(len(gcn_split.x_train), -1).mean(axis=1)
print(f"mean pixel value of the GCN-scaled images: {pixel_means.mean():.6f} "
      f"(standard deviation over images: {pixel_means.std():.1e})")

# %% [markdown]
# A direction of the input space along which all inputs have the same value is a bias in
# disguise: the first layer can turn it into a constant unit. To see the effect of bias terms
# clearly, the demonstration therefore uses intensities scaled to $[0, 1]$, whose mean varies from
# digit to digit. (Exercise 2 returns to the normalized inputs.)

# %%
split = one_vs_rest("mnist", normal_class, scaling="unit", train_size=demo["n_train"],
                    test_size=get_profile(profile).test_size, seed=seed)
x_train = split.x_train.reshape(len(split.x_train), -1)
x_test = split.x_test.reshape(len(split.x_test), -1)
x_anomalous = x_test[split.y_test == 1][:1000]  # tracked during training
print(split)

# %% [markdown]
# The network has two dense layers, $784 \to 64 \to 16$, with a leaky ReLU between them. To make
# collapse happen within seconds rather than hours, we train with a larger learning rate
# ($10^{-2}$) and stronger weight decay ($\lambda = 10^{-2}$) than Deep SVDD's defaults; weight decay
# acts only on the weight matrices, as in {eq}`eq-svdd-one-class`, so biases are free.

# %%
LEARNING_RATE, WEIGHT_DECAY, BATCH_SIZE = 1e-2, 1e-2, 128


def feature_map(use_bias):
    """A small Deep SVDD network: 784 -> 64 -> 16, leaky ReLU, weight decay on the kernels."""
    decay = tf.keras.regularizers.L2(WEIGHT_DECAY / 2)  # Keras adds l * sum(w^2), i.e. lambda/2
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(64, use_bias=use_bias, kernel_regularizer=decay),
        tf.keras.layers.LeakyReLU(0.1),
        tf.keras.layers.Dense(16, use_bias=use_bias, kernel_regularizer=decay),
    ])
    model.build((None, x_train.shape[1]))
    return model


def initial_center(model, eps=0.1):
    """Rule 1: the mean output before training, with near-zero coordinates pushed to +-eps."""
    c = model(x_train).numpy().mean(axis=0)
    c[(np.abs(c) < eps) & (c < 0)] = -eps
    c[(np.abs(c) < eps) & (c >= 0)] = eps
    return tf.constant(c)


def sq_distances(model, x, c):
    return tf.reduce_sum(tf.square(model(x) - c), axis=1).numpy()


def train_one_class(model, c, epochs):
    """Minimize the one-class objective; record mean squared distances after every epoch."""
    optimizer = tf.keras.optimizers.Adam(LEARNING_RATE)
    data, anomalous = tf.constant(x_train), tf.constant(x_anomalous)

    @tf.function
    def mean_distances():
        return [tf.reduce_mean(tf.reduce_sum(tf.square(model(x) - c), axis=1))
                for x in (data, anomalous)]

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            distances = tf.reduce_sum(tf.square(model(batch) - c), axis=1)
            loss = tf.reduce_mean(distances) + tf.add_n(model.losses)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    history = {"normal (train)": [], "anomalous (test)": []}
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), BATCH_SIZE):
            step(tf.gather(data, order[start:start + BATCH_SIZE]))
        normal, anomalies = mean_distances()
        history["normal (train)"].append(float(normal))
        history["anomalous (test)"].append(float(anomalies))
    return history


# %%
variants = {"with bias terms": dict(use_bias=True, zero_center=False),
            "no bias, c = 0": dict(use_bias=False, zero_center=True),
            "no bias, c from data": dict(use_bias=False, zero_center=False)}
histories, models, centers = {}, {}, {}
for name, variant in variants.items():
    tf.keras.utils.set_random_seed(seed)  # same initial weights for every variant
    model = feature_map(variant["use_bias"])
    c = tf.zeros(16) if variant["zero_center"] else initial_center(model)
    histories[name] = train_one_class(model, c, demo["epochs"])
    models[name], centers[name] = model, c

# %% mystnb={"figure": {"name": "fig-hypersphere-collapse", "caption": "Mean squared distance from the center during one-class training, for normal training images and for anomalous test images. A network that can map everything onto the center drives both to zero: the hypersphere collapses and anomalies end up inside it too."}}
plots.collapse_curves(histories);

# %% [markdown]
# A collapsed network has no use for anomaly detection: if everything lands on the center, the
# remaining differences between distances are noise. The table compares the three networks after
# training. The ratio of the mean distance of anomalies to that of normal data says how far apart
# the two groups are kept; the spread is the total variance of the features of the training data.


# %%
def summary_row(name):
    model, c = models[name], centers[name]
    scores = sq_distances(model, x_test, c)
    normal = sq_distances(model, x_train, c).mean()
    anomalous = scores[split.y_test == 1].mean()
    spread = model(x_train).numpy().var(axis=0).sum()
    return [name, f"{normal:.2e}", f"{anomalous:.2e}", f"{anomalous / normal:.1f}",
            f"{spread:.2e}", f"{roc_auc(split.y_test, scores):.3f}"]


markdown_table(["network", "normal distance", "anomalous distance", "ratio", "feature spread",
                "ROC-AUC"], [summary_row(name) for name in variants])

# %% [markdown]
# With the `quick` profile's budget, the two networks that break a rule drive the distances of
# normal *and* anomalous images towards zero, while the network that follows the rules keeps the
# anomalies far outside: it cannot produce a constant output, because without biases its output
# scales with its input, and its center is not the point that zero weights map to. Collapse is a
# matter of degree, though. Here it is sped up by a large learning rate and strong weight decay,
# which push the weights towards zero; with Deep SVDD's own settings it happens slowly or not at
# all within the training budget, which is why the rules are safeguards rather than cures.
#
# ## The soft boundary and the $\nu$-property
#
# For the soft-boundary objective the radius is the $(1 - \nu)$-quantile of the training
# distances. By construction, a fraction of at most $\nu$ of the training data then lies outside
# the sphere, and the soft-boundary score $d - R^2$ labels a point anomalous when it is positive.
# Using the distances of the recommended network above:

# %%
recommended, c = models["no bias, c from data"], centers["no bias, c from data"]
train_distances = sq_distances(recommended, x_train, c)
test_distances = sq_distances(recommended, x_test, c)
rows = []
for nu in (0.01, 0.05, 0.1, 0.2):
    radius = np.quantile(np.sqrt(train_distances), 1 - nu)
    outside = test_distances - radius ** 2 > 0
    rows.append([nu, f"{radius:.4f}", f"{np.mean(train_distances > radius ** 2):.3f}",
                 f"{outside[split.y_test == 0].mean():.3f}", f"{outside[split.y_test == 1].mean():.3f}"])
markdown_table(["nu", "radius R", "train outside", "normal test outside", "anomalous test outside"],
               rows)

# %% [markdown]
# The fraction of training data outside the sphere tracks $\nu$, as the $\nu$-property promises.
# On the test set, a larger $\nu$ shrinks the sphere: more anomalies fall outside, and so do more
# normal images. Choosing $\nu$ is choosing a threshold; the ROC-AUC, which ignores thresholds, is
# the same for both objectives' scores once the network is fixed.
#
# The thesis trains both variants with the convolutional network of the Deep SVDD paper, with
# $\nu = 0.1$ and the radius updated every five epochs; adlip's detectors follow it, and the
# implementation part of the book shows them.
#
# ## Summary
#
# * Deep SVDD trains a network to map normal data close to a fixed center; the distance from the
#   center (minus $R^2$ for the soft-boundary variant) is the anomaly score.
# * The soft-boundary objective {eq}`eq-svdd-soft-boundary` learns a radius and tolerates a
#   fraction $\nu$ of outliers; the one-class objective {eq}`eq-svdd-one-class` assumes clean
#   training data.
# * Mapping everything onto the center minimizes both objectives. A fixed, nonzero center, no bias
#   terms and no bounded activations make this hypersphere collapse unreachable for the network.
#
# ## Exercises
#
# 1. Replace the leaky ReLU by a sigmoid in the bias-free network with the data-derived center.
#    Does it collapse? Relate the result to rule 3.
# 2. Repeat the experiment with `scaling="gcn"`. Does the bias-free network with the
#    data-derived center still keep anomalies away from the center? Explain with the constant mean
#    pixel value shown above.
# 3. Show that for a network without biases and with (leaky) ReLU activations,
#    $\phi(\alpha x) = \alpha\, \phi(x)$ for every $\alpha > 0$. Why does this make a constant
#    output impossible on inputs of different norms?

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
# (chap-gans)=
# # GANs and AnoGAN
#
# A generative model learns to produce new samples that look like its training data. If it has
# learned the normal data well, it can also judge a new input: an input it cannot produce is
# suspicious. AnoGAN {cite:p}`schlegl2017` turns a generative adversarial network (GAN) into an
# anomaly detector in exactly this way, by searching, for each test image, the GAN's input space
# for the closest image the generator can make. This chapter introduces GANs on a one-dimensional
# toy problem, explains batch normalization (which the thesis's standard GANs depend on, and its
# Lipschitz GANs cannot use), and then demonstrates AnoGAN's search on a generator whose range we
# know exactly.

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
latent_dim = 16  # dimension of the GAN's latent space
feature_weight = 0.1  # weight of the discriminator-feature term in the AnoGAN score

# %%
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2, see the introduction)
import numpy as np
import tensorflow as tf
from sklearn.decomposition import PCA

from adlip import plots
from adlip.tables import markdown_table
from adlip.data import one_vs_rest
from adlip.metrics import roc_auc
from adlip.profiles import get_profile

budget = get_profile(profile)
toy = {"smoke": dict(runs=1, steps=300), "quick": dict(runs=4, steps=1000),
       "full": dict(runs=8, steps=3000)}[profile]

# %% [markdown]
# ## A two-player game
#
# A GAN {cite:p}`goodfellow2014gan` consists of two networks. The **generator** $G$ maps a random
# latent code $z \sim p_z$ (for example a standard normal vector) to a sample $G(z)$ in data space.
# The **discriminator** $D$ maps a sample to the probability that it came from the data rather
# than from $G$. They are trained against each other on the value function
#
# $$
# \min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_\text{data}}\big[\log D(x)\big]
#   + \mathbb{E}_{z \sim p_z}\big[\log\big(1 - D(G(z))\big)\big].
# $$ (eq-gan-minmax)
#
# The discriminator ascends $V$: it wants to call real data real and generated data fake. The
# generator descends it: it wants its samples called real. For a fixed generator the best
# discriminator is $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$, and against it the
# game is won by the generator exactly when its sample distribution $p_g$ equals $p_\text{data}$; at
# that point $D^* = 1/2$ everywhere. In practice the two networks take alternating gradient
# steps, and the generator maximizes $\log D(G(z))$ instead of minimizing $\log(1 - D(G(z)))$,
# which gives it useful gradients early on, when the discriminator rejects its samples easily.
#
# Training is a search for an equilibrium, not the minimization of one loss, and it can fail in
# ways a single loss cannot. The best known is **mode collapse**: the generator finds a few outputs
# that fool the current discriminator and produces only those, whatever $z$ is. The thesis met it
# in all of its Lipschitz-constrained GANs.
#
# A one-dimensional example shows both success and failure in seconds. The data are a mixture of
# two narrow Gaussians at $-2$ and $+2$; generator and discriminator are small multilayer
# perceptrons, and the latent code is one-dimensional. We train several GANs that differ only in
# their random seed.

# %%
MODES = np.array([-2.0, 2.0])


def sample_data(rng, n):
    """n draws from an equal mixture of N(-2, 0.3^2) and N(2, 0.3^2), as a column."""
    return (rng.choice(MODES, size=n) + 0.3 * rng.standard_normal(n)).astype(np.float32)[:, None]


def perceptron(activation=None):
    return tf.keras.Sequential([tf.keras.layers.Dense(32, activation="relu"),
                                tf.keras.layers.Dense(32, activation="relu"),
                                tf.keras.layers.Dense(1, activation=activation)])


def train_toy_gan(run_seed, steps, batch_size=128):
    """Alternate one discriminator and one generator step (non-saturating loss) per batch."""
    tf.keras.utils.set_random_seed(run_seed)
    rng = np.random.default_rng(run_seed)
    generator, discriminator = perceptron(), perceptron()   # D outputs a logit
    generator.build((None, 1))
    discriminator.build((None, 1))
    g_opt = tf.keras.optimizers.Adam(1e-3, beta_1=0.5)
    d_opt = tf.keras.optimizers.Adam(1e-3, beta_1=0.5)
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    real_batches = tf.constant(sample_data(rng, steps * batch_size).reshape(steps, batch_size, 1))
    latent_batches = tf.constant(rng.standard_normal((steps, batch_size, 1)).astype(np.float32))

    @tf.function
    def train():  # the whole loop runs inside TensorFlow, without a Python call per step
        for i in tf.range(steps):
            with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
                real_logit = discriminator(real_batches[i])
                fake_logit = discriminator(generator(latent_batches[i]))
                d_loss = (bce(tf.ones_like(real_logit), real_logit)
                          + bce(tf.zeros_like(fake_logit), fake_logit))
                g_loss = bce(tf.ones_like(fake_logit), fake_logit)
            d_opt.apply_gradients(zip(d_tape.gradient(d_loss, discriminator.trainable_variables),
                                      discriminator.trainable_variables))
            g_opt.apply_gradients(zip(g_tape.gradient(g_loss, generator.trainable_variables),
                                      generator.trainable_variables))

    train()
    samples = generator(rng.standard_normal((4000, 1)).astype(np.float32)).numpy().ravel()
    return samples, discriminator


grid = np.linspace(-4, 4, 200, dtype=np.float32)[:, None]
fakes, d_curves, rows = {}, {}, []
for run in range(toy["runs"]):
    samples, discriminator = train_toy_gan(seed + run, toy["steps"])
    title = f"seed {seed + run}"
    fakes[title] = samples
    d_curves[title] = tf.sigmoid(discriminator(grid)).numpy().ravel()
    near = np.abs(samples[:, None] - MODES[None, :]).min(axis=1) < 0.9
    right = (samples > 0).mean()
    rows.append([title, f"{near.mean():.2f}", f"{1 - right:.2f}", f"{right:.2f}"])
markdown_table(["GAN", "share of samples near a mode", "share left (x < 0)", "share right (x > 0)"],
               rows)

# %% mystnb={"figure": {"name": "fig-toy-gans", "caption": "Toy GANs that differ only in their seed: histograms of real data (grey) and generated samples (blue), and the discriminator's output $D(x)$ (red). A run whose samples all fall on one side has collapsed onto one mode."}}
plots.gan_samples_1d(sample_data(np.random.default_rng(seed), 4000), fakes, grid.ravel(), d_curves);

# %% [markdown]
# The table says, for each run, how the samples are shared between the two modes (the data put
# half of their mass on each side). A run with nearly everything on one side is a mode collapse:
# the generator produces plausible samples of one kind only. Whether and how often it happens
# depends on the seed, the budget and the architecture, which is what makes GAN training fragile.
#
# ## Deep convolutional GANs and batch normalization
#
# For images, the thesis follows the DCGAN guidelines {cite:p}`radford2016`: replace pooling by
# strided convolutions (the network learns its own downsampling and upsampling), avoid dense
# hidden layers, and use **batch normalization** {cite:p}`ioffe2015` in both networks, which was
# found to be important against mode collapse.
#
# Batch normalization standardizes each feature $k$ of a layer's input over the current
# mini-batch and then rescales it with two learned parameters:
#
# $$
# \hat{x}^{(k)} = \frac{x^{(k)} - \mu_B^{(k)}}{\sqrt{\sigma_B^{2\,(k)} + \varepsilon}}, \qquad
# y^{(k)} = \gamma^{(k)} \hat{x}^{(k)} + \beta^{(k)},
# $$ (eq-batch-norm)
#
# where $\mu_B$ and $\sigma_B^2$ are the batch mean and variance. (For convolutional layers the
# statistics and parameters are shared over all positions of a feature map.) It keeps the scale
# of activations stable while earlier layers change, which makes deep networks easier to train;
# $\gamma$ and $\beta$ let the network undo the standardization where that helps.
#
# At inference time, $\mu_B$ and $\sigma_B^2$ are replaced by running averages, and the layer
# becomes a fixed affine map with slope $\gamma^{(k)} / \sqrt{\sigma^{2\,(k)} + \varepsilon}$ on
# feature $k$. A feature that varies little in training gets a large slope, so batch
# normalization can amplify small input changes a lot. That is why Lipschitz-constrained networks
# cannot use it ({ref}`chap-lipschitz`), and why the thesis's Lipschitz GANs train without it.

# %%
rng = np.random.default_rng(seed)
features = rng.normal(0, 1, size=(256, 3)) * np.array([100.0, 1.0, 0.01])  # three scales
batch_norm = tf.keras.layers.BatchNormalization(momentum=0.0, epsilon=1e-5)
standardized = batch_norm(features.astype(np.float32), training=True).numpy()
slopes = (batch_norm.gamma / tf.sqrt(batch_norm.moving_variance + batch_norm.epsilon)).numpy()
markdown_table(["feature", "input std", "output mean", "output std", "inference slope"],
               [[k, f"{features[:, k].std():.3g}", f"{standardized[:, k].mean():.1e}",
                 f"{standardized[:, k].std():.3f}", f"{slopes[k]:.3g}"] for k in range(3)])

# %% [markdown]
# After one training-mode call (with `momentum=0`, the running statistics are those of this
# batch), every feature has mean 0 and standard deviation close to 1, and the feature with the
# smallest spread is multiplied by the largest slope at inference.
#
# ## AnoGAN: searching the latent space
#
# AnoGAN trains a GAN on normal data only. To score a test image $x$ it looks for the latent code
# whose image is closest to $x$, by gradient descent on $z$ with the generator and discriminator
# fixed {cite:p}`schlegl2017`. The loss has two parts. The **residual loss** compares images,
#
# $$
# \mathcal{L}_R(z) = \sum \big| x - G(z) \big|,
# $$ (eq-anogan-residual)
#
# and the **discrimination loss** compares the two images' features at an intermediate layer $f$
# of the discriminator (*feature matching*, {cite:t}`salimans2016`),
#
# $$
# \mathcal{L}_D(z) = \sum \big| f(x) - f(G(z)) \big| .
# $$ (eq-anogan-discrimination)
#
# The search minimizes their weighted sum, and the value it ends with is the anomaly score:
#
# $$
# \mathcal{L}(z) = (1 - \lambda)\, \mathcal{L}_R(z) + \lambda\, \mathcal{L}_D(z), \qquad
# s(x) = \mathcal{L}(z_\Gamma),
# $$ (eq-anogan-loss)
#
# where $z_\Gamma$ is the code after $\Gamma$ steps ($\Gamma = 500$ and $\lambda = 0.1$ in the
# original). A normal image has a close preimage and gets a small score; the generator cannot
# produce an anomaly, so its best approximation stays far away.
#
# The search costs $\Gamma$ forward and backward passes through the generator *per test image*,
# which made AnoGAN by far the slowest detector in the thesis: one image at a time, the CIFAR-10
# test set did not finish in two weeks. The searches for different images are independent,
# though, so a whole batch can be searched at once, with a latent tensor of shape
# `(batch, latent_dim)` and one optimizer, and the cost per image drops by the batch size.
#
# ### A generator with a known range
#
# To watch the search without first training a GAN, we use a generator whose range we know: a
# linear map fitted by principal component analysis to the normal training images,
#
# $$
# G(z) = \mu + U \operatorname{diag}(\sigma)\, z ,
# $$ (eq-linear-generator)
#
# with $\mu$ the mean image, $U$ the leading `latent_dim` principal directions and $\sigma$ the
# standard deviations along them, so that $z \sim \mathcal{N}(0, I)$ produces images with the
# right spread. Every image in its range is reachable, and nothing else is. As the feature map $f$
# we take a fixed random layer, $f(x) = \operatorname{relu}(A x)$ with a Gaussian matrix $A$, a
# stand-in for a trained discriminator's intermediate layer. The images use the GAN scaling to
# $[-1, 1]$.

# %%
split = one_vs_rest("mnist", normal_class, scaling="tanh", train_size=budget.train_size,
                    test_size=budget.anogan_test_size, seed=seed)
x_train = split.x_train.reshape(len(split.x_train), -1)
x_test = split.x_test.reshape(len(split.x_test), -1).astype(np.float32)
print(split)

pca = PCA(n_components=latent_dim, svd_solver="randomized", random_state=seed).fit(x_train)
basis = pca.components_.T * np.sqrt(pca.explained_variance_)   # U diag(sigma)
generator_mean, generator_basis = tf.constant(pca.mean_, tf.float32), tf.constant(basis, tf.float32)
feature_matrix = tf.constant(np.random.default_rng(seed).normal(0, 1 / np.sqrt(x_train.shape[1]),
                                                                (x_train.shape[1], 64)), tf.float32)


def generate(z):
    """The linear generator of eq. (eq-linear-generator), for a batch of codes."""
    return generator_mean + tf.matmul(z, generator_basis, transpose_b=True)


def features(x):
    return tf.nn.relu(tf.matmul(x, feature_matrix))


def anogan_loss(x, z):
    """Per-image AnoGAN loss: (1 - lambda) residual + lambda feature-matching term."""
    fake = generate(z)
    residual = tf.reduce_sum(tf.abs(x - fake), axis=1)
    discrimination = tf.reduce_sum(tf.abs(features(x) - features(fake)), axis=1)
    return (1 - feature_weight) * residual + feature_weight * discrimination


def latent_search(x, steps, learning_rate=0.05):
    """Search a code for every image of the batch at once; return final codes and loss history."""
    z = tf.Variable(tf.random.stateless_normal((len(x), latent_dim), seed=(seed, 1)))
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    x = tf.constant(x)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            losses = anogan_loss(x, z)
            total = tf.reduce_sum(losses)  # the images' searches are independent
        optimizer.apply_gradients([(tape.gradient(total, z), z)])
        return losses

    history = [step().numpy() for _ in range(steps)]
    history.append(anogan_loss(x, z).numpy())
    return z.numpy(), np.array(history)


# %% [markdown]
# First, a sanity check: targets that lie *in* the generator's range, made from known codes $z^*$.
# Then the real test: normal and anomalous test images. All of them are searched in one batch,
# for the profile's number of steps (the thesis used 500).

# %%
steps = budget.latent_steps
true_codes = np.random.default_rng(seed + 1).standard_normal((64, latent_dim)).astype(np.float32)
in_range = generate(true_codes).numpy()
targets = np.concatenate([in_range, x_test])
codes, history = latent_search(targets, steps)
groups = {"in range (made by G)": slice(0, len(in_range)),
          "normal test images": len(in_range) + np.flatnonzero(split.y_test == 0),
          "anomalous test images": len(in_range) + np.flatnonzero(split.y_test == 1)}
code_error = (np.linalg.norm(codes[:len(in_range)] - true_codes, axis=1)
              / np.linalg.norm(true_codes, axis=1))
print(f"{len(targets)} images searched in one batch, {steps} steps; relative error of the "
      f"recovered codes for in-range targets: median {np.median(code_error):.3f}")

# %% mystnb={"figure": {"name": "fig-latent-search", "caption": "AnoGAN loss during one batched latent search (median and quartiles per group, log scale). Targets in the generator's range are matched almost exactly; anomalous images keep a much larger loss than normal ones."}}
plots.latent_search_curves({name: history[:, index] for name, index in groups.items()});

# %%
scores = history[-1, len(in_range):]
closest = generate(codes[len(in_range):]).numpy()
normal_idx = np.flatnonzero(split.y_test == 0)[:8]
anomalous_idx = np.flatnonzero(split.y_test == 1)[:8]
markdown_table(["group", "median final loss"],
               [[name, f"{np.median(history[-1, index]):.2f}"] for name, index in groups.items()]
               + [["ROC-AUC of the final loss as anomaly score",
                   f"{roc_auc(split.y_test, scores):.3f}"]])

# %% mystnb={"figure": {"name": "fig-latent-search-images", "caption": "Test images and the closest images the linear generator can make, as found by the search. Anomalies are matched by normal-looking shapes."}}
plots.image_rows({"normal: input": x_test[normal_idx],
                  "normal: G(z)": closest[normal_idx],
                  "anomalous: input": x_test[anomalous_idx],
                  "anomalous: G(z)": closest[anomalous_idx]}, value_range=(-1, 1));

# %% [markdown]
# The search works as AnoGAN intends: it recovers codes for images the generator can make, and
# anomalies keep a large residual because no code produces them. A trained GAN's generator is
# nonlinear and its range is only approximately the set of normal images, but the mechanism is
# the same. It also shows why mode collapse breaks AnoGAN: a collapsed generator produces the same
# image for every $z$, the search cannot move its output, and the score reduces to the distance
# from one fixed image.
#
# Encoder-based successors avoid the search altogether: f-AnoGAN {cite:p}`schlegl2019` trains an
# encoder that maps an image to its code in one pass, and EGBAD {cite:p}`zenati2018` learns the
# encoder together with the GAN.
#
# ## Summary
#
# * A GAN trains a generator and a discriminator against each other {eq}`eq-gan-minmax`; the
#   generator wins when it reproduces the data distribution. Training can fail by mode collapse.
# * Batch normalization {eq}`eq-batch-norm` standardizes activations over a batch; at inference it
#   is an affine map whose slope can be large, so Lipschitz networks do without it.
# * AnoGAN scores an image by how well the generator can reproduce it, found by gradient descent on
#   the latent code {eq}`eq-anogan-loss`. Searching a whole batch at once makes it affordable.
#
# ## Exercises
#
# 1. Set `feature_weight` to 0 and to 1 (papermill `-p feature_weight 1.0`). How does the ROC-AUC of
#    the search change? What does the random feature map $f$ measure that the residual does not?
# 2. Increase `latent_dim`. Explain the effect on the in-range targets, on normal test images and
#    on anomalies, in terms of the generator's range.
# 3. The thesis notes that a generator trained for too long against a fixed discriminator tends
#    to collapse. Give the toy GAN several generator steps per discriminator step and train more
#    seeds. How often do the runs collapse onto one mode now?

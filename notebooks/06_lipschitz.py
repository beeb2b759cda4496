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
# (chap-lipschitz)=
# # Lipschitz Networks
#
# {ref}`chap-robustness` showed that a bound on a network's Lipschitz constant turns every margin
# into a certified radius. This chapter shows how such a bound is built into a network. The plan
# is simple: bound every layer, and multiply. Each step of the plan has a practical tool: power
# iteration for the spectral norm of a weight matrix, Björck orthonormalization to make *all*
# singular values equal to one, and activations that preserve gradient norms. These are the
# ingredients of the deel-lip library {cite:p}`serrurier2021`, which the thesis uses to build its
# Lipschitz detectors, and which closes the chapter.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training
lipschitz_constant = 2.0  # the constant K of the Lipschitz network built in this chapter

# %%
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2, see the introduction)
import numpy as np
import tensorflow as tf
from scipy.special import binom

from adlip import plots
from adlip.tables import markdown_table
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound
from adlip.profiles import get_profile

budget = get_profile(profile)
rng = np.random.default_rng(seed)

# %% [markdown]
# ## The Lipschitz property
#
# A function $f : \mathbb{R}^n \to \mathbb{R}^m$ is **$L$-Lipschitz** (with respect to the Euclidean
# norm) if
#
# $$
# \|f(x) - f(y)\|_2 \le L\, \|x - y\|_2 \quad \text{for all } x, y \in \mathbb{R}^n ,
# $$ (eq-lipschitz)
#
# and the smallest such $L$ is its Lipschitz constant $L(f)$. The definition can be restricted to
# inputs from a bounded set (a *local* constant). For a differentiable $f$ the constant is the
# largest spectral norm of its Jacobian,
#
# $$
# L(f) = \sup_x \big\| J_f(x) \big\|_2 ,
# $$ (eq-lipschitz-jacobian)
#
# where the spectral norm of a matrix is its largest singular value,
#
# $$
# \|W\|_2 = \sigma_{\max}(W) = \max_{\xi \ne 0} \frac{\|W \xi\|_2}{\|\xi\|_2} .
# $$ (eq-spectral-norm)
#
# Other norms give other constants: in $\ell_\infty$, for instance, the matrix norm is the largest
# absolute row sum. deel-lip and this book use the Euclidean norm throughout.
#
# Computing $L(f)$ exactly for a neural network is NP-hard {cite:p}`virmaux2018`, so the practical
# route is an upper bound that holds by construction. Composition makes this easy: if $f$ is
# $L(f)$-Lipschitz and $g$ is $L(g)$-Lipschitz, then
#
# $$
# \|g(f(x)) - g(f(y))\|_2 \le L(g)\, \|f(x) - f(y)\|_2 \le L(g)\, L(f)\, \|x - y\|_2 ,
# $$ (eq-lipschitz-composition)
#
# so a network that alternates linear layers $W_k$ and activations $\varphi_k$ satisfies
#
# $$
# L(f) \le \prod_{k} L(\varphi_k)\, \|W_k\|_2 .
# $$ (eq-lipschitz-product)
#
# ReLU, leaky ReLU (with slope at most 1), sigmoid and tanh are 1-Lipschitz, and biases do not
# change a constant. What remains is the spectral norm of each weight matrix.
#
# ## The spectral norm by power iteration
#
# Power iteration finds the largest singular value without a full singular value decomposition.
# Starting from a random vector $u_0$, it repeats
#
# $$
# u_{k+1} = \frac{W^\top W u_k}{\|W^\top W u_k\|_2}, \qquad \sigma_k = \|W u_k\|_2 .
# $$ (eq-power-iteration)
#
# Each step multiplies the component of $u$ along the top right singular vector by $\sigma_1^2$ and
# every other component by a smaller factor, so $u_k$ turns towards the top singular vector at the
# rate $(\sigma_2 / \sigma_1)^{2k}$, and $\sigma_k$ approaches $\sigma_1$ from below. We compare it with
# NumPy's exact value on two matrices of the same size, one whose top two singular values are far
# apart and one where they are close.


# %%
def power_iteration(w, iterations, seed=0):
    """Estimates of the largest singular value of w after each power-iteration step."""
    u = np.random.default_rng(seed).standard_normal(w.shape[1])
    estimates = []
    for _ in range(iterations):
        u = w.T @ (w @ u)
        u /= np.linalg.norm(u)
        estimates.append(np.linalg.norm(w @ u))
    return np.array(estimates)


def matrix_with_spectrum(singular_values, shape, seed=0):
    """A random matrix with the given singular values (random orthonormal singular vectors)."""
    generator = np.random.default_rng(seed)
    left, _ = np.linalg.qr(generator.standard_normal((shape[0], len(singular_values))))
    right, _ = np.linalg.qr(generator.standard_normal((shape[1], len(singular_values))))
    return left @ np.diag(singular_values) @ right.T


tail = np.linspace(0.5, 0.1, 127)         # the remaining singular values
matrices = {r"$\sigma_2 / \sigma_1 = 0.5$": matrix_with_spectrum(np.r_[1.0, tail], (256, 128), seed),
            r"$\sigma_2 / \sigma_1 = 0.95$": matrix_with_spectrum(np.r_[1.0, 0.95, tail[1:]],
                                                                (256, 128), seed)}
errors = {}
for name, w in matrices.items():
    exact = np.linalg.svd(w, compute_uv=False)[0]
    errors[name] = np.abs(power_iteration(w, 40, seed) - exact) / exact

# %% mystnb={"figure": {"name": "fig-power-iteration", "caption": "Relative error of the power-iteration estimate of the spectral norm against the exact value from a singular value decomposition. The error shrinks geometrically, at a rate set by the gap between the two largest singular values."}}
plots.convergence(errors, ylabel=r"relative error of $\sigma_k$");

# %% [markdown]
# During training, the weights change only a little per step, so deel-lip keeps the vector $u$
# from one step to the next and needs very few power iterations per step.
#
# Dividing each weight matrix by its spectral norm (**spectral normalization**
# {cite:p}`miyato2018`) makes every layer 1-Lipschitz, and {eq}`eq-lipschitz-product` then bounds
# the whole network. Let us check the bound against the lower bounds of
# {ref}`chap-robustness` on a random three-layer network, before and after normalization.


# %%
def random_network(normalize, width=256, seed=0):
    """A random 784-256-256-10 ReLU network, optionally with spectrally normalized kernels."""
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([tf.keras.layers.Dense(width, activation="relu"),
                                 tf.keras.layers.Dense(width, activation="relu"),
                                 tf.keras.layers.Dense(10)])
    model.build((None, 784))
    if normalize:
        for layer in model.layers:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel / np.linalg.norm(kernel, 2), bias])
    return model


probe = rng.uniform(0, 1, size=(512, 784)).astype(np.float32)
rows = []
for normalize in (False, True):
    model = random_network(normalize, seed=seed)
    product = np.prod([np.linalg.norm(layer.get_weights()[0], 2) for layer in model.layers])
    pairs = lipschitz_lower_bound(model, probe, rounds=budget.lip_rounds,
                                  pairs_per_round=budget.lip_pairs_per_round, seed=seed)
    ascent = lipschitz_gradient_ascent(model, probe, starts=budget.ascent_starts,
                                       steps=budget.ascent_steps, seed=seed)
    rows.append(["spectrally normalized" if normalize else "standard initialization",
                 f"{product:.3f}", f"{pairs.value:.3f}", f"{ascent.value:.3f}"])
markdown_table(["random network", "upper bound (product)", "lower bound (random pairs)",
                "lower bound (gradient ascent)"], rows)

# %% [markdown]
# The true constant lies between the lower and the upper bounds. After normalization the upper
# bound is one by construction, and no pair of inputs can show a larger ratio. Convolutions need
# one more step: a convolution's matrix applies the kernel at many overlapping positions, so its
# spectral norm can exceed that of the kernel reshaped to a matrix; deel-lip multiplies the
# normalized kernel by a correction factor that depends on the kernel size and stride.
#
# ## Gradient norm preservation
#
# A network that is 1-Lipschitz by a product of per-layer bounds has a training problem. Back
# propagation through a layer $y = f(x)$ multiplies the gradient by the transposed Jacobian, so
#
# $$
# \|\nabla_x \mathcal{L}\|_2 = \big\| J_f(x)^\top \nabla_y \mathcal{L} \big\|_2
#   \le L(f)\, \|\nabla_y \mathcal{L}\|_2 \le \|\nabla_y \mathcal{L}\|_2 .
# $$ (eq-gradient-attenuation)
#
# Whenever the inequality is strict, the gradient shrinks on its way back, and after many layers
# the first layers hardly learn: **gradient norm attenuation** {cite:p}`anil2019,li2019`. A layer
# avoids it if it is *gradient norm preserving* (GNP): $\|J^\top g\|_2 = \|g\|_2$ for every
# gradient $g$ it can receive. For a linear layer this means that all singular values of $W$ are
# one, that is, $W$ is orthogonal (or has orthonormal rows or columns).
#
# ### Björck orthonormalization
#
# Björck and Bowie's iteration {cite:p}`bjorck1971` moves a matrix towards the closest matrix with
# orthonormal columns. With $Q_k = I - W_k^\top W_k$ it computes
#
# $$
# W_{k+1} = W_k \Big( I + \sum_{i=1}^{p} (-1)^i \binom{-1/2}{i}\, Q_k^{\,i} \Big),
# $$ (eq-bjorck)
#
# a truncated series for $W_k (W_k^\top W_k)^{-1/2}$; the order $p$ trades work per iteration for
# the number of iterations. It converges when all singular values of the starting matrix are at
# most one, which is why it is applied after spectral normalization. With $p = 1$ the update is
# $W_{k+1} = \tfrac{3}{2} W_k - \tfrac{1}{2} W_k W_k^\top W_k$, which is deel-lip's update with its
# default $\beta = 1/2$.


# %%
def bjorck(w, iterations, order=1):
    """Björck orthonormalization; returns the singular values after every iteration."""
    coefficients = [(-1) ** i * binom(-0.5, i) for i in range(1, order + 1)]
    history = [np.linalg.svd(w, compute_uv=False)]
    identity = np.eye(w.shape[1])
    for _ in range(iterations):
        q = identity - w.T @ w
        series, power = identity.copy(), identity.copy()
        for coefficient in coefficients:
            power = power @ q
            series += coefficient * power
        w = w @ series
        history.append(np.linalg.svd(w, compute_uv=False))
    return w, np.array(history)


w = rng.standard_normal((128, 64))
w /= np.linalg.norm(w, 2)               # spectral normalization first
orthonormal, history = bjorck(w, 15)
left, _, right_t = np.linalg.svd(w, full_matrices=False)
print(f"after {len(history) - 1} iterations: singular values in "
      f"[{history[-1].min():.6f}, {history[-1].max():.6f}]; distance to the closest orthonormal "
      f"matrix U V^T: {np.linalg.norm(orthonormal - left @ right_t):.2e}")

# %% mystnb={"figure": {"name": "fig-bjorck", "caption": "All 64 singular values of a spectrally normalized random $128 \\times 64$ matrix during Björck orthonormalization of order $p = 1$. They start spread over $(0, 1]$ and converge to 1; small singular values need the most iterations."}}
plots.singular_value_paths(history);

# %% [markdown]
# The iteration costs matrix products with $W$, so deel-lip runs it in every training step; for
# large layers that cost dominates training (the implementation part of the book measures it).
#
# ### Activations that preserve gradient norms
#
# Orthogonal weights are not enough if the activation loses gradient. The Jacobian of a ReLU is
# diagonal with entries 0 and 1: every unit with a negative input drops its share of the gradient.
# **GroupSort** {cite:p}`anil2019` instead sorts the units within groups; with groups of two
# (*MaxMin*) it maps $(a, b)$ to $(\max(a, b), \min(a, b))$. Its Jacobian is a permutation matrix,
# so it is 1-Lipschitz *and* preserves gradient norms. To see the difference, we back-propagate a
# unit-norm gradient through a stack of random orthogonal layers, once with ReLU and once with
# MaxMin, and record its norm after each layer.


# %%
def relu(v):
    return np.maximum(v, 0), (v > 0).astype(float)


def max_min(v):
    """GroupSort with groups of two; returns the output and the permutation it applied."""
    pairs = v.reshape(-1, 2)
    swap = pairs[:, 0] < pairs[:, 1]
    order = np.where(swap[:, None], [1, 0], [0, 1]) + 2 * np.arange(len(pairs))[:, None]
    return v[order.ravel()], order.ravel()


def gradient_norms_through(activation, depth, width=128, seed=0):
    """Norm of a unit gradient back-propagated through `depth` orthogonal layers + activation."""
    generator = np.random.default_rng(seed)
    weights = [np.linalg.qr(generator.standard_normal((width, width)))[0] for _ in range(depth)]
    v, backward = generator.standard_normal(width), []
    for w in weights:                      # forward pass, remembering each activation's Jacobian
        v, jacobian = activation(w @ v)
        backward.append((w, jacobian))
    g = generator.standard_normal(width)
    g /= np.linalg.norm(g)
    norms = [1.0]
    for w, jacobian in reversed(backward):
        if activation is max_min:          # J^T g for a permutation: undo it
            undone = np.empty_like(g)
            undone[jacobian] = g
            g = undone
        else:                              # diagonal Jacobian
            g = jacobian * g
        g = w.T @ g
        norms.append(np.linalg.norm(g))
    return np.array(norms)


depth = 20
norms = {"ReLU": gradient_norms_through(relu, depth, seed=seed),
         "MaxMin (GroupSort of size 2)": gradient_norms_through(max_min, depth, seed=seed)}

# %% mystnb={"figure": {"name": "fig-gradient-norms", "caption": "Norm of a back-propagated gradient through layers with orthogonal weights. With ReLU, each layer discards the gradient of its inactive units and the norm decays geometrically; with MaxMin it stays exactly 1."}}
plots.gradient_norms(np.arange(depth + 1), norms);

# %% [markdown]
# With ReLU about half of the units are inactive at each layer, so the norm falls by roughly a
# factor $\sqrt{2}$ per layer. The thesis's Lipschitz detectors keep the leaky ReLU of the
# standard models (1-Lipschitz, but not gradient norm preserving); its chapter on future work
# names full gradient norm preservation as the first improvement to try.
#
# ## A first look at deel-lip
#
# deel-lip {cite:p}`serrurier2021` packages these tools as Keras layers. `SpectralDense` and
# `SpectralConv2D` keep an unconstrained kernel as the trainable variable and, in every training
# step, compute the kernel actually used: spectral normalization by power iteration, then Björck
# orthonormalization, then a scale factor. A `deel.lip.model.Sequential` with `k_coef_lip=K` splits
# the constant $K$ evenly over its $n$ Lipschitz layers, $K^{1/n}$ each; deel-lip's activations
# such as `GroupSort2` count as Lipschitz layers too and scale their output by their share. Two
# practical details matter (the implementation part of the book tests both): a model should be
# created *without* an input shape and built afterwards, because building at construction time
# can lock the per-layer factor at one; and the normalized kernel used for inference is refreshed
# only in a training-mode call, so a freshly built model is called once in training mode before
# it is used.

# %%
from deel.lip.activations import GroupSort2
from deel.lip.layers import LipschitzLayer, SpectralDense
from deel.lip.model import Sequential as LipschitzSequential

tf.keras.utils.set_random_seed(seed)
lipschitz_model = LipschitzSequential([SpectralDense(64), GroupSort2(),
                                       SpectralDense(32), GroupSort2(),
                                       SpectralDense(10)], k_coef_lip=lipschitz_constant)
lipschitz_model.build((None, 784))
lipschitz_model(probe[:2], training=True)          # computes the normalized kernels
n_lipschitz = sum(isinstance(layer, LipschitzLayer) for layer in lipschitz_model.layers)
per_layer = lipschitz_constant ** (1 / n_lipschitz)
print(f"{n_lipschitz} Lipschitz layers; each gets K^(1/{n_lipschitz}) = {per_layer:.4f}")
markdown_table(["layer", "kernel shape", "smallest singular value", "largest singular value"],
               [[layer.name, tuple(layer.wbar.shape), f"{s.min():.4f}", f"{s.max():.4f}"]
                for layer in lipschitz_model.layers if isinstance(layer, SpectralDense)
                for s in [np.linalg.svd(layer.wbar.numpy(), compute_uv=False)]])

# %% [markdown]
# Every kernel has all its singular values at the per-layer factor $K^{1/n}$: the layers are
# scaled orthonormal maps. With the two GroupSort layers scaled by the same factor, the product
# bound is $K$, and, since orthonormal kernels and GroupSort preserve norms, a gradient ascent on
# the ratio $\|f(x) - f(y)\| / \|x - y\|$ should come close to it:

# %%
measured = lipschitz_gradient_ascent(lipschitz_model, probe, starts=budget.ascent_starts,
                                     steps=budget.ascent_steps, seed=seed)
print(f"product bound K = {lipschitz_constant}; "
      f"largest ratio found by gradient ascent: {measured.value:.4f}")

# %% [markdown]
# ## Summary
#
# * The Lipschitz constant of a composition is at most the product of the parts' constants
#   {eq}`eq-lipschitz-product`; for a linear layer it is the spectral norm of its weights.
# * Power iteration {eq}`eq-power-iteration` estimates the spectral norm cheaply; dividing by it
#   makes a layer 1-Lipschitz.
# * Bounded layers can attenuate gradients {eq}`eq-gradient-attenuation`. Orthonormal weights
#   (Björck, {eq}`eq-bjorck`) and sorting activations such as MaxMin preserve gradient norms.
# * deel-lip's layers apply these steps in every training step and distribute a global constant
#   $K$ over the layers.
#
# ## Exercises
#
# 1. Run Björck's iteration with order $p = 2$ and $p = 3$. How many iterations does each need to
#    bring all singular values within $10^{-6}$ of 1, and how many matrix products does that cost?
# 2. Start Björck's iteration from a matrix whose spectral norm is 2, without normalizing it
#    first. What happens, and why?
# 3. Replace `GroupSort2` by `tf.keras.layers.ReLU` in the deel-lip model. How does the largest
#    ratio found by gradient ascent change, and what does that say about the gap between the bound
#    and the actual constant?

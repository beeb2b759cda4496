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
# (chap-robustness)=
# # Adversarial Examples and Robustness
#
# A small, deliberately chosen change to an input can change a neural network's output
# completely, although a person would not notice the change at all {cite:p}`szegedy2014`. Such
# *adversarial examples* are the sharpest form of a general question: how much does a model's
# output move when its input moves a little? For an anomaly detector the question is practical.
# An attacker who wants an anomaly (a fraudulent transaction, a manipulated sensor reading) to
# pass unnoticed needs to lower its score below the threshold, and an attacker who wants to
# cause false alarms needs to raise the score of normal inputs.
#
# This chapter attacks a small MNIST classifier to show how easy that is, distinguishes
# *empirical* from *certified* robustness, and derives the certificate that a bound on the
# Lipschitz constant gives. The next chapter shows how networks are built to have such a bound.

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
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2, see the introduction)
import numpy as np
import tensorflow as tf

from adlip import plots
from adlip.tables import markdown_table
from adlip.data import load_dataset
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound
from adlip.profiles import get_profile

budget = get_profile(profile)
demo = {"smoke": dict(n_train=2000, epochs=2, n_attack=100),
        "quick": dict(n_train=20000, epochs=5, n_attack=500),
        "full": dict(n_train=60000, epochs=10, n_attack=2000)}[profile]
tf.keras.utils.set_random_seed(seed)

# %% [markdown]
# ## A classifier to attack
#
# The victim is a small multilayer perceptron, $784 \to 128 \to 10$ with a ReLU, trained for a few
# epochs to classify MNIST digits with pixel values in $[0, 1]$. Its outputs $f(x) \in
# \mathbb{R}^{10}$ are logits; the predicted class is the largest one.

# %%
(x_train, y_train), (x_test, y_test) = load_dataset("mnist")
rng = np.random.default_rng(seed)
train_idx = rng.choice(len(x_train), demo["n_train"], replace=False)
x_train = x_train[train_idx].reshape(-1, 784).astype(np.float32) / 255.0
y_train = y_train[train_idx]
x_test = x_test.reshape(-1, 784).astype(np.float32) / 255.0

classifier = tf.keras.Sequential([tf.keras.layers.Dense(128, activation="relu"),
                                  tf.keras.layers.Dense(10)])
classifier.compile(optimizer="adam", metrics=["accuracy"],
                   loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
classifier.fit(x_train, y_train, epochs=demo["epochs"], batch_size=128, verbose=0)
_, clean_accuracy = classifier.evaluate(x_test, y_test, verbose=0)
print(f"trained on {len(x_train)} images; clean test accuracy {clean_accuracy:.3f}")

# %% [markdown]
# ## Adversarial examples
#
# Given an input $x$ with true class $t$, an (untargeted) attack looks for a perturbation
# $\delta$ of size at most $\epsilon$ in some norm that changes the prediction:
#
# $$
# \text{find } \delta \text{ with } \|\delta\|_p \le \epsilon
# \text{ and } \arg\max_i f_i(x + \delta) \ne t .
# $$ (eq-adversarial-example)
#
# The budget $\epsilon$ must be small; otherwise one could simply paint another digit. Attacks
# that use the model's gradients are called white-box attacks. The **fast gradient sign method**
# (FGSM) {cite:p}`goodfellow2015` takes one step of size $\epsilon$ in the direction that increases
# the classification loss $\ell$ fastest under the $\ell_\infty$ norm:
#
# $$
# \delta_\text{FGSM} = \epsilon \, \operatorname{sign}\big(\nabla_x \ell(f(x), t)\big).
# $$ (eq-fgsm)
#
# **Projected gradient descent** (PGD) {cite:p}`madry2018` takes many smaller steps and projects
# back onto the allowed set $B_\epsilon(x) = \{x' : \|x' - x\|_p \le \epsilon\}$ after each:
#
# $$
# x^{(k+1)} = \Pi_{B_\epsilon(x)}\Big(x^{(k)} + \alpha\, u\big(\nabla_x \ell(f(x^{(k)}), t)\big)\Big),
# $$ (eq-pgd)
#
# where $u(g) = \operatorname{sign}(g)$ for $\ell_\infty$ and $u(g) = g / \|g\|_2$ for $\ell_2$.
# Both attacks keep the image in $[0, 1]$. Here they are, written for whole batches:

# %%
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
BATCH_OF_IMAGES = tf.TensorSpec([None, 784], tf.float32)  # one trace for every batch size


@tf.function(input_signature=[BATCH_OF_IMAGES, tf.TensorSpec([None], tf.int64)])
def loss_gradient(x, labels):
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = loss_fn(labels, classifier(x))
    return tape.gradient(loss, x)


def project(delta, epsilon, norm):
    """Project each row of delta onto the epsilon-ball of the given norm ("inf" or "2")."""
    if norm == "inf":
        return np.clip(delta, -epsilon, epsilon)
    length = np.linalg.norm(delta, axis=1, keepdims=True)
    return delta * np.minimum(1.0, epsilon / np.maximum(length, 1e-12))


def attack(x, labels, epsilon, norm="inf", steps=1, step_size=None):
    """FGSM (steps=1, norm="inf") or PGD; epsilon may be a scalar or one value per row."""
    epsilon = np.broadcast_to(np.asarray(epsilon, np.float32).reshape(-1, 1), (len(x), 1))
    step_size = epsilon if step_size is None else step_size
    adversarial, labels = x.copy(), tf.constant(labels, tf.int64)
    for _ in range(steps):
        gradient = loss_gradient(tf.constant(adversarial, tf.float32), labels).numpy()
        if norm == "inf":
            direction = np.sign(gradient)
        else:
            length = np.linalg.norm(gradient, axis=1, keepdims=True)
            direction = gradient / np.maximum(length, 1e-12)
        step = project(adversarial + step_size * direction - x, epsilon, norm)
        adversarial = np.clip(x + step, 0, 1).astype(np.float32)
    return adversarial


@tf.function(input_signature=[BATCH_OF_IMAGES])
def predicted_class(x):
    return tf.argmax(classifier(x), axis=1)


def accuracy(x, labels):
    return float(np.mean(predicted_class(tf.constant(x, tf.float32)).numpy() == labels))


# %%
x_attack, y_attack = x_test[:demo["n_attack"]], y_test[:demo["n_attack"]]
epsilons = np.linspace(0, 0.2, 9)
curves = {"FGSM": [accuracy(attack(x_attack, y_attack, e), y_attack) for e in epsilons],
          "PGD, 10 steps": [accuracy(attack(x_attack, y_attack, e, steps=10, step_size=e / 4),
                                     y_attack) for e in epsilons]}

# %% mystnb={"figure": {"name": "fig-attack-accuracy", "caption": "Test accuracy of the small classifier under $\\ell_\\infty$ attacks of growing budget $\\epsilon$ (pixel values lie in $[0, 1]$). PGD, with several projected steps, is the stronger attack."}}
plots.attack_accuracy(epsilons, curves, xlabel=r"$\ell_\infty$ budget $\epsilon$");

# %%
epsilon_shown = 0.1
shown = np.arange(8)
adversarial = attack(x_attack[shown], y_attack[shown], epsilon_shown, steps=10,
                     step_size=epsilon_shown / 4)
predicted = predicted_class(tf.constant(adversarial, tf.float32)).numpy()
markdown_table(["", *range(1, 9)],
               [["true class", *y_attack[shown]], ["prediction after the attack", *predicted]])

# %% mystnb={"figure": {"name": "fig-adversarial-examples", "caption": "Clean test digits, the PGD perturbations (scaled for display) and the perturbed digits, for an $\\ell_\\infty$ budget of 0.1. The table above gives the classifier's predictions for the perturbed digits."}}
plots.image_rows({"clean": x_attack[shown], "perturbation": adversarial - x_attack[shown],
                  "adversarial": adversarial});

# %% [markdown]
# A budget of a tenth of the pixel range is enough to fool the classifier on most digits, and the
# perturbed digits remain perfectly readable. Stronger attacks exist, and so do attacks that need
# no gradients at all (black-box attacks) or that rotate and shift the input instead of adding
# noise.
#
# ## Empirical and certified robustness
#
# *Robustness* is a model's ability to keep its performance when its inputs are perturbed, by
# nature or by an adversary. The curve above measures **empirical robustness**: accuracy under one
# particular attack. It is an *upper bound* on the true robust accuracy, since a stronger attack
# may do better; many proposed defences looked robust until someone tried a different attack. A
# **certified** guarantee is a *lower bound* instead: a proof that no perturbation within the
# budget changes the output, whatever attack produces it.
#
# Robustness is not free. Robust models are more expensive to train, may need more data, and can
# lose accuracy: standard models profit from many weakly predictive features that are easy to
# perturb, and a robust model must give them up {cite:p}`tsipras2019`. In return robust models
# tend to be more interpretable, since their gradients align better with features people see.
# Three families of defences have proven themselves: *input-level* defences that leave the model
# unchanged, such as randomized smoothing {cite:p}`cohen2019`, which averages predictions over
# Gaussian noise; *adversarial training* {cite:p}`madry2018`, which trains on attacked inputs and is
# robust against the attacks it was trained with; and **Lipschitz constraints**, the subject of
# the rest of this book, which bound the effect of *any* perturbation.
#
# ## Certificates from the margin and the Lipschitz constant
#
# A function $f$ is $L$-Lipschitz (in the $\ell_2$ norm) if $\|f(x) - f(x')\|_2 \le L \|x - x'\|_2$ for
# all inputs. For a classifier with logits $f$ and true class $t$, define the **margin**
# {cite:p}`tsuzuku2018`
#
# $$
# M_f(x) = \max\Big(0,\; f_t(x) - \max_{i \ne t} f_i(x)\Big).
# $$ (eq-margin)
#
# A perturbation $\delta$ changes each difference $f_t - f_i$ by at most
# $|\Delta f_t| + |\Delta f_i| \le \sqrt{2}\, \|\Delta f\|_2 \le \sqrt{2}\, L \|\delta\|_2$. So the
# prediction cannot change while
#
# $$
# \|\delta\|_2 < r(x) = \frac{M_f(x)}{\sqrt{2}\, L}.
# $$ (eq-certified-radius)
#
# The thesis states the sufficient condition $2 L \epsilon < M_f(x)$, which certifies a slightly
# smaller radius. The argument does not care how $\delta$ was found: the certificate holds against
# every attack.
#
# The same reasoning certifies an anomaly detector. If the score $s$ is $L$-Lipschitz and the
# threshold is $\tau$, then a normal input with $s(x) < \tau$ cannot be pushed over the threshold,
# and an anomaly with $s(x) > \tau$ cannot be hidden below it, by any perturbation with
#
# $$
# \|\delta\|_2 < \frac{|s(x) - \tau|}{L}.
# $$ (eq-certified-score)
#
# Everything hinges on knowing $L$, or at least an upper bound on it. Computing the exact Lipschitz
# constant of a neural network is NP-hard even for two layers {cite:p}`virmaux2018`, but an upper
# bound is easy: a ReLU is 1-Lipschitz, a linear layer's constant is the spectral norm of its
# weight matrix, and constants multiply under composition ({ref}`chap-lipschitz` gives the
# details). For our classifier:

# %%
(w1, _), (w2, _) = [layer.get_weights() for layer in classifier.layers]
norms = [np.linalg.norm(w, 2) for w in (w1, w2)]
upper_bound = float(np.prod(norms))
lower_pairs = lipschitz_lower_bound(classifier, x_test[:1000], rounds=budget.lip_rounds,
                                    pairs_per_round=budget.lip_pairs_per_round, seed=seed)
lower_ascent = lipschitz_gradient_ascent(classifier, x_test[:1000], starts=budget.ascent_starts,
                                         steps=budget.ascent_steps, seed=seed, domain=(0.0, 1.0))
markdown_table(["estimate of the classifier's Lipschitz constant", "value"],
               [["upper bound: product of the layers' spectral norms",
                 f"{norms[0]:.2f} x {norms[1]:.2f} = {upper_bound:.2f}"],
                ["lower bound: best ratio over random test pairs (the thesis's metric)",
                 f"{lower_pairs.value:.2f}"],
                ["lower bound: gradient ascent on the ratio", f"{lower_ascent.value:.2f}"]])

# %% [markdown]
# The true constant lies between the largest lower bound and the upper bound. With the upper bound
# in {eq}`eq-certified-radius` we get a radius for every correctly classified test digit that no
# attack can beat. We compare it with the smallest $\ell_2$ budget, on a grid, at which the $\ell_2$
# PGD attack succeeds.

# %%
logits = classifier.predict(x_attack, verbose=0)
correct = np.argmax(logits, axis=1) == y_attack
true_logit = logits[np.arange(len(logits)), y_attack]
runner_up = np.where(np.eye(10, dtype=bool)[y_attack], -np.inf, logits).max(axis=1)
certified = (true_logit - runner_up)[correct] / (np.sqrt(2) * upper_bound)

budgets = np.geomspace(0.02, 8.0, 19)
broken_at = np.full(correct.sum(), np.inf)
x_correct, y_correct = x_attack[correct], y_attack[correct]
for epsilon in budgets:   # smallest budget on the grid at which PGD succeeds, per digit
    still = np.isinf(broken_at)
    if not still.any():
        break
    adversarial = attack(x_correct[still], y_correct[still], epsilon, norm="2", steps=10,
                         step_size=epsilon / 4)
    fooled = predicted_class(tf.constant(adversarial, tf.float32)).numpy() != y_correct[still]
    broken_at[np.flatnonzero(still)[fooled]] = epsilon
found = np.isfinite(broken_at)
ratio = broken_at[found] / certified[found]
print(f"{correct.sum()} correctly classified digits; PGD broke {found.sum()} of them within an l2 "
      f"budget of {budgets[-1]}; no certified radius exceeded the attack's radius: "
      f"{bool(np.all(certified[found] <= broken_at[found]))}")
print(f"attack radius / certified radius: median {np.median(ratio):.0f}, "
      f"smallest {ratio.min():.1f}")

# %% mystnb={"figure": {"name": "fig-certified-vs-empirical", "caption": "For each correctly classified test digit: the radius certified by the margin and the product of spectral norms (horizontal) against the smallest $\\ell_2$ budget on a grid at which PGD changed the prediction (vertical). Every point lies above the diagonal: the certificate is valid, but far from tight."}}
plots.certified_vs_empirical(certified[found], broken_at[found]);

# %% [markdown]
# Every certified radius is below the radius at which the attack succeeded, as it must be. The
# printed ratio says how loose the certificate is for this network. The gap has three sources:
# $L$ overestimates the network's constant (compare it with the lower bounds above); the constant
# is global, while an attack only needs the slope near $x$; and the factor $\sqrt{2}$ assumes the
# worst case for two logits at once. Moreover, nothing in standard training asks for large margins
# relative to the constant. Lipschitz-constrained networks change the last point: every layer has
# a known constant by construction, so the bound is part of the design rather than an
# afterthought, and training has to create its margins within that budget.
#
# ## Summary
#
# * Gradient-based attacks such as FGSM {eq}`eq-fgsm` and PGD {eq}`eq-pgd` find imperceptible
#   perturbations that change a standard network's prediction.
# * Accuracy under an attack is an upper bound on robustness; a certificate is a lower bound that
#   holds against every attack.
# * A margin and a Lipschitz bound certify a radius {eq}`eq-certified-radius`; for an anomaly score
#   the distance to the threshold plays the role of the margin {eq}`eq-certified-score`.
# * For an unconstrained network, the product of spectral norms gives valid but very loose
#   certificates.
#
# ## Exercises
#
# 1. Derive {eq}`eq-certified-radius` in detail, and show that the thesis's condition
#    $2L\epsilon < M_f(x)$ implies it.
# 2. Attack an anomaly score instead of a classifier: train the small autoencoder of
#    {ref}`chap-autoencoders` and use PGD to *lower* the reconstruction error of anomalous digits.
#    How large an $\ell_2$ budget hides half of them below the 95 % quantile of the normal scores?
# 3. The thesis's robustness metric is the lower bound from random test pairs. Why can it only
#    ever underestimate the Lipschitz constant, and why does gradient ascent find larger values?

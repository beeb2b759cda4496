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
# (chap-attacks)=
# # Attacks on anomaly scores and their certificates
#
# The thesis measures robustness the way it is usually measured for Lipschitz networks: by an
# estimate of the network's Lipschitz constant. What a user of a detector cares about is one step
# further: can someone who changes an image a little make the detector change its mind? A normal
# image pushed over the threshold is a **false alarm**; an anomaly pushed under it is an
# **evasion**. This chapter attacks every detector of the book, standard and Lipschitz, in both
# directions, and then asks the converse question: for which images can we *prove* that no attack
# of a given size succeeds? The answer comes from the Lipschitz constant of the anomaly *score*
# (not of the network), which we derive for each detector.
#
# The code lives in `adlip.robustness`; this chapter explains it and runs it on MNIST with normal
# class 0 at the profile's budget.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip and the book's tools first
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[book] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"
seed = 0
dataset = "mnist"      # "cifar10" runs the same chapter on CIFAR-10 (see the section on CIFAR-10)
normal_class = 0
results_dir = "results"   # where the run on the other data set is read from (and saved to)
save_results = False      # True: save this run's results for the book (see the section on CIFAR-10)

# %%
import tempfile
import time
from pathlib import Path

import adlip  # noqa: F401  (before TensorFlow: selects Keras 2)
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Markdown, display

from adlip import experiments, robustness
from adlip.book import markdown_table
from adlip.data import CLASS_NAMES, one_vs_rest
from adlip.detectors import DCAE, AnoGAN, DeepSVDD, OneClassHKR
from adlip.studies.hkr import MNIST_BUDGETS
from adlip.experiments import chosen_constant
from adlip.metrics import roc_auc
from adlip.profiles import get_profile

budget = get_profile(profile, dataset=dataset)  # CIFAR-10 has a budget of its own
tf.get_logger().setLevel("ERROR")
chapter_started = time.perf_counter()
# The chapter's own budget per profile, on top of the profile's epochs: training images (the
# quick profile's whole class does not fit this chapter's CPU budget: 2000 of them), test images
# attacked per label (normal / anomalous), PGD steps, the budgets epsilon of each norm in "range
# units" (see the threat model) and the certified radii. AnoGAN gets a smaller share of
# everything, since each of its scores is a latent search: training images, training images
# scored for its threshold, test images for its clean ROC-AUC, attacked images, steps and
# budgets. The smoke run leaves out the Lipschitz AnoGAN (its huge dense generator alone takes
# longer than the smoke budget).
CHAPTER_BUDGET = {
    "smoke": dict(train_size=256, attacked=24, steps=3, l2=(0.0, 0.5, 2.0), linf=(0.0, 0.02, 0.1),
                  radii=np.r_[0, np.geomspace(1e-3, 2, 8)],
                  anogan_lipschitz=False, anogan_train=256, anogan_train_scores=32, anogan_test=50,
                  anogan_attacked=4, anogan_steps=2, anogan_l2=(0.0, 2.0), anogan_linf=(0.0, 0.1)),
    "quick": dict(train_size=2000, attacked=100, steps=10, l2=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                  linf=(0.0, 0.01, 0.02, 0.05, 0.1), radii=np.r_[0, np.geomspace(1e-3, 4, 40)],
                  anogan_lipschitz=True, anogan_train=2000, anogan_train_scores=100, anogan_test=60,
                  anogan_attacked=10, anogan_steps=5, anogan_l2=(0.0, 1.0, 4.0), anogan_linf=(0.0, 0.02, 0.1)),
    "full": dict(train_size=None, attacked=500, steps=50, l2=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                 linf=(0.0, 0.01, 0.02, 0.05, 0.1), radii=np.r_[0, np.geomspace(1e-3, 4, 80)],
                 anogan_lipschitz=True, anogan_train=None, anogan_train_scores=500, anogan_test=1000,
                 anogan_attacked=100, anogan_steps=20, anogan_l2=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                 anogan_linf=(0.0, 0.01, 0.02, 0.05, 0.1)),
}[budget.name]
if budget.train_size is not None:   # a data set whose profile budget is smaller (CIFAR-10) keeps it
    CHAPTER_BUDGET.update({key: min(CHAPTER_BUDGET[key] or budget.train_size, budget.train_size)
                           for key in ("train_size", "anogan_train")})
{k: v for k, v in CHAPTER_BUDGET.items() if k != "radii"}

# %% [markdown]
# ## The threat model
#
# A detector computes an anomaly score $s(x)$ and flags $x$ when $s(x) > \tau$, with $\tau$ the
# detector's `threshold_`: the $0.9$ quantile of its scores on the training data, so that it flags
# about 10% of normal data. The adversary sees the whole detector (white box) and may replace a
# test image $x$ by any $x'$ in
#
# ```{math}
# :label: eq-attack-ball
# B_p(x, \varepsilon) = \{x' : \|x' - x\|_p \le \varepsilon,\ \ell \le x'_i \le h \text{ for every pixel } i\},
# ```
#
# an $L_2$ or $L_\infty$ ball intersected with the box $[\ell, h]$ the images live in. It wants to
# *raise* the score of a normal image above $\tau$ or *lower* the score of an anomaly below it.
# Projected gradient descent (PGD) does both: starting from $x' = x$, repeat
#
# ```{math}
# :label: eq-score-pgd
# x' \leftarrow \Pi_{B_p(x, \varepsilon)}\big(x' \pm \alpha\, u_p(\nabla s(x'))\big),
# \qquad u_2(g) = g / \|g\|_2,\quad u_\infty(g) = \operatorname{sign}(g),
# ```
#
# with the plus sign to raise and the minus sign to lower, $\alpha = 2.5\,\varepsilon / T$ for $T$
# steps, and $\Pi$ the projection onto the ball followed by clipping to the box (clipping towards a
# box that contains $x$ never leaves the ball). The best iterate is kept. A point of a smaller
# ball lies in every larger one, so for each image the worst score found at any budget up to
# $\varepsilon$ counts, the clean image included (the adversary may leave an image alone). We
# start from the clean image rather than from a random point of the ball, as is common for
# classifiers: at the edge of a large ball a random start is noise, which an anomaly score rates
# as anomalous, and it handicaps evasions.
#
# We report, per budget $\varepsilon$, the **attack success rate** (of the images the detector
# classifies correctly, the fraction the attack flips; separately for false alarms and evasions)
# and the **ROC-AUC under attack**: every normal image raised, every anomaly lowered, the ROC-AUC
# of what is left. Budgets are in *range units*: the detectors of the thesis see images scaled so
# that the normal training images span an interval of length 1 (global contrast normalisation,
# `scaling="gcn"`, for the DCAE and Deep SVDD), while AnoGAN and the one-class HKR see pixels in
# $[-1, 1]$ (length 2), so their budgets are doubled. An $L_\infty$ budget of 0.1 is then about a
# tenth of the brightness range per pixel; an $L_2$ budget of 1 is the norm of changing one pixel
# across the whole range, or 100 pixels by a tenth of it. (Global contrast normalisation divides
# each image by its own contrast, so for the first two families one range unit is a slightly
# different number of grey levels per image; standard and Lipschitz variants of a family always
# share units.)
#
# ## Which scores are provably Lipschitz
#
# A detector's score is a function of the image; if it is $L$-Lipschitz in the $L_2$ norm,
# $|s(x') - s(x)| \le L \|x' - x\|_2$, no perturbation of norm $r$ can move the score by more
# than $Lr$. An image whose score lies a margin $|s(x) - \tau|$ away from the threshold therefore
# keeps its label within the **certified radius**
#
# ```{math}
# :label: eq-score-certified-radius
# r(x) = \frac{|s(x) - \tau|}{L}.
# ```
#
# The constant $L$ is that of the *score*, and it is not the constant $K$ of the network. Per
# detector of the book:
#
# * **DCAE.** The score is the norm of the residual, $s(x) = \|x - A(x)\|_2$, with a
#   $K$-Lipschitz autoencoder $A$. By the reverse triangle inequality and then the triangle
#   inequality,
#
#   ```{math}
#   :label: eq-dcae-score-constant
#   |s(x) - s(y)| \le \|(x - A(x)) - (y - A(y))\|_2 \le \|x - y\|_2 + \|A(x) - A(y)\|_2 \le (1 + K)\,\|x - y\|_2 .
#   ```
#
#   The thesis's Lipschitz autoencoders end with an elementwise sigmoid, whose slope is at most
#   $1/4$, after $K$-Lipschitz layers, so $A$ is even $K/4$-Lipschitz and the score is
#   $(1 + K/4)$-Lipschitz. The "1" is the identity inside the residual: however smooth the
#   autoencoder, the score can change as fast as the image. Had the score been the *squared*
#   error (or its mean), it would grow quadratically and have no global constant; adlip's score
#   is the norm (thesis eq. 2.4), so none is needed.
# * **Deep SVDD.** The score is the squared distance $d(x) = \|\phi(x) - c\|_2^2$ (minus $R^2$ for
#   the soft boundary), with a $K$-Lipschitz network $\phi$. The square is not Lipschitz on all of
#   input space, but the distance itself is: $\big|\|\phi(x) - c\| - \|\phi(y) - c\|\big| \le
#   \|\phi(x) - \phi(y)\| \le K\|x - y\|$. Since $\sqrt{s + R^2}$ is an increasing function of the
#   score, it ranks images and decides (at the threshold $\sqrt{\tau + R^2}$) exactly as the score
#   does, and we certify with it:
#
#   ```{math}
#   :label: eq-svdd-certified
#   r(x) = \frac{\big|\sqrt{s(x) + R^2} - \sqrt{\tau + R^2}\big|}{K}.
#   ```
# * **One-class HKR** ({ref}`chap-one-class-hkr`): the score is $-f(x)$ with a 1-Lipschitz $f$,
#   so $L = 1$.
# * **AnoGAN.** The ideal score $\min_z \mathcal{L}(x, z)$ (thesis eq. 2.12) is a minimum of
#   functions of $x$ that share one Lipschitz constant, and is Lipschitz with it; but the L1
#   norms in $\mathcal{L}$ cost a factor up to $\sqrt{784} = 28$ against $L_2$, and, above all,
#   the score adlip computes is the end of a finite search from a fixed start, not the minimum.
#   We claim no constant for it.
# * **Standard networks** have no constant we can prove, so no certificate.
#
# deel-lip normalises its kernels numerically; the tests measure every Lipschitz network of the
# book below $K(1 + 10^{-3})$, and `score_lipschitz_constant` includes that factor, so certified
# radii err on the small side. `tests/test_robustness.py` measures each derived score constant
# from below with `lipschitz_gradient_ascent` and checks that it is never exceeded, and runs PGD
# at each image's own certified radius to check that it never flips a decision.
#
# ### Attacking AnoGAN
#
# AnoGAN's score runs an optimiser, so its gradient in $x$ is not a plain backward pass. We attack
# a surrogate justified by Danskin's theorem: where the minimum of $\mathcal{L}(x, \cdot)$ is
# attained at $z^*$, the gradient of $\min_z \mathcal{L}(x, z)$ is $\nabla_x \mathcal{L}(x,
# z^*)$. The attack keeps one latent vector per image, starts it at the detector's own search
# result for the clean image, moves it a few search steps towards the current adversarial image
# after every attack step (a warm start) and steps along $\nabla_x \mathcal{L}(x', z)$. Success is
# always judged on the real score: the detector's own full search, from its own starting point,
# on the final image.
#
# ## The detectors
#
# All detectors train on the normal class of the data set, at the profile's epochs. The Lipschitz
# constants are the thesis's choices for experiment 2 (section 5.1.1; `chosen_constant`); Deep
# SVDD is pretrained from a DCAE of the same variant, and that pretrained DCAE is the one attacked
# here (its standard variant; the Lipschitz DCAE has its own K). The one-class HKR uses the
# budget of {ref}`chap-one-class-hkr` (a dense 1-Lipschitz network at the quick profile); it has
# no standard counterpart.

# %%
thesis_data = one_vs_rest(dataset, normal_class, scaling="gcn", train_size=CHAPTER_BUDGET["train_size"],
                          test_size=budget.test_size, seed=1234)
tanh_data = one_vs_rest(dataset, normal_class, scaling="tanh", train_size=CHAPTER_BUDGET["train_size"],
                        test_size=budget.test_size, seed=1234)
constants = {name: chosen_constant(dataset, name) for name in ("dcae", "deepsvdd-oc", "anogan")}
print(f"{dataset}, normal class {normal_class} ({CLASS_NAMES[dataset][normal_class]}): "
      f"{len(thesis_data.x_train)} training images, {len(thesis_data.x_test)} test images; K = {constants}")

# %%
common = dict(dataset=dataset, seed=seed, epochs_scale=budget.epochs_scale, verbose=0)
cache = Path(tempfile.mkdtemp(prefix="adlip-attacks-"))   # one pretrained DCAE per variant, shared
detectors, train_seconds = {}, {}


def fit(name, detector, x):
    started = time.perf_counter()
    detectors[name] = detector.fit(x)
    train_seconds[name] = time.perf_counter() - started


def cached_dcae(lipschitz):
    """The DCAE that pretrained Deep SVDD's variant ``lipschitz`` (read back from the shared cache)."""
    for folder in sorted(cache.glob("dcae-*")):
        dcae = DCAE.load(folder)
        if dcae.lipschitz == lipschitz:
            return dcae
    raise ValueError(f"no cached DCAE with lipschitz={lipschitz}")


for variant, k in (("standard", None), ("Lipschitz", constants["deepsvdd-oc"])):
    for objective, short in (("one-class", "oc"), ("soft-boundary", "sb")):
        fit(f"Deep SVDD {short}, {variant}",
            DeepSVDD(lipschitz=k, objective=objective, pretrain_cache_dir=str(cache), **common), thesis_data.x_train)
detectors["DCAE, standard"] = cached_dcae(None)
fit("DCAE, Lipschitz", DCAE(lipschitz=constants["dcae"], **common), thesis_data.x_train)

# %%
gan_train = tanh_data.x_train[:CHAPTER_BUDGET["anogan_train"]]
gan_variants = (("standard", None), ("Lipschitz", constants["anogan"]))
for variant, k in gan_variants[:2 if CHAPTER_BUDGET["anogan_lipschitz"] else 1]:
    fit(f"AnoGAN, {variant}", AnoGAN(lipschitz=k, latent_steps=budget.latent_steps,
                                     train_score_size=CHAPTER_BUDGET["anogan_train_scores"],
                                     orthogonalization=budget.gan_orthogonalization, **common), gan_train)
hkr_options = dict(dict(epochs_scale=budget.epochs_scale), **MNIST_BUDGETS[budget.name])
fit("one-class HKR, Lipschitz", OneClassHKR(dataset=dataset, seed=seed, verbose=0, **hkr_options), tanh_data.x_train)
{name: f"{seconds:.0f} s" for name, seconds in train_seconds.items()}

# %% [markdown]
# The attacked test images: a seeded sample of `attacked` normal and as many anomalous test
# images (AnoGAN: `anogan_attacked` of each), the same images for every detector of a family.
# The box of {eq}`eq-attack-ball` is the range of all training and test images of the scaling.

# %%
def family_of(name):
    return name.split(",")[0]


def attacked_sample(data, per_label, seed):
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.choice(np.flatnonzero(data.y_test == label), per_label, replace=False)
                           for label in (0, 1)])
    return data.x_test[rows], data.y_test[rows]


def setting(name):
    """(images, labels, box, range width) for a detector: its scaling's data and units."""
    tanh = family_of(name) in ("AnoGAN", "one-class HKR")
    data = tanh_data if tanh else thesis_data
    per_label = CHAPTER_BUDGET["anogan_attacked" if family_of(name) == "AnoGAN" else "attacked"]
    x, y = attacked_sample(data, per_label, seed)
    box = (-1.0, 1.0) if tanh else (float(min(data.x_train.min(), data.x_test.min())),
                                    float(max(data.x_train.max(), data.x_test.max())))
    return x, y, box, 2.0 if tanh else 1.0


clean = {}
for name, detector in detectors.items():
    data = tanh_data if family_of(name) in ("AnoGAN", "one-class HKR") else thesis_data
    size = CHAPTER_BUDGET["anogan_test"] if family_of(name) == "AnoGAN" else None   # each score is a search
    rows = np.random.default_rng(seed).permutation(len(data.x_test))[:size]
    clean[name] = roc_auc(data.y_test[rows], detector.decision_function(data.x_test[rows]))

# What the rest of the chapter shows, as plain numbers: the figures and tables below are drawn
# from it, for this run and for the run on the other data set saved at the end.
results = dict(budget=dict(CHAPTER_BUDGET, dataset=dataset, n_test=len(thesis_data.x_test),
                           epochs_scale=budget.epochs_scale),
               detectors={name: dict(k=d.lipschitz, constant=robustness.score_lipschitz_constant(d),
                                     clean_auc=clean[name], train_seconds=train_seconds.get(name),
                                     width=setting(name)[3])
                          for name, d in detectors.items()},
               curves={}, certificates={})


def detector_table(results):
    return markdown_table(
        ["detector", "K", "score constant L", "ROC-AUC (%)", "training (s)"],
        [[name, "-" if d["k"] is None else f"{d['k']:g}", "none" if d["constant"] is None else f"{d['constant']:.4g}",
          f"{100 * d['clean_auc']:.1f}", "-" if d["train_seconds"] is None else f"{d['train_seconds']:.0f}"]
         for name, d in results["detectors"].items()])


detector_table(results)

# %% [markdown]
# *Table: the detectors, their networks' constant K, the derived constant L of the certified
# score ({eq}`eq-dcae-score-constant`, {eq}`eq-svdd-certified`), and the clean ROC-AUC on the
# test set (AnoGAN: `anogan_test` test images drawn with the seed). Budget: the profile's epochs
# (`epochs_scale`), `train_size` training images (AnoGAN: `anogan_train`, its threshold from
# `anogan_train_scores` of them), the profile's test set; the standard DCAE's training time is
# included in the standard Deep SVDD's (it pretrained it).*
#
# ## Attack curves

# %%
started = time.perf_counter()
for name, detector in detectors.items():
    x, y, box, width = setting(name)
    prefix = "anogan_" if family_of(name) == "AnoGAN" else ""
    for norm in robustness.NORMS:
        epsilons = np.asarray(CHAPTER_BUDGET[prefix + norm]) * width
        steps = CHAPTER_BUDGET[prefix + "steps"]
        curve = robustness.attack_curve(detector, x, y, epsilons, norm=norm, steps=steps, domain=box, seed=seed)
        results["curves"].setdefault(name, {})[norm] = curve.to_dict()
attack_seconds = time.perf_counter() - started
print(f"attacks: {attack_seconds:.0f} s")

# %%
STYLE = {"standard": dict(color="tab:red", marker="o"), "Lipschitz": dict(color="tab:blue", marker="s")}


def plot_curves(results, norm):
    names = list(results["detectors"])
    families = list(dict.fromkeys(family_of(name) for name in names))
    figure, axes = plt.subplots(2, len(families), figsize=(2.9 * len(families), 5.2), sharey="row", squeeze=False)
    for column, family in enumerate(families):
        for name in (n for n in names if family_of(n) == family):
            curve, variant = results["curves"][name][norm], name.split(", ")[1]
            budgets = np.asarray(curve["epsilons"]) / results["detectors"][name]["width"]
            axes[0, column].plot(budgets, 100 * np.asarray(curve["success_rate"]), label=variant, **STYLE[variant])
            axes[1, column].plot(budgets, 100 * np.asarray(curve["auc"]), label=variant, **STYLE[variant])
        axes[0, column].set_title(family)
        axes[1, column].set_xlabel(rf"$\varepsilon$ ({norm}, range units)")
    axes[0, 0].set_ylabel("attack success (%)")
    axes[1, 0].set_ylabel("ROC-AUC under attack (%)")
    axes[0, 0].legend()
    figure.tight_layout()
    return figure


figure = plot_curves(results, "l2")

# %% [markdown]
# *Figure: $L_2$ attacks. Top: the share of correctly classified test images that PGD
# {eq}`eq-score-pgd` flips (normal images raised above the threshold, anomalies lowered below it);
# bottom: the ROC-AUC with every normal image raised and every anomaly lowered. One panel per
# family, standard (red) against Lipschitz (blue). Budget: the training of the table above;
# `attacked` normal and as many anomalous test images per detector, `steps` PGD steps (AnoGAN:
# `anogan_attacked`, `anogan_steps` steps each followed by a 10-step warm-started latent search,
# budgets `anogan_l2` and `anogan_linf`), as printed at the top.*

# %%
figure = plot_curves(results, "linf")

# %% [markdown]
# *Figure: the same for $L_\infty$ attacks.*

# %%
def pair_table(results, norm, first, second, budgets):
    """One row per detector: 'first / second' (both in %) of its attack curve at each budget."""
    rows = []
    for name, detector in results["detectors"].items():
        curve, width = results["curves"][name][norm], detector["width"]
        cells = {round(e / width, 6): f"{100 * a:.0f} / {100 * b:.0f}"
                 for e, a, b in zip(curve["epsilons"], curve[first], curve[second])}
        rows.append([name] + [cells.get(round(e, 6), "-") for e in budgets])
    return markdown_table(["detector"] + [f"eps {e:g}" for e in budgets], rows)


def curve_table(results, norm):
    return pair_table(results, norm, "success_rate", "auc", results["budget"][norm])


curve_table(results, "l2")

# %% [markdown]
# *Table: the $L_2$ curves in numbers: attack success rate / ROC-AUC under attack, both in %, per
# budget in range units (budget as in the figure; "-": a budget AnoGAN was not attacked with).*

# %%
curve_table(results, "linf")

# %% [markdown]
# *Table: the same for $L_\infty$.*
#
# The success rate mixes two attacks. Split into its parts, for the $L_2$ budgets:

# %%
pair_table(results, "l2", "false_alarm_rate", "evasion_rate", results["budget"]["l2"][1:])

# %% [markdown]
# *Table: $L_2$ attacks, false alarms / evasions in %: of the normal test images below the
# threshold, the share raised above it, and of the anomalies above it, the share lowered below it
# (budget as in the figures).*
#
# Two things to read off the curves. First, how fast each curve rises: a detector whose scores
# change slowly with the image needs a larger budget to be fooled. Second, the starting point and
# the gaps: an attack only has to cross the *margin* between a score and the threshold, so a
# detector that separates normal and anomalous scores by wide gaps resists longer than one that
# ranks them just as well with narrow gaps. The Lipschitz constraint bounds the slope; it says
# nothing about the gaps, which is why it does not automatically make a detector harder to fool.
#
# At the quick budget the tables say that the DCAE and Deep SVDD, standard or Lipschitz, are
# fooled in both directions on nearly every correctly classified test image within an $L_2$
# budget of one range unit, and within $L_\infty$ budgets of a few hundredths. The constraint does
# not move the curves in one consistent direction: the Lipschitz Deep SVDDs need larger budgets
# than the standard ones for the same success rate, the Lipschitz DCAE smaller ones, and all
# Lipschitz variants start from a lower clean ROC-AUC. Two detectors resist evasion. AnoGAN's
# false alarms succeed at the largest $L_2$ budget, but none of its anomalies was lowered below
# the threshold: either its searched score resists or the Danskin surrogate is too weak an
# attack, and these few images cannot tell the two apart. The one-class HKR's false alarms are
# as easy as the others', but about half of its anomalies resist evasion at every budget here.
# Its score approximates the distance to the normal data, so lowering an anomaly's score means
# moving the image close to a normal digit; its certificates (below) are far too small to prove
# that this resistance is real rather than a failure of PGD. PGD is a heuristic: every curve is
# only a lower bound on what an adversary can do.
#
# ## Certificates
#
# For the Lipschitz detectors with a provable score constant, {eq}`eq-score-certified-radius` gives each
# test image a radius within which no $L_2$ attack can change its label. **Certified accuracy** at
# radius $r$ is the share of test images that are classified correctly *and* have a radius of at
# least $r$; **certified ROC-AUC** is the ROC-AUC after every normal score is raised by $Lr$ and
# every anomalous score lowered by $Lr$, the worst any attack of norm $r$ could do
# ({ref}`chap-one-class-hkr`). Both are lower bounds. The $L_2$ attack gives upper bounds on the
# same quantities (accuracy and ROC-AUC under attack): the truth lies between them.

# %%
TABLE_RADII = (0.01, 0.1)
radii = CHAPTER_BUDGET["radii"]
for name, detector in detectors.items():
    if robustness.score_lipschitz_constant(detector) is None:
        continue
    x, y, box, width = setting(name)
    certificate = robustness.certify(detector, x)
    correct = certificate.predictions == y
    radius = certificate.radius[correct] / width   # of the correctly classified images, in range units
    results["certificates"][name] = dict(
        lipschitz=certificate.lipschitz, accuracy_clean=correct.mean(),
        median_radius=np.median(radius), radius_90=np.quantile(radius, 0.9),
        accuracy=robustness.certified_accuracy(y, certificate.scores, certificate.threshold,
                                               certificate.lipschitz, radii * width),
        auroc=robustness.certified_auroc_curve(y, certificate.scores, certificate.lipschitz, radii * width),
        table_auroc=robustness.certified_auroc_curve(y, certificate.scores, certificate.lipschitz,
                                                     np.asarray(TABLE_RADII) * width))


def plot_certificates(results):
    radii = np.asarray(results["budget"]["radii"])
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for (name, result), color in zip(results["certificates"].items(), plt.cm.tab10.colors):
        attacked = results["curves"][name]["l2"]
        for axis, certified, under_attack in ((axes[0], result["accuracy"], attacked["accuracy"]),
                                              (axes[1], result["auroc"], attacked["auc"])):
            axis.plot(radii, 100 * np.asarray(certified), color=color, label=name)
            axis.plot(results["budget"]["l2"], 100 * np.asarray(under_attack), color=color, linestyle="none",
                      marker="o", markerfacecolor="none")
    for axis, label in zip(axes, ("accuracy (%)", "ROC-AUC (%)")):
        axis.set(xlabel="L2 radius (range units)", ylabel=label, xlim=(0, radii.max()))
        axis.set_xscale("symlog", linthresh=radii[1])   # linear below the smallest positive radius, then logarithmic
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figure


figure = plot_certificates(results)

# %% [markdown]
# *Figure: certified accuracy (left) and certified ROC-AUC (right) against the $L_2$ radius
# (lines, lower bounds), with the accuracy and ROC-AUC under the $L_2$ attack at its budgets
# (open circles, upper bounds), for the detectors whose score has a provable constant; the radius axis is
# logarithmic above the smallest positive radius. Same test images and budget as the attack
# figures.*

# %%
def certificate_table(results):
    rows = [[name, f"{c['lipschitz']:.4g}", f"{100 * c['accuracy_clean']:.1f}", f"{c['median_radius']:.3g}",
             f"{c['radius_90']:.3g}"] + [f"{100 * value:.1f}" for value in c["table_auroc"]]
            for name, c in results["certificates"].items()]
    return markdown_table(["detector", "L", "accuracy (%)", "median certified radius", "90% quantile"]
                          + [f"certified ROC-AUC at r = {r:g} (%)" for r in TABLE_RADII], rows)


certificate_table(results)

# %% [markdown]
# *Table: certificates of the correctly classified attacked test images: median and 90% quantile
# of the certified $L_2$ radius {eq}`eq-score-certified-radius` (range units), and the certified
# ROC-AUC at two small radii. Budget as in the attack figures.*
#
# The certified radii are several times to an order of magnitude smaller than the budgets at
# which the attacks succeed: between the lines and the circles of the figure lies what the certificate
# cannot see, either because the score changes more slowly than its constant allows on most of
# the input space, or because PGD does not find the worst perturbation. A certified radius is a
# margin divided by a constant. The DCAE's constant is at least 1 whatever K is (the identity in
# the residual), so its radius never exceeds its margin. Deep SVDD's constant at the thesis's
# $K = 50$ is fifty times the one-class HKR's, yet its radii are of the same order, because its
# distances to the center spread over a correspondingly wider range: what counts is the margin
# in units of the constant, not the constant alone. The one-class HKR, trained for exactly that,
# keeps the highest certified ROC-AUC at the smallest radii; at a tenth of a range unit the
# DCAE's wider margins last longer.
#
# (sec-attacks-cifar10)=
# ## CIFAR-10
#
# The book executes this chapter on MNIST. On CIFAR-10 the detectors are larger and every attack
# step is a forward and a backward pass through them, so the book does not execute the chapter a
# second time: it was executed once with `dataset = "cifar10"` at CIFAR-10's own, smaller budget
# ({ref}`chap-experiment1`: 1000 training images at the quick profile), its results were saved
# and committed, and this section draws the same tables and figures from them:
#
# ```bash
# python -m adlip.book --profile quick --only 16 --no-build --executed-dir _build/cifar10 \
#     -p dataset=cifar10 -p save_results=true
# ```
#
# The one-class HKR keeps the dense network of its MNIST budget, with CIFAR-10's 3072 inputs. (A
# chapter executed on CIFAR-10 shows MNIST's saved results here instead.)

# %%
def summary_table(results):
    l2_budget, linf_budget = results["budget"]["l2"][-1], results["budget"]["linf"][-1]
    rows = [[name, f"{100 * d['clean_auc']:.1f}", f"{100 * results['curves'][name]['l2']['false_alarm_rate'][-1]:.0f}",
             f"{100 * results['curves'][name]['l2']['evasion_rate'][-1]:.0f}",
             f"{100 * results['curves'][name]['linf']['success_rate'][-1]:.0f}"]
            for name, d in results["detectors"].items()]
    return markdown_table(["detector", "clean ROC-AUC (%)", f"L2 false alarms at eps {l2_budget:g} (%)",
                           f"L2 evasions at eps {l2_budget:g} (%)", f"Linf success at eps {linf_budget:g} (%)"], rows)


def half_budget(results, name, norm="l2"):
    """The smallest budget (range units) at which the attack flips half of the correctly classified images."""
    curve = results["curves"][name][norm]
    budgets = np.asarray(curve["epsilons"]) / results["detectors"][name]["width"]
    reached = np.flatnonzero(np.asarray(curve["success_rate"]) >= 0.5)
    return budgets[reached[0]] if reached.size else None


def comparison(results):
    """Per family with both variants: clean ROC-AUC and the L2 budget that flips half the images."""
    def budget_text(value):
        return f"{value:g}" if value is not None else f"more than {results['budget']['l2'][-1]:g}"

    lines = []
    names = list(results["detectors"])
    for family in dict.fromkeys(family_of(name) for name in names):
        pair = [f"{family}, {variant}" for variant in ("standard", "Lipschitz")]
        if not all(name in names for name in pair):
            continue
        (standard, lipschitz) = (results["detectors"][name] for name in pair)
        lines.append(f"**{family}**: clean ROC-AUC {100 * standard['clean_auc']:.1f}% standard, "
                     f"{100 * lipschitz['clean_auc']:.1f}% Lipschitz; half of the correctly classified images "
                     f"are flipped within an L2 budget of {budget_text(half_budget(results, pair[0]))} (standard) "
                     f"and {budget_text(half_budget(results, pair[1]))} (Lipschitz) range units.")
    return Markdown("\n".join(f"* {line}" for line in lines))


results["seconds"] = time.perf_counter() - chapter_started
if save_results:
    path = experiments.save_chapter_record("16_attacks_and_certificates", results, profile, dataset, normal_class,
                                           seed, budget.to_dict(), results_dir)
    print(f"saved to {path}")
other = "cifar10" if dataset == "mnist" else "mnist"
saved = experiments.load_chapter_record("16_attacks_and_certificates", profile, other, normal_class, seed,
                                        results_dir)
if saved is None:
    display(Markdown(f"*No saved {other} results for profile `{profile}`, normal class {normal_class} and "
                     f"seed {seed} in `{results_dir}`: run the command above to make them.*"))
else:
    other_results = saved["results"]
    b = other_results["budget"]
    display(Markdown(
        f"**Budget of the saved run.** {other}, normal class {normal_class}, profile `{profile}`, seed {seed}: "
        f"{b['train_size']} training images (AnoGAN {b['anogan_train']}), epochs scaled by {b['epochs_scale']:g}, "
        f"{b['n_test']} test images for the clean ROC-AUC (AnoGAN {b['anogan_test']}); {b['attacked']} normal and "
        f"as many anomalous images attacked with {b['steps']} PGD steps (AnoGAN {b['anogan_attacked']}, "
        f"{b['anogan_steps']} steps); {other_results['seconds'] / 60:.0f} min in all. Saved by adlip "
        f"{saved['adlip_version']} at commit `{saved['git_commit']}`."))
    display(detector_table(other_results))
    plot_curves(other_results, "l2")
    plt.show()   # each figure in its place among the tables, not all at the end of the cell
    plot_curves(other_results, "linf")
    plt.show()
    plot_certificates(other_results)
    plt.show()
    display(summary_table(other_results))
    display(comparison(other_results))

# %% [markdown]
# *On CIFAR-10, in order: the detectors (as in the first table), the $L_2$ and the $L_\infty$
# attack curves (as in the attack figures), the certificates (as in the certificate figure), the
# largest budgets in numbers (as in the summary table below) and, per family, the clean ROC-AUC and
# the $L_2$ budget at which the attack flips half of the correctly classified images.*
#
# The committed quick record for CIFAR-10 (airplanes as the normal class) is a sobering read. At
# a fiftieth of the thesis's epochs on 1000 images, the DCAE, Deep SVDD and AnoGAN rank airplanes
# no better than chance, standard or Lipschitz, and PGD flips nearly every correctly classified
# image of the DCAE and Deep SVDD at the smallest budgets tried (0.25 range units in $L_2$, 0.01
# in $L_\infty$). Their certified radii are correspondingly tiny. The one-class HKR is
# the exception on both counts: it detects best, resists the attacks longest and keeps a certified
# ROC-AUC well above zero at a tenth of a range unit. The tables above hold the numbers; a longer
# training budget (`profile = "full"`, on a GPU) is what would tell whether the deep detectors'
# fragility on CIFAR-10 is a matter of training or of the data.
#
# ## Summary

# %%
print(f"chapter: {results['seconds']:.0f} s")
display(summary_table(results))
comparison(results)

# %% [markdown]
# *Table: the largest budgets of the attack figures, in numbers (same budget), then per family
# the clean ROC-AUC and the $L_2$ budget (range units) at which the attack flips half of the
# correctly classified images.*
#
# * Anomaly scores can be attacked in two directions: false alarms (normal images raised above
#   the threshold) and evasions (anomalies lowered below it). PGD {eq}`eq-score-pgd` on the score does
#   both; AnoGAN's search is attacked through its Danskin surrogate and judged on its real score.
# * A score, not a network, carries the certificate: the DCAE's residual norm is $(1 + K/4)$-
#   Lipschitz for the thesis's sigmoid decoders ({eq}`eq-dcae-score-constant`), Deep SVDD's
#   distance to the center $K$-Lipschitz ({eq}`eq-svdd-certified`), the one-class HKR's score
#   1-Lipschitz; standard networks and AnoGAN's searched score have none.
# * Certified radii {eq}`eq-score-certified-radius` turn the margin to the threshold into a guarantee.
#   The tests check that PGD never beats one. How far certificates reach depends on the margins
#   in units of the constant, which the Lipschitz constraint alone does not make large.
# * At the quick budget PGD fools the DCAE and Deep SVDD, standard and Lipschitz alike, on nearly
#   every image within an $L_2$ budget of one range unit, while certified radii are a few
#   hundredths of a range unit. AnoGAN and the one-class HKR resist evasion (not false alarms) at
#   these budgets, without a certificate that proves it.
#
# ## Exercises
#
# 1. Replace the threshold by the one that maximises accuracy on the test set and redraw the
#    certified accuracy. Which detectors gain, and why does the certified ROC-AUC not change?
# 2. The DCAE's score constant $1 + K/4$ is dominated by the identity for small $K$. Derive a
#    tighter bound for images whose reconstruction error is large, and test it with
#    `lipschitz_gradient_ascent` on `score_function(detector)`.
# 3. Differentiate through a short unrolled latent search instead of the Danskin surrogate and
#    compare the AnoGAN attack curves.

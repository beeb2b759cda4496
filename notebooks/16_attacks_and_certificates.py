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
# The code lives in `adlip.robustness` (attacks and certificates), `adlip.studies.attacks` (the
# study this chapter runs) and `adlip.views.attacks` (its tables and figures); this chapter
# explains it and runs it on MNIST with normal class 0 at the profile's budget.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training
dataset = "mnist"      # "cifar10" runs the same chapter on CIFAR-10 (see the section on CIFAR-10)
normal_class = 0  # the class trained on as normal; every other class is an anomaly
results_dir = "results"   # where the run on the other data set is read from (and saved to)
save_results = False      # True: save this run's record for the book (see the section on CIFAR-10)

# %%
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2)
import tensorflow as tf
from IPython.display import Markdown, display

from adlip.views import attacks as views
from adlip.studies.attacks import ATTACKS, AttackBudget, AttackSpec, run_attacks, saved_record

tf.get_logger().setLevel("ERROR")
budget = AttackBudget.resolve(profile, dataset)   # images, PGD steps, epsilons and radii of this profile
display(Markdown(budget.caption()))

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
# Fits every detector, attacks it and certifies it (adlip.studies.attacks.run_attacks); with
# save_results the study writes the record to results_dir/attacks/<profile>/ (and reads it back).
spec = AttackSpec(dataset, normal_class, seed, profile)
record = ATTACKS.records(profile, results_dir, run=True, specs=[spec])[0] if save_results else run_attacks(spec)
print(views.data_summary(record))

# %% [markdown]
# The attacked test images: a seeded sample of `attacked` normal and as many anomalous test
# images (AnoGAN: `anogan_attacked` of each), the same images for every detector of a family.
# The box of {eq}`eq-attack-ball` is the range of all training and test images of the scaling.

# %%
views.detector_table(record)

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
figure = views.plot_curves(record, "l2")

# %% [markdown]
# *Figure: $L_2$ attacks. Top: the share of correctly classified test images that PGD
# {eq}`eq-score-pgd` flips (normal images raised above the threshold, anomalies lowered below it);
# bottom: the ROC-AUC with every normal image raised and every anomaly lowered. One panel per
# family, standard (red) against Lipschitz (blue). Budget: the training of the table above;
# `attacked` normal and as many anomalous test images per detector, `steps` PGD steps (AnoGAN:
# `anogan_attacked`, `anogan_steps` steps each followed by a 10-step warm-started latent search,
# budgets `anogan_l2` and `anogan_linf`), as printed at the top.*

# %%
figure = views.plot_curves(record, "linf")

# %% [markdown]
# *Figure: the same for $L_\infty$ attacks.*

# %%
views.curve_table(record, "l2")

# %% [markdown]
# *Table: the $L_2$ curves in numbers: attack success rate / ROC-AUC under attack, both in %, per
# budget in range units (budget as in the figure; "-": a budget AnoGAN was not attacked with).*

# %%
views.curve_table(record, "linf")

# %% [markdown]
# *Table: the same for $L_\infty$.*
#
# The success rate mixes two attacks. Split into its parts, for the $L_2$ budgets:

# %%
views.direction_table(record)

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
figure = views.plot_certificates(record)

# %% [markdown]
# *Figure: certified accuracy (left) and certified ROC-AUC (right) against the $L_2$ radius
# (lines, lower bounds), with the accuracy and ROC-AUC under the $L_2$ attack at its budgets
# (open circles, upper bounds), for the detectors whose score has a provable constant; the radius axis is
# logarithmic above the smallest positive radius. Same test images and budget as the attack
# figures.*

# %%
views.certificate_table(record)

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
other = AttackSpec("cifar10" if dataset == "mnist" else "mnist", normal_class, seed, profile)
views.show_saved_run(saved_record(other, results_dir), other, results_dir)

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
print(f"chapter: {record['results']['seconds']:.0f} s, of which attacks {record['results']['attack_seconds']:.0f} s")
display(views.summary_table(record))
views.comparison(record)

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

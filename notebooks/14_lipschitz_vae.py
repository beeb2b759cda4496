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
# (chap-lipschitz-vae)=
# # The Lipschitz VAE and vacant holes
#
# The detectors of the thesis learn one normal class and flag everything else. A neighbouring
# problem is *out-of-distribution* (OOD) detection: a model learns a whole data set, say all ten
# MNIST digits, and must flag inputs that come from somewhere else, say Fashion-MNIST clothes.
# Deep generative models look made for it, since they assign every input a likelihood; in practice
# that likelihood often ranks foreign inputs as *more* typical than the training data.
#
# Glazunov and Zarras (2023, "Vacant holes for unsupervised detection of the outliers in compact
# latent representation") take a variational autoencoder (VAE), make its encoder M-Lipschitz, and
# score an input by how unstable the decoder is around its code. Their argument is a Lipschitz one,
# so the detector sits well beside the thesis's: the constraint is used not for robustness but to
# squeeze every input, inliers and outliers alike, into a region of the latent space whose size we
# choose. This chapter explains the idea, implements it as `adlip.detectors.vae.LipschitzVAE`, and
# repeats the paper's MNIST/Fashion-MNIST experiments and its decoder-smoothing ablation at a budget
# this book can afford.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"], check=False)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training

# %%
import adlip  # noqa: F401  (before TensorFlow: selects Keras 2, see the introduction)
import tensorflow as tf
from adlip.glue import glue

from adlip.views import companion_plots, companion_tables
from adlip.detectors.vae import LipschitzVAE
from adlip.studies import vae

tf.get_logger().setLevel("ERROR")   # every VAE compiles its own training step; TF warns about it
budget = vae.VAEBudget.resolve(profile)
glue("vae_budget", budget.caption(), display=False)
print(budget.caption())

# %% [markdown]
# ## Variational autoencoders
#
# A VAE is a latent-variable model. A code $\mathbf{z} \in \mathbb{R}^m$ is drawn from a prior
# $p(\mathbf{z}) = \mathcal{N}(\mathbf{0}, \mathbf{I})$, and a *decoder* network turns it into a
# distribution over images $p_\theta(\mathbf{x} \mid \mathbf{z})$. For grey values in $[0, 1]$ the
# usual choice, and ours, treats every pixel as an independent Bernoulli variable whose mean the
# decoder outputs. The likelihood of an image is the average over all codes,
# $p_\theta(\mathbf{x}) = \mathbb{E}_{p(\mathbf{z})}[p_\theta(\mathbf{x} \mid \mathbf{z})]$, an
# integral nobody can compute directly. An *encoder* network proposes, for each image, a Gaussian
# $q_\phi(\mathbf{z} \mid \mathbf{x}) = \mathcal{N}(\boldsymbol{\mu}_\phi(\mathbf{x}),
# \operatorname{diag} \boldsymbol{\sigma}^2_\phi(\mathbf{x}))$ over the codes that could have made
# it, and the two networks are trained together to maximise the evidence lower bound (ELBO)
#
# $$
# \log p_\theta(\mathbf{x}) \;\ge\; \mathcal{L}(\mathbf{x}) =
# \mathbb{E}_{q_\phi(\mathbf{z} \mid \mathbf{x})}\big[\log p_\theta(\mathbf{x} \mid \mathbf{z})\big]
# - \mathrm{KL}\big(q_\phi(\mathbf{z} \mid \mathbf{x}) \,\|\, p(\mathbf{z})\big).
# $$ (eq-vae-elbo)
#
# The first term asks the decoder to reproduce the image from a code near $\boldsymbol{\mu}$; the
# second keeps the encoder's proposals close to the prior. Gradients flow through the sampling by
# writing $\mathbf{z} = \boldsymbol{\mu} + \boldsymbol{\sigma} \odot \boldsymbol{\varepsilon}$ with
# $\boldsymbol{\varepsilon} \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$ (the reparameterisation
# trick of Kingma and Welling).
#
# Once trained, the encoder's proposal makes a good importance distribution for the likelihood
# itself. With $S$ samples $\mathbf{z}_s \sim q_\phi(\mathbf{z} \mid \mathbf{x})$,
#
# $$
# \widehat{\log p}(\mathbf{x}) = \log \frac{1}{S} \sum_{s=1}^{S}
# \frac{p_\theta(\mathbf{x} \mid \mathbf{z}_s)\, p(\mathbf{z}_s)}{q_\phi(\mathbf{z}_s \mid \mathbf{x})}
# $$ (eq-vae-importance)
#
# is, on average, at least the ELBO and approaches $\log p_\theta(\mathbf{x})$ as $S$ grows. Its
# negative is the obvious anomaly score: improbable inputs are suspicious.
#
# ## Why the likelihood is a poor outlier score
#
# Nalisnick et al. (2019, "Do deep generative models know what they don't know?") found that
# generative models of several kinds, VAEs among them, trained on Fashion-MNIST give MNIST digits a
# *higher* likelihood than Fashion-MNIST's own test images. Part of the reason is visible in the
# pixels: a likelihood over 784 independent pixels is dominated by how predictable the pixels are,
# and an MNIST digit is mostly black background, which any decoder predicts almost perfectly.

# %%
companion_tables.dark_pixels_table(vae.dark_fractions(budget, seed))

# %% [markdown]
# There is also a deeper reason. Lan and Dinh (2020) show that a density is a property of a
# representation, not of the data: an invertible change of variables can give any point any density
# while describing the same distribution. A low likelihood is therefore no guarantee of an outlier,
# and a high one no guarantee of an inlier.
#
# ## Holes in the latent space
#
# The paper looks elsewhere: at *where* the encoder sends an input. A *hole* is a region of the
# latent space the decoder has not learned to map smoothly. Two descriptions meet here: codes that
# lie close together but decode to very different images (Falorsi et al., 2018), and regions to
# which the prior gives high density while the encoder sends hardly any training image there
# (Xu et al., 2020). Li et al. (2021) show that the two views find the same holes.
#
# A hole is easy to test for one input at a time. The encoder's Gaussian
# $q_\phi(\mathbf{z} \mid \mathbf{x})$ marks a small neighbourhood of codes around the input's code.
# Decode a few samples $\mathbf{z}_1, \dots, \mathbf{z}_S$ from it and compare how well each explains
# the input, $\ell_s = \log p_\theta(\mathbf{x} \mid \mathbf{z}_s)$. Where the decoder is smooth the
# $\ell_s$ agree; in a hole, nearby codes give very different images and the $\ell_s$ scatter. The
# **hole indicator** is their sample standard deviation,
#
# $$
# H(\mathbf{x}) = \Big(\frac{1}{S - 1} \sum_{s=1}^{S} (\ell_s - \bar{\ell})^2\Big)^{1/2},
# \qquad \bar{\ell} = \frac{1}{S} \sum_{s=1}^{S} \ell_s .
# $$ (eq-vae-hole)
#
# The paper also proposes a relative of it. Split the $S$ samples into $R$ groups, compute the
# importance estimate {eq}`eq-vae-importance` from each group, and take the standard deviation of the
# $R$ estimates,
#
# $$
# V(\mathbf{x}) = \operatorname{std}_{r = 1, \dots, R}\, \widehat{\log p}_r(\mathbf{x}) .
# $$ (eq-vae-std-ll)
#
# Its motivation: a marginal likelihood is a mixture of the decoder's distributions over codes, and
# the variance of a mixture is the average variance of its parts plus the spread of their means; in
# a hole that spread is large. The paper calls $V$ the "std of LLs". Both scores are higher for
# inputs in holes, so both are anomaly scores as they stand.
#
# ## Why a Lipschitz encoder
#
# Whether outliers land in holes at all depends on how much room the encoder has. The inputs form a
# compact set (every image lies in the cube $[0, 1]^n$), and a continuous encoder maps a compact set
# to a compact set: the codes are always bounded. But the bound is whatever training happened to
# produce; the paper's Figure 2 shows an ordinary VAE trained on MNIST sending some outliers seven
# prior standard deviations from the origin, into empty space, where their fate (high or low
# likelihood) is arbitrary.
#
# A Lipschitz constraint fixes the bound in advance. If the encoder's mean
# $\boldsymbol{\mu}_\phi$ is M-Lipschitz and all inputs lie within distance $R$ of each other,
#
# $$
# \|\boldsymbol{\mu}_\phi(\mathbf{x}) - \boldsymbol{\mu}_\phi(\mathbf{y})\| \;\le\; M \|\mathbf{x} - \mathbf{y}\|
# \;\le\; M R ,
# $$ (eq-vae-bound)
#
# so *every* input, outlier or not, lands within $M R$ of the training images' codes. Choose the
# bound about as large as the region the prior actually fills, and there is no free space left
# outside the inliers: an outlier has to land *among* them. The paper's empirical finding is that
# it then tends to land in the holes between them, where the hole indicator sees it.
#
# How large is the region the prior fills? In $m$ dimensions the mass of $\mathcal{N}(\mathbf{0},
# \sigma^2 \mathbf{I})$ sits in a thin shell, the *typical set*, at radius about $\sigma \sqrt{m}$.
# The paper adds two standard deviations of width and rounds down,
#
# $$
# M = \big\lfloor \sigma \sqrt{m} + 2 \sigma \big\rfloor ,
# $$ (eq-vae-eq7)
#
# which gives $M = 5$ for the $m = 10$ latent dimensions used on MNIST and Fashion-MNIST
# (`eq7_lipschitz(10)` computes it; `lipschitz="auto"` uses it).
#
# ```{note}
# The paper measures inputs in the $L_\infty$ norm, where the cube $[0, 1]^n$ has diameter
# $R = 1$. deel-lip, which adlip uses, bounds the $L_2$ constant. An encoder that is M-Lipschitz
# from $L_\infty$ is also M-Lipschitz from $L_2$ (since $\|\cdot\|_\infty \le \|\cdot\|_2$), not
# the other way round, so our constraint is the weaker one: the cube's $L_2$ diameter is
# $\sqrt{784} = 28$, and real images lie closer than opposite corners of the cube. The section
# "Where the outliers land" measures how far our codes actually spread.
# ```
#
# ## Our implementation
#
# The paper's appendices with its networks were not available to us, so `LipschitzVAE` uses small
# perceptrons: an encoder 784-512-256-$2m$ whose output holds the posterior means and
# log-variances, and a decoder $m$-256-512-784 that outputs the pixels' Bernoulli logits. In the
# Lipschitz variant every dense layer is a deel-lip `SpectralDense` layer with the factor
# $M^{1/3}$, and the activations are GroupSort2 {cite:p}`anil2019`, so the encoder (means and
# log-variances together) is M-Lipschitz. The unconstrained ("vanilla") variant uses ordinary dense
# layers and ReLU. Kernels are spectrally normalised at every step; deel-lip's Björck
# orthonormalisation, which the paper's gradient-preserving layers call for, is available
# (`orthogonalization="bjorck"`) but made a training step about five times slower on our CPU. The
# three scores share the same $S$ posterior samples per image; the detector's `score` parameter
# picks the one `decision_function` returns, and `all_scores` returns all three.

# %%
detector = LipschitzVAE(dataset="mnist", lipschitz="auto", latent_dim=10)
print(detector)
print("encoder constant M =", detector.lipschitz_constant, "(eq. 7 with m = 10)")

# %% [markdown]
# ## MNIST and Fashion-MNIST, both ways
#
# The paper's Table 2 trains on one data set and tests its test images (inliers) against the other's
# (outliers), scoring by the area under the ROC curve (AUROC) and under the precision-recall curve
# (AUPRC, outliers as positives), and by the false-positive rate at a threshold that catches 80 % of
# the outliers (FPR80, lower is better). We train three VAEs in both directions: a vanilla one, a
# Lipschitz one with $M = 5$ by eq. {eq}`eq-vae-eq7` (the paper's Table 2), and one with $M = 1$
# (the paper's section 5.2 and its ablation), and compute all three scores of each.

# %%
results = vae.run_both_ways(budget, seed)
print(f"trained {len(results)} VAEs in {sum(r['train_seconds'] for r in results.values()):.0f} s")

# %%
companion_tables.vae_comparison_table(vae.comparison_rows(results))

# %% [markdown]
# ```{note}
# Our numbers (percent) beside the paper's Table 2 where the paper has that row. The paper's
# numbers come from its own, longer training; ours from {glue:text}`vae_budget` The paper
# reports the likelihood only for the vanilla VAE and the two spread scores only for the Lipschitz
# VAE with M = 5; we show every score of every model.
# ```

# %%
companion_tables.vae_verdict(results)

# %% [markdown]
# A constraint changes a network only where the network would otherwise be steeper. An unconstrained
# encoder starts out gentle and grows steeper as it trains (its measured constant is in the table of
# the next section), so the difference between the vanilla and the Lipschitz VAE should need a
# training budget long enough for the vanilla encoder to pass $M$; at a short budget the two can
# behave alike.
#
# ## Where the outliers land
#
# The paper's Figure 2 looks at the size of the posterior means, $\|\boldsymbol{\mu}_\phi(\mathbf{x})\|_\infty$,
# for inliers and for several kinds of outliers: another data set and forged images at the edges of
# the input cube, nearly black or nearly white. An unconstrained encoder is free to send them far out;
# a Lipschitz one keeps them within the bound {eq}`eq-vae-bound`. We use the three models trained on
# MNIST above (the paper's figure shows $M = 1$).

# %%
probes = vae.probe_sets(budget, seed)
means = vae.probe_means(results, probes)

# %% mystnb={"figure": {"name": "fig-vae-code-sizes", "caption": "Largest coordinate of the posterior mean for MNIST test images (the training data set), Fashion-MNIST and forged dark and bright images, under the three VAEs trained on MNIST. The paper's Figure 2 shows the same quantity. {glue:text}`vae_budget`"}}
companion_plots.code_size_histograms(means);

# %% [markdown]
# How close do the codes come to the bound? Gradient ascent on the ratio
# $\|f(\mathbf{x}) - f(\mathbf{y})\| / \|\mathbf{x} - \mathbf{y}\|$
# (`adlip.metrics.lipschitz_gradient_ascent`) gives a lower bound of each encoder's constant
# (means and log-variances together), and the spread of the codes can be set against $M$ times the
# spread of the images.

# %%
companion_tables.encoder_table(vae.encoder_constants(results, probes, means, profile, seed))

# %% [markdown]
# ```{note}
# Encoder constants of the three MNIST models: the guarantee, a lower bound found by gradient ascent on
# all probe images, and the largest distance between the posterior means of one outlying code and
# any other (with the largest distance of the same images in pixel space, whose product with $M$
# bounds it). {glue:text}`vae_budget`
# ```
#
# The histograms show the size of the codes; the next figure shows where they are. It projects the
# Lipschitz VAE's posterior means of MNIST and Fashion-MNIST test images onto their first two
# principal components and colours them by the hole indicator {eq}`eq-vae-hole`.

# %%
plane, hole, n_inliers = vae.latent_plane(results, means, probes, seed)

# %% mystnb={"figure": {"name": "fig-vae-latent-plane", "caption": "Posterior means of the Lipschitz VAE (M = 5, trained on MNIST) for MNIST and Fashion-MNIST test images, projected onto the inliers' first two principal components (left), and the same points coloured by the hole indicator (right, log scale). {glue:text}`vae_budget`"}}
companion_plots.latent_plane(plane, hole, n_inliers);

# %% [markdown]
# ## One-vs-rest on MNIST
#
# The thesis's protocol is harder in one way (the outliers are other digits, close to the normal
# class) and easier in another (the model learns a single class). The paper does not report it; we
# run the Lipschitz VAE ($M = 5$) on a few normal classes.

# %%
companion_tables.vae_one_vs_rest_table(vae.one_vs_rest_runs(budget, seed))

# %% [markdown]
# ```{note}
# One-vs-rest AUROC (percent) of the Lipschitz VAE on MNIST: trained on one digit, tested on test
# images of all digits (the other nine are anomalies). {glue:text}`vae_budget`
# ```
#
# ## Smoothing the decoder: the ablation
#
# If the hole indicator works *because* outliers fall into holes, removing the holes should break it.
# A hole is a place where the decoder is steep, so a Lipschitz constraint on the decoder smooths all of
# them at once, and the smaller its constant, the fewer holes remain. The paper's Figure 3 trains
# VAEs on Fashion-MNIST with an encoder constant $M = 1$ and decoder constants from 1 to 10 and finds
# the hole indicator's AUROC falling as the decoder's constant falls. We repeat it with fewer
# constants and outlier sets: MNIST, forged dark and bright images, and uniform noise.

# %%
ablation = vae.run_decoder_ablation(budget, seed)

# %% mystnb={"figure": {"name": "fig-vae-ablation", "caption": "The decoder-smoothing ablation (the paper's Figure 3 at our scale): VAEs trained on Fashion-MNIST with an encoder constant M = 1 and the decoder constants on the x-axis, tested against several outlier sets. {glue:text}`vae_budget`"}}
companion_plots.ablation_figure(ablation, budget.decoder_constants);

# %%
companion_tables.ablation_verdict(ablation, budget.decoder_constants)

# %% [markdown]
# ## Summary
#
# * A VAE's likelihood can rank outliers as more typical than inliers: trained on Fashion-MNIST, it
#   prefers MNIST digits, whose dark backgrounds are easy to predict.
# * An M-Lipschitz encoder bounds where *any* input can land, eq. {eq}`eq-vae-bound`; with $M$ from
#   the prior's typical set, eq. {eq}`eq-vae-eq7`, outliers must land among the inliers' codes.
# * The hole indicator {eq}`eq-vae-hole`, the spread of $\log p(\mathbf{x} \mid \mathbf{z})$ over
#   posterior samples, detects inputs whose codes sit where the decoder is steep.
# * Our constraint is an $L_2$ one (deel-lip), weaker than the paper's $L_\infty$ one, and our
#   budget is far below the paper's; the tables above put our numbers and the paper's side by side.
#
# ## Exercises
#
# 1. Train with `lipschitz=1.0` (the paper's section 5.2) and compare the code sizes of
#    {numref}`fig-vae-code-sizes` with those at $M = 5$.
# 2. Swap the Bernoulli decoder for a continuous Bernoulli one (its normalising constant depends on
#    the decoder's output). Does the likelihood still prefer MNIST?
# 3. The hole indicator needs $S$ decoder passes per input. How small can $S$ be before its AUROC
#    drops? Plot it against $S$ for one model.

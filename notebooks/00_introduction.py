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
# (chap-introduction)=
# # Introduction
#
# Anomaly detectors are often deployed where mistakes are expensive: fraud screening, intrusion
# detection, medical imaging, sensor monitoring. In those places a detector should not only be
# accurate on a clean benchmark; its verdict should also not flip when the input changes a
# little, whether the change comes from noise or from someone who wants to hide an anomaly. One
# way to *guarantee* such stability is to bound the detector's **Lipschitz constant**: if the
# anomaly score $s$ satisfies $|s(x) - s(x')| \le K \|x - x'\|_2$, then no perturbation smaller
# than $\epsilon$ can move the score by more than $K\epsilon$.
#
# This book asks what such a bound costs. It reproduces, and then extends, the bachelor thesis of
# {cite:t}`wickes2024`, which constrains three deep anomaly detectors to a prescribed Lipschitz
# constant and compares them with their unconstrained versions:
#
# * a deep convolutional **autoencoder** (DCAE), scoring an image by how badly it is
#   reconstructed ({ref}`chap-autoencoders`);
# * **Deep SVDD**, which maps normal data into a small hypersphere ({ref}`chap-deep-svdd`);
# * **AnoGAN**, which searches the latent space of a generative adversarial network for the
#   closest normal-looking image ({ref}`chap-gans`).
#
# The Lipschitz versions are built from the layers of the deel-lip library, whose principles
# (spectral normalization, Björck orthonormalization, gradient-norm-preserving activations) are
# the subject of {ref}`chap-lipschitz`.

# %% tags=["remove-cell"]
import sys

if "google.colab" in sys.modules:  # on Colab, install adlip first (the light colab extra)
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)

# %% tags=["parameters"]
profile = "quick"  # budget profile: "smoke" (seconds, for CI), "quick" (minutes), "full" (the thesis's budget)
seed = 0  # seed of the data subsets, the initial weights and the training

# %% [markdown]
# ## How the book is organised
#
# Each chapter is a notebook with a parameters cell (the one above: `profile` and `seed`), prose
# that explains one idea, and short code cells that demonstrate it on real data. The chapters of
# the first part follow the theory chapters of the thesis:
#
# | chapter | topic | thesis section |
# |---|---|---|
# | {ref}`chap-anomaly-detection` | the task, its categories, one-vs-rest, ROC-AUC | 2.1, 2.2, 5 |
# | {ref}`chap-autoencoders` | autoencoders, reconstruction error, convolutions | 2.3 |
# | {ref}`chap-deep-svdd` | Deep SVDD and hypersphere collapse | 2.4 |
# | {ref}`chap-gans` | GANs, batch normalization, AnoGAN's latent search | 2.5 |
# | {ref}`chap-robustness` | adversarial examples, empirical and certified robustness | 3.1, 3.2 |
# | {ref}`chap-lipschitz` | Lipschitz networks: spectral norm, Björck, gradient norm preservation | 3.3, 4.1 |
#
# Later parts describe adlip's implementation of the three detectors and rerun the thesis's two
# experiments: choosing a Lipschitz constant per detector, then comparing standard and Lipschitz
# detectors on every normal class of MNIST and CIFAR-10.
#
# The part *Beyond the thesis* adds four more detectors from the literature and f-AnoGAN, which
# answers the thesis's open questions about AnoGAN ({ref}`chap-gan-detectors`), and *Robustness,
# measured* tests what the thesis assumed: it attacks the detectors and certifies them
# ({ref}`chap-attacks`), compares ways to measure a Lipschitz constant
# ({ref}`chap-measuring-lipschitz`), swaps in gradient-norm-preserving layers ({ref}`chap-gnp`), and
# settles why the thesis's convolutional Lipschitz decoders blurred ({ref}`chap-spectralconv`).
#
# The code lives in the Python package `adlip`. The chapters only *use* it; everything a chapter
# shows (a number, a table, a figure) is computed when the chapter runs. Nothing is typed in by
# hand, except where a chapter quotes the thesis, and then it says so.

# %%
import adlip
from adlip import profiles
from adlip.tables import markdown_table
from adlip.data import CLASS_NAMES, INPUT_SHAPES, load_dataset

print(f"adlip {adlip.__version__}; this run uses the {profile!r} profile with seed {seed}")

# %% [markdown]
# ## Budgets: the `smoke`, `quick` and `full` profiles
#
# Training the thesis's detectors at the thesis's budget (hundreds of epochs per model, ten
# normal classes, three seeds, two data sets) takes days on a GPU. Every chapter therefore takes
# a `profile` parameter that scales its work:
#
# * `smoke` runs everything end to end in seconds; the test suite uses it to check that every
#   chapter still executes;
# * `quick` fits a laptop CPU; the published book is built with it;
# * `full` is the thesis's budget.
#
# A profile is a single record in `adlip.profiles`, so a chapter, an experiment sweep and a result
# file all agree on what was run. Here are the three profiles' settings:

# %%
fields = [name for name in profiles.Profile.__dataclass_fields__ if name != "name"]
markdown_table(["setting", *profiles.PROFILES],
               [[field, *(getattr(p, field) for p in profiles.PROFILES.values())]
                for field in fields])

# %% [markdown]
# `epochs_scale` multiplies every phase of a detector's training schedule (never going below one
# epoch), so a profile shortens the thesis's schedule without changing its shape. For example, a
# schedule phase of 250 epochs becomes:

# %%
markdown_table(["profile", "epochs for a 250-epoch phase"],
               [[name, p.epochs(250)] for name, p in profiles.PROFILES.items()])

# %% [markdown]
# ## Running the book
#
# **Locally.** Clone the repository, then, from its top folder, `make book` creates the virtual
# environment, executes every chapter with the `quick` profile and builds the HTML; `make test`
# runs the test suite, including a `smoke` execution of every chapter. The README lists the
# individual commands. Under the hood, `python -m adlip.book` executes the chapters with
# papermill and builds the book with Jupyter Book:
#
# ```bash
# python -m adlip.book --profile smoke                 # every chapter, then the HTML
# python -m adlip.book --profile full --only 03 --no-build
# ```
#
# **One chapter at another budget.** The chapters are stored as plain Python files in the
# jupytext "percent" format. To run one at the `full` budget with papermill, convert it on the fly:
#
# ```bash
# jupytext --to ipynb notebooks/08_experiment1.py -o - | papermill - out.ipynb -p profile full
# ```
#
# Any name in a chapter's parameters cell can be set this way (`-p seed 1`).
#
# **On Colab.** The launch button at the top of each page opens the chapter in Google Colab. Its
# first cell (hidden in this book) installs adlip when it notices that it runs there:
#
# ```python
# if "google.colab" in sys.modules:
#     subprocess.run([sys.executable, "-m", "pip", "install", "-q",
#                     "adlip[colab] @ git+https://github.com/adlip-book/adlip"], check=True)
# ```
#
# **Data.** adlip reads MNIST, Fashion-MNIST and CIFAR-10 from a folder named by the environment
# variable `ADLIP_DATA_DIR` (files `mnist.npz`, `cifar10.npz`, with the arrays that
# `tf.keras.datasets` returns) and otherwise falls back to `tf.keras.datasets`, which downloads
# them once. On an offline machine, point `ADLIP_DATA_DIR` at a folder with those files before
# starting Jupyter. The cell below loads MNIST to check that the data can be found:

# %%
(x_train, y_train), (x_test, y_test) = load_dataset("mnist")
markdown_table(["data set", "input shape", "classes", "training images", "test images"],
               [["mnist", INPUT_SHAPES["mnist"], len(CLASS_NAMES["mnist"]),
                 len(x_train), len(x_test)]])

# %% [markdown]
# ## Notation
#
# The chapters share the following notation.
#
# | symbol | meaning |
# |---|---|
# | $x \in \mathbb{R}^d$ | an input (an image, flattened when that helps) |
# | $s(x)$ | an anomaly score: higher means more anomalous |
# | $y \in \{0, 1\}$ | a test label: 1 marks an anomaly |
# | $f$, $\phi$ | a neural network; $\phi$ for Deep SVDD's feature map |
# | $\|\cdot\|_2$ | the Euclidean norm of a vector, or the spectral norm of a matrix |
# | $K$, $L(f)$ | a prescribed Lipschitz constant; the (smallest) Lipschitz constant of $f$ |
# | $c$, $R$, $\nu$ | Deep SVDD's hypersphere center, radius, and outlier fraction |
# | $G$, $D$, $z$ | a GAN's generator, discriminator, and latent code |
#
# ## Summary
#
# * The book reproduces a thesis on Lipschitz-constrained deep anomaly detection and extends it.
# * Every chapter is an executable notebook with a `profile` parameter; profiles live in
#   `adlip.profiles` and scale the thesis's budgets.
# * Chapters run locally (`make book`, `python -m adlip.book`), with papermill at any budget, or on
#   Colab.
#
# ## Exercises
#
# 1. Run this chapter with papermill and `-p profile smoke`. Which numbers in the profile table
#    change, and which stay the same?
# 2. Build a custom profile with `profiles.get_profile("quick", seeds=(0, 1, 2))`. How many
#    detector trainings would experiment 2 need with it for MNIST alone, counting every detector
#    in its standard and Lipschitz version?

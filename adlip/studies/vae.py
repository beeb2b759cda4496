"""The Lipschitz VAE chapter's studies: MNIST against Fashion-MNIST and back, one-vs-rest on MNIST,
and the decoder-smoothing ablation of Glazunov and Zarras (2023), at a profile's budget.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from adlip.data import forged_images, one_vs_rest, unit_images
from adlip.detectors.vae import DEFAULT_SCHEDULE, SCORE_LABELS, SCORES, LipschitzVAE
from adlip.metrics import lipschitz_gradient_ascent, ood_metrics
from adlip.profiles import get_profile
from adlip.studies.base import StudyBudget
from adlip.studies.wording import size
from adlip.reference.vae import PAPER_ABLATION, PAPER_ROW_OF, PAPER_TABLE2


@dataclass(frozen=True)
class VAEBudget(StudyBudget):
    """What the chapter's experiments cost at one profile (stated in every caption)."""

    n_train: int | None          # training images per model (None: the whole training split)
    n_test: int | None           # test images per side (inliers, outliers); None: the whole test split
    epochs_scale: float          # times DEFAULT_SCHEDULE's 50 epochs (at least one per phase)
    n_posterior_samples: int
    n_importance_estimates: int
    decoder_constants: tuple     # the ablation's decoder constants
    classes: tuple               # MNIST normal classes for one-vs-rest

    PER_PROFILE: ClassVar[dict] = {
        "smoke": dict(n_train=300, n_test=200, n_posterior_samples=16, n_importance_estimates=4,
                      decoder_constants=(1.0, 10.0), classes=(0,)),
        "quick": dict(n_train=4000, n_test=1000, n_posterior_samples=32, n_importance_estimates=4,
                      decoder_constants=(1.0, 3.0, 10.0), classes=(0, 1)),
        "full": dict(n_train=None, n_test=None, n_posterior_samples=100, n_importance_estimates=10,
                     decoder_constants=PAPER_ABLATION["decoder_lipschitz"], classes=tuple(range(10))),
    }

    @classmethod
    def from_profile(cls, profile) -> dict:
        return dict(epochs_scale=profile.epochs_scale)

    @property
    def epochs(self) -> int:
        return DEFAULT_SCHEDULE.scaled(self.epochs_scale).total_epochs

    def caption(self) -> str:
        return (f"Budget ({self.profile} profile): {size(self.n_train)} training images, {self.epochs} epochs, "
                f"batch {DEFAULT_SCHEDULE.batch_size}, {size(self.n_test)} test images per side, "
                f"{self.n_posterior_samples} posterior samples ({self.n_importance_estimates} importance estimates), "
                f"one seed.")


def _detector(budget: VAEBudget, dataset: str, lipschitz, seed: int, decoder_lipschitz=None) -> LipschitzVAE:
    return LipschitzVAE(dataset=dataset, lipschitz=lipschitz, seed=seed, epochs_scale=budget.epochs_scale,
                        n_posterior_samples=budget.n_posterior_samples,
                        n_importance_estimates=budget.n_importance_estimates,
                        decoder_lipschitz=decoder_lipschitz, verbose=0)


def _labelled_metrics(inlier_scores: dict, outlier_scores: dict) -> dict:
    """{score: the paper's metrics} with inliers labelled 0 and outliers 1."""
    return {key: ood_metrics(np.r_[np.zeros(len(inlier_scores[key])), np.ones(len(outlier_scores[key]))],
                             np.r_[inlier_scores[key], outlier_scores[key]]) for key in SCORES}


def score_outliers(detector: LipschitzVAE, inliers: np.ndarray, outliers: np.ndarray) -> dict:
    """The paper's metrics of every score, inliers labelled 0 and outliers 1: {score: {metric: value}}."""
    started = time.perf_counter()
    inlier_scores, outlier_scores = detector.all_scores(inliers), detector.all_scores(outliers)
    return {"metrics": _labelled_metrics(inlier_scores, outlier_scores), "inlier_scores": inlier_scores,
            "outlier_scores": outlier_scores, "score_seconds": time.perf_counter() - started}


def run_ood(train: str, outlier: str, lipschitz="auto", budget: VAEBudget | None = None, seed: int = 0,
            decoder_lipschitz=None) -> dict:
    """Train on ``train``'s training images, test its test images against ``outlier``'s.

    Returns the fitted detector, {score: {metric: value}}, the raw scores and the timings.
    """
    budget = VAEBudget.resolve("quick") if budget is None else budget
    x_train = unit_images(train, "train", budget.n_train, seed)
    inliers = unit_images(train, "test", budget.n_test, seed)
    outliers = unit_images(outlier, "test", budget.n_test if budget.n_test else len(inliers), seed + 1)
    detector = _detector(budget, train, lipschitz, seed, decoder_lipschitz).fit(x_train)
    result = score_outliers(detector, inliers, outliers)
    result.update(detector=detector, train=train, outlier=outlier, lipschitz=detector.lipschitz_constant,
                  decoder_lipschitz=decoder_lipschitz, train_seconds=detector.train_seconds_, n_train=len(x_train))
    return result


def run_one_vs_rest(normal_class: int, lipschitz="auto", budget: VAEBudget | None = None, seed: int = 0) -> dict:
    """The thesis's one-vs-rest protocol on MNIST with the VAE: {score: {metric: value}} and the detector."""
    budget = VAEBudget.resolve("quick") if budget is None else budget
    split = one_vs_rest("mnist", normal_class, scaling="unit", train_size=budget.n_train,
                        test_size=None if budget.n_test is None else 2 * budget.n_test, seed=seed)
    detector = _detector(budget, "mnist", lipschitz, seed).fit(split.x_train)
    scores = detector.all_scores(split.x_test)
    return {"detector": detector, "normal_class": normal_class, "lipschitz": detector.lipschitz_constant,
            "metrics": {key: ood_metrics(split.y_test, value) for key, value in scores.items()},
            "train_seconds": detector.train_seconds_, "n_train": len(split.x_train), "n_test": len(split.x_test)}


def run_decoder_ablation(budget: VAEBudget | None = None, seed: int = 0, train: str = "fashion_mnist",
                         outliers=("mnist", "dark", "bright", "noise")) -> list:
    """The paper's Figure 3 at our budget: encoder M = 1, decoder M in ``budget.decoder_constants``.

    One model per decoder constant, each scored against every outlier set. Returns one row per
    (decoder constant, outlier set, score) with the AUROC.
    """
    budget = VAEBudget.resolve("quick") if budget is None else budget
    x_train = unit_images(train, "train", budget.n_train, seed)
    inliers = unit_images(train, "test", budget.n_test, seed)
    outlier_sets = {name: unit_images(name, "test", budget.n_test or len(inliers), seed + 1) for name in outliers}
    rows = []
    for constant in budget.decoder_constants:
        detector = _detector(budget, train, PAPER_ABLATION["encoder_lipschitz"], seed, constant).fit(x_train)
        inlier_scores = detector.all_scores(inliers)
        for name, images in outlier_sets.items():
            for score, values in _labelled_metrics(inlier_scores, detector.all_scores(images)).items():
                rows.append({"decoder_lipschitz": constant, "outlier": name, "score": score,
                             "auroc": values["auroc"], "train_seconds": detector.train_seconds_})
    return rows


# The chapter's Table 2 runs: both directions of MNIST and Fashion-MNIST, three models each.
PAIRS = (("mnist", "fashion_mnist"), ("fashion_mnist", "mnist"))
MODELS = {"vanilla": None, "lipschitz": "auto", "lipschitz-1": 1.0}   # model -> the encoder's constant
MODEL_NAMES = {"vanilla": "vanilla VAE", "lipschitz": "Lipschitz VAE, M = 5", "lipschitz-1": "Lipschitz VAE, M = 1"}
PROBE_TRAINING = "mnist_vs_fashion_mnist"   # the models whose codes the chapter probes


def dark_fractions(budget: VAEBudget, seed: int = 0) -> dict:
    """The share of pixels darker than 0.05 in ``budget.n_test`` test images of MNIST and of Fashion-MNIST."""
    return {label: float((unit_images(name, "test", budget.n_test, seed) < 0.05).mean())
            for label, name in (("MNIST", "mnist"), ("Fashion-MNIST", "fashion_mnist"))}


def run_both_ways(budget: VAEBudget, seed: int = 0) -> dict:
    """:func:`run_ood` for every pair of :data:`PAIRS` and model of :data:`MODELS`: {(model, pair): result}."""
    results = {}
    for train, outlier in PAIRS:
        for model, lipschitz in MODELS.items():
            results[(model, f"{train}_vs_{outlier}")] = run_ood(train, outlier, lipschitz, budget, seed)
    return results


def probe_sets(budget: VAEBudget, seed: int = 0) -> dict:
    """The images whose codes the chapter looks at: MNIST inliers, Fashion-MNIST, forged dark and bright ones."""
    return {"MNIST (inliers)": unit_images("mnist", "test", budget.n_test, seed),
            "Fashion-MNIST": unit_images("fashion_mnist", "test", budget.n_test, seed + 1),
            "dark (forged)": forged_images("dark", 200, seed),
            "bright (forged)": forged_images("bright", 200, seed)}


def probe_means(results: dict, probes: dict) -> dict:
    """{model: {probe set: posterior means}} under the models trained on MNIST."""
    return {model: {name: results[(model, PROBE_TRAINING)]["detector"].encode(x)[0] for name, x in probes.items()}
            for model in MODELS}


def encoder_constants(results: dict, probes: dict, means: dict, profile: str, seed: int = 0) -> list:
    """Per MNIST model: its guaranteed constant, a gradient-ascent lower bound on all probe images, the
    largest distance between one outlying code and any other, and the same images' distance in pixels."""
    budget = get_profile(profile)
    images = np.concatenate(list(probes.values()))
    flat = images.reshape(len(images), -1)
    rows = []
    for model in MODELS:
        detector = results[(model, PROBE_TRAINING)]["detector"]
        estimate = lipschitz_gradient_ascent(detector.encoder_, images, starts=budget.ascent_starts,
                                             steps=budget.ascent_steps, seed=seed)
        codes = np.concatenate(list(means[model].values()))
        far = np.argmax(np.linalg.norm(codes - codes.mean(0), axis=1))
        rows.append({"model": model, "constant": detector.lipschitz_constant, "lower_bound": estimate.value,
                     "code_spread": np.linalg.norm(codes - codes[far], axis=1).max(),
                     "image_spread": np.linalg.norm(flat - flat[far], axis=1).max()})
    return rows


def latent_plane(results: dict, means: dict, probes: dict, seed: int = 0) -> tuple:
    """The Lipschitz VAE's (M = 5) codes of MNIST and Fashion-MNIST test images on the inliers' first two
    principal components, their hole indicators, and how many of them are inliers."""
    from sklearn.decomposition import PCA

    run = results[("lipschitz", PROBE_TRAINING)]   # scored on the same test images
    hole = np.r_[run["inlier_scores"]["hole"], run["outlier_scores"]["hole"]]
    codes = np.concatenate([means["lipschitz"]["MNIST (inliers)"], means["lipschitz"]["Fashion-MNIST"]])
    n_inliers = len(probes["MNIST (inliers)"])
    plane = PCA(2, random_state=seed).fit(codes[:n_inliers]).transform(codes)
    return plane, hole, n_inliers


def one_vs_rest_runs(budget: VAEBudget, seed: int = 0) -> dict:
    """:func:`run_one_vs_rest` of the Lipschitz VAE (M by eq. 7) for every class of ``budget``."""
    return {c: run_one_vs_rest(c, "auto", budget, seed) for c in budget.classes}


def comparison_rows(results: dict) -> list:
    """Our numbers beside the paper's Table 2, as rows for a table (percent).

    ``results`` maps (model, pair) to a ``run_ood`` result, with model "vanilla" or "lipschitz" and
    pair like "mnist_vs_fashion_mnist". Every score of every model gets a row; the paper's column
    is filled where the paper has that row.
    """
    rows = []
    for (model, pair), result in results.items():
        for score in SCORES:
            paper_key = PAPER_ROW_OF.get((model, score))
            paper = PAPER_TABLE2["rows"][paper_key][pair] if paper_key else (None, None, None)
            ours = result["metrics"][score]
            rows.append({"pair": pair, "model": model, "score": SCORE_LABELS[score],
                         **{f"{metric} (ours)": 100 * ours[metric] for metric in PAPER_TABLE2["columns"]},
                         **{f"{metric} (paper)": value for metric, value in zip(PAPER_TABLE2["columns"], paper)}})
    return rows


def describe_pair(pair: str) -> str:
    """'mnist_vs_fashion_mnist' -> 'MNIST vs. Fashion-MNIST'."""
    names = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "svhn": "SVHN"}
    inliers, outliers = pair.split("_vs_")
    return f"{names.get(inliers, inliers)} vs. {names.get(outliers, outliers)}"

"""The regularized Deep SVDD chapter's studies: the collapse demonstration and one-vs-rest on MNIST
for the four models of Chong, Ruff, Kloft and Binder (2020), at a profile's budget.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from adlip.data import one_vs_rest
from adlip.detectors.base import Schedule
from adlip.detectors.regsvdd import (SCHEDULE, RegularizedDeepSVDD, adaptive_weight, minibatch_variance,
                                     random_label_loss, variance_hinge)
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound, roc_auc
from adlip.profiles import get_profile
from adlip.reference import deep_svdd_paper_auc, thesis_chosen_constant
from adlip.reference.regsvdd import PAPER_CIFAR10_ONE_VS_ALL, PAPER_MODEL_NAMES
from adlip.studies.base import StudyBudget
from adlip.studies.wording import listed, plural, size


# The four models of the paper's tables, as (bias, regularizer).
VARIANTS = ((False, "none"), (True, "none"), (True, "noise"), (True, "variance"))


@dataclass(frozen=True)
class RegSVDDBudget(StudyBudget):
    """What the chapter's experiments cost at one profile (stated in every caption).

    The one-vs-rest runs use the paper's schedule scaled by ``epochs_scale`` on ``n_train`` images of
    each normal class in ``classes``; the collapse demonstration trains on ``demo_train`` images of
    class 0 for ``demo_epochs`` epochs (``demo_lipschitz_epochs`` for the Lipschitz networks) at the
    paper's high learning rate ``demo_rate``, where it saw collapse. The profile gives the epochs
    scale, the thesis the constant K of its one-class Deep SVDD on MNIST.
    """

    epochs_scale: float
    n_train: int | None
    n_test: int | None
    classes: tuple
    lipschitz: float
    demo_train: int
    demo_epochs: int
    demo_lipschitz_epochs: int
    demo_rate: float = 1e-2
    auc_variants: tuple = VARIANTS   # which of the four models the one-vs-rest runs train

    PER_PROFILE: ClassVar[dict] = {
        "smoke": dict(n_train=256, n_test=500, classes=(0,), demo_train=100, demo_epochs=2,
                      demo_lipschitz_epochs=1, auc_variants=((True, "none"), (True, "noise"))),
        "quick": dict(n_train=2000, n_test=None, classes=(0, 1, 2), demo_train=1000, demo_epochs=15,
                      demo_lipschitz_epochs=8),
        "full": dict(n_train=None, n_test=None, classes=tuple(range(10)), demo_train=2000, demo_epochs=30,
                     demo_lipschitz_epochs=30),
    }

    @classmethod
    def from_profile(cls, profile) -> dict:
        return dict(epochs_scale=profile.epochs_scale, lipschitz=thesis_chosen_constant("mnist", "deepsvdd-oc"))

    @property
    def epochs(self) -> int:
        return SCHEDULE.scaled(self.epochs_scale).total_epochs

    def caption(self) -> str:
        return (f"Budget ({self.profile} profile): one-vs-rest on MNIST classes {listed(self.classes)} "
                f"with {size(self.n_train)} training images of the normal class, {plural(self.epochs, 'epoch')} of "
                f"Adam at {SCHEDULE.phases[0][1]:g} (batch {SCHEDULE.batch_size}, weight decay "
                f"{SCHEDULE.weight_decay:g}), {size(self.n_test)} test images, one seed; Lipschitz models "
                f"K = {self.lipschitz:g}. Collapse demonstration: {self.demo_train} images of class 0, learning rate "
                f"{self.demo_rate:g}, {plural(self.demo_epochs, 'epoch')} "
                f"(Lipschitz: {self.demo_lipschitz_epochs})." + self._variants_note())

    def _variants_note(self) -> str:
        if tuple(self.auc_variants) == VARIANTS:
            return ""
        names = ", ".join(PAPER_MODEL_NAMES[variant] for variant in self.auc_variants)
        return f" One-vs-rest runs only for: {names}"



def variant_detector(bias: bool, regularizer: str, lipschitz=None, seed: int = 0, **params) -> RegularizedDeepSVDD:
    """One of the paper's four models (see ``VARIANTS``), quiet, with any further parameters."""
    return RegularizedDeepSVDD(bias=bias, regularizer=regularizer, lipschitz=lipschitz, seed=seed, verbose=0,
                               **params)


def collapse_curves(x: np.ndarray, budget: RegSVDDBudget, lipschitz=None, seed: int = 0) -> dict:
    """Per variant name: the embedding variance before training and after every epoch, c_t per epoch, the
    SVDD loss per epoch and the fitted detector."""
    epochs = budget.demo_epochs if lipschitz is None else budget.demo_lipschitz_epochs
    schedule = Schedule(((epochs, budget.demo_rate),), SCHEDULE.batch_size, SCHEDULE.weight_decay)
    curves = {}
    for bias, regularizer in VARIANTS:
        detector = variant_detector(bias, regularizer, lipschitz, seed, schedule=schedule).fit(x)
        history = detector.history_
        curves[detector.paper_name] = dict(variance=[detector.initial_variance_] + history["embedding_variance"],
                                           weight=history["regularizer_weight"], svdd_loss=history["svdd_loss"],
                                           detector=detector)
    return curves


def collapse_split(budget: RegSVDDBudget):
    """The collapse demonstration's data: ``demo_train`` images of digit 0, the profile's test split."""
    return one_vs_rest("mnist", 0, train_size=budget.demo_train, test_size=budget.n_test, seed=1234)


def lipschitz_name(budget: RegSVDDBudget) -> str:
    """The Lipschitz networks' name in the collapse figures and tables."""
    return f"Lipschitz, K = {budget.lipschitz:g}"


def demo_aucs(curves: dict, split) -> dict:
    """{(network, model): test ROC-AUC} of every model the collapse demonstration trained."""
    return {(network, model): roc_auc(split.y_test, curve["detector"].decision_function(split.x_test))
            for network, by_model in curves.items() for model, curve in by_model.items()}


def run_one_vs_rest(normal_class: int, bias: bool, regularizer: str, lipschitz=None,
                    budget: RegSVDDBudget | None = None, seed: int = 0) -> dict:
    """Fit one variant on one normal class at ``budget``; its AUC, final variance and timings."""
    budget = budget or RegSVDDBudget.resolve()
    split = one_vs_rest("mnist", normal_class, train_size=budget.n_train, test_size=budget.n_test, seed=1234)
    detector = variant_detector(bias, regularizer, lipschitz, seed, epochs_scale=budget.epochs_scale).fit(split.x_train)
    started = time.perf_counter()
    scores = detector.decision_function(split.x_test)
    return dict(model=detector.paper_name, normal_class=normal_class, lipschitz=lipschitz,
                auc=roc_auc(split.y_test, scores), variance_ratio=detector.final_variance_ / detector.initial_variance_,
                train_seconds=detector.train_seconds_, score_seconds=time.perf_counter() - started,
                detector=detector, x_test=split.x_test)


def one_vs_rest_runs(budget: RegSVDDBudget, seed: int = 0) -> list:
    """:func:`run_one_vs_rest` for the standard and the Lipschitz networks, every class and model of ``budget``."""
    return [run_one_vs_rest(normal_class, bias, regularizer, lipschitz, budget, seed)
            for lipschitz in (None, budget.lipschitz)
            for normal_class in budget.classes
            for bias, regularizer in budget.auc_variants]


def lipschitz_check(results: list, profile: str, seed: int = 0) -> dict:
    """Both lower bounds of the noise-regularized Lipschitz model of the first class, at ``profile``'s budget."""
    budget = get_profile(profile)
    checked = next(r for r in results if r["lipschitz"] is not None and r["model"] == "D. SVDD w/ bias & noise reg.")
    network = checked["detector"].lipschitz_network
    pairs = lipschitz_lower_bound(network, checked["x_test"], seed=seed, **budget.lipschitz_budget()).value
    ascent = lipschitz_gradient_ascent(network, checked["x_test"], starts=budget.ascent_starts,
                                       steps=budget.ascent_steps, seed=seed).value
    return {"random pairs": pairs, "gradient ascent": ascent}


def equation_values(seed: int = 0) -> dict:
    """The chapter's equations on made-up numbers: random-label loss, minibatch variance, hinge, weight."""
    import tensorflow as tf

    outputs = tf.random.stateless_normal((50, 32), seed=(seed, 1))
    labels = tf.cast(tf.random.stateless_uniform((50, 8), seed=(seed, 2)) < 0.5, tf.float32)
    return {"random_label_loss": float(random_label_loss(tf.zeros((50, 8)), labels)),
            "variance": float(minibatch_variance(outputs)), "hinge": float(variance_hinge(outputs, 1.5)),
            "weight": float(adaptive_weight(0.0, 2.0, 0.5, 0.9, 0.5))}


def comparison_rows(results: list) -> list:
    """Table rows: per model and network, our mean AUC over the classes beside the paper's CIFAR-10 numbers."""
    rows = []
    for lipschitz in sorted({r["lipschitz"] for r in results}, key=lambda k: -1 if k is None else k):
        for bias, regularizer in VARIANTS:
            name = PAPER_MODEL_NAMES[(bias, regularizer)]
            mine = [r for r in results if r["model"] == name and r["lipschitz"] == lipschitz]
            if not mine:
                continue
            classes = [r["normal_class"] for r in mine]
            paper_mean, paper_std = PAPER_CIFAR10_ONE_VS_ALL["unsupervised"][name]
            ruff = np.mean([deep_svdd_paper_auc("mnist", c) for c in classes]) if name == "D. SVDD" else None
            rows.append([name, "standard" if lipschitz is None else f"K = {lipschitz:g}",
                         f"{100 * np.mean([r['auc'] for r in mine]):.1f}",
                         " / ".join(f"{100 * r['auc']:.1f}" for r in mine),
                         "" if ruff is None or lipschitz is not None else f"{ruff:.1f}",
                         f"{paper_mean} ± {paper_std}"])
    return rows

"""The soft-boundary Deep SVDD's ROC-AUC through training, with and without pretraining (chapter 8).

At K <= 2 the thesis's Lipschitz soft-boundary Deep SVDD ranks MNIST's anomalies below chance in
experiment 1 (a ROC-AUC near 30%), where ours, pretrained from a DCAE's encoder as its section 4
says, stays above chance. Single runs without the pretraining landed near the thesis's column at
the `quick` budget and near chance at the thesis's own; the records of the ``unpretrained`` grid
compare the end points. This study watches the path between them.

Each run takes one K and trains experiment 1's Lipschitz Deep SVDD (the profile's epochs, seed and
data) twice: once initialised from the pretrained DCAE's encoder, once from a random
initialisation. Before the first epoch, after the first two and every ``every`` epochs it measures,
on the test images, the ROC-AUC of the distance to the center, the mean distance of the normal and
the anomalous embeddings to the center, their mean norm, and the random-pair bound on a fixed set
of pairs (:func:`adlip.studies.center_norm.watched_fit`, which watches without changing the run).

It also asks what a ranking below chance follows (``PROBES``). A network with a small constant is
close to linear, so its distance to the center may track a simple function of the image. Two are
traced: the projection on the mean normal training image, which on MNIST's class 0 used as the
score ranks the zeros as the most anomalous (a ROC-AUC near 0), and the image's L2 norm after
preprocessing, which does not (the record's ``probe_aucs`` has both). Each checkpoint records the
rank correlation of the distance with each probe (``<probe>_correlation``): a ranking below chance
that is the projection read backwards correlates strongly and positively with it.

One record per (data set, normal class, seed, K) in ``results/pretraining/<profile>/``.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

import numpy as np

from adlip import metrics, runs
from adlip.detectors.dcae import LIPSCHITZ_SCHEDULE
from adlip.detectors.deepsvdd import SCHEDULE as DEEP_SVDD_SCHEDULE
from adlip.profiles import get_profile
from adlip.records import _jsonable, provenance
from adlip.studies.base import Study, StudyBudget, TaskRun
from adlip.studies.center_norm import watched_fit

STUDY = "pretraining"
VARIANTS = {"pretrained": True, "not pretrained": False}   # variant -> the detector's ``pretrain``
ALGORITHMS = ("deepsvdd-sb", "deepsvdd-oc")


@dataclass(frozen=True)
class PretrainingBudget(StudyBudget):
    """The constants, and how often and how finely the training is watched; the epochs are the profile's."""

    constants: tuple = (0.5, 1.0, 2.0)
    algorithm: str = "deepsvdd-sb"
    every: int = 5               # epochs between checkpoints (plus the first two epochs)
    rounds: int = 1              # random-pair rounds per checkpoint
    pairs_per_round: int = 100_000

    PER_PROFILE = {"smoke": dict(constants=(1.0,), every=1, pairs_per_round=4096),
                   "quick": dict(every=1),
                   "full": dict(every=5)}

    def caption(self) -> str:
        profile = get_profile(self.profile, dataset="mnist")
        deep_svdd, pretraining = DEEP_SVDD_SCHEDULE.total_epochs, LIPSCHITZ_SCHEDULE.total_epochs
        return (f"Budget ({self.profile} profile): Lipschitz {self.algorithm}, "
                f"{profile.epochs(deep_svdd, 'deepsvdd')} Deep SVDD epochs, initialised from a DCAE pretrained "
                f"for {profile.epochs(pretraining, 'pretrain')} epochs or at random, K in "
                f"{{{', '.join(f'{k:g}' for k in self.constants)}}}, MNIST class 0, seed 0; at each checkpoint "
                f"(every {self.every} epochs and after epochs 1 and 2) the ROC-AUC on the test images and the "
                f"random-pair bound over {self.rounds} x {self.pairs_per_round:,} fixed pairs.")


@dataclass(frozen=True)
class PretrainingRun(TaskRun):
    """One K on one one-vs-rest task: the same Deep SVDD with and without pretraining."""

    lipschitz: float = 1.0
    algorithm: str = "deepsvdd-sb"

    PREFIX = STUDY

    def __post_init__(self):
        super().__post_init__()
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"the pretraining study trains {' or '.join(ALGORITHMS)}, not {self.algorithm!r}")

    @property
    def run_id(self) -> str:
        return (f"{self.PREFIX}-{self.algorithm}-{self.dataset}-c{self.normal_class}-K{self.lipschitz:g}"
                f"-s{self.seed}")

    @property
    def budget(self) -> PretrainingBudget:
        return PretrainingBudget.resolve(self.profile)

    def config(self, pretrain: bool) -> runs.RunConfig:
        """Experiment 1's run of this algorithm at this K, with ``pretrain`` (the thesis: True)."""
        options = () if pretrain else (("pretrain", False),)
        return runs.RunConfig(self.algorithm, self.dataset, self.normal_class, float(self.lipschitz), self.seed,
                              self.profile, options=options)


PROBES = {"projection": "the projection on the mean normal training image",
          "ink": "the image's L2 norm (after preprocessing)"}


def probe_values(split) -> dict:
    """Each probe of ``PROBES`` on every test image (the training set is the normal class)."""
    x_test = split.x_test.reshape(len(split.x_test), -1).astype(np.float64)
    mean_image = split.x_train.reshape(len(split.x_train), -1).mean(axis=0, dtype=np.float64)
    return {"projection": x_test @ mean_image, "ink": np.linalg.norm(x_test, axis=1)}


def train_one(spec: PretrainingRun, variant: str, split, cache_dir, probes=None) -> dict:
    """Train one variant with the tracker; its row of the record."""
    _, row = watched_fit(spec.config(VARIANTS[variant]), split, spec.budget, spec.seed, cache_dir,
                         probes=probes)
    return dict(variant=variant, pretrain=VARIANTS[variant], **row)


def run_pretraining(spec: PretrainingRun, cache_dir=None) -> dict:
    """Both variants at one K; the record keeps one row per variant."""
    start = time.perf_counter()
    split = runs.load_split(spec.config(True))
    probes = probe_values(split)
    with tempfile.TemporaryDirectory(prefix="adlip-pretraining-") as scratch:
        rows = [train_one(spec, variant, split, cache_dir or scratch, probes) for variant in VARIANTS]
    profile = get_profile(spec.profile, dataset=spec.dataset)
    return dict(study=STUDY, run_id=spec.run_id, profile=spec.profile, dataset=spec.dataset,
                algorithm=spec.algorithm, normal_class=int(spec.normal_class), seed=int(spec.seed),
                lipschitz=float(spec.lipschitz), n_train=int(split.info["n_train"]),
                n_test=int(split.info["n_test"]), study_budget=spec.budget.to_dict(),
                probe_aucs={name: metrics.roc_auc(split.y_test, values) for name, values in probes.items()},
                profile_budget=_jsonable(profile.to_dict()), rows=_jsonable(rows),
                seconds=time.perf_counter() - start, **provenance())


def grid(profile: str) -> list:
    """MNIST class 0 (experiment 1's task), seed 0, every K of the budget."""
    budget = PretrainingBudget.resolve(profile)
    return [PretrainingRun("mnist", 0, 0, budget.profile, lipschitz=float(k), algorithm=budget.algorithm)
            for k in budget.constants]


PRETRAINING = Study(name=STUDY, title="Experiment 1's soft-boundary Deep SVDD through training, with and "
                                      "without pretraining",
                    grid=grid, run=run_pretraining, record_file=lambda spec: f"{spec.run_id}.json",
                    budget=PretrainingBudget.resolve, partial=True)

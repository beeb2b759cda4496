"""Why the Lipschitz Deep SVDD's random-pair bound falls as K grows (thesis 5.1.2; book chapter 11).

The thesis found that the bound of its Lipschitz Deep SVDDs *falls* once K reaches 10 and more,
where a looser constraint should let it rise, and guessed that the trained network squeezes its
outputs into a narrow range. Our records show the same kind of gap at its budget: our Lipschitz
bounds (K = 50) are several times the thesis's and fall the longer the Deep SVDD phase trains.

The explanation this study tests is the center. For Lipschitz networks the thesis replaces Ruff
et al.'s center (the mean embedding of one forward pass) by its signs, every coordinate +-1, so
``|c| = sqrt(32)`` whatever K is. A network pretrained at a large K starts with embeddings far
larger than that, and the one-class objective can only reach the center by shrinking its whole
output, which shrinks every slope the random pairs measure. The bound at the end of training then
reflects how far training has shrunk the embeddings, not K.

Each run takes one K and trains the one-class Deep SVDD of experiments 1 and 2 (the profile's
pretraining and Deep SVDD epochs, seed, data) twice from the same pretrained DCAE: once with the
thesis's sign center and once with the mean center. During training it measures, before the
first epoch and every ``every`` epochs, on the test images: the random-pair bound on a fixed set of
pairs (the same pairs at every checkpoint), the mean distance of the normal and the anomalous
test embeddings to the center, their mean norm, and the ROC-AUC. If the explanation holds, the
bound follows the embeddings' distance to the center over training under the sign center, and
the mean center, which asks for no shrinking, keeps a bound that grows with K.

One record per (data set, normal class, seed, K) in ``results/center-norm/<profile>/``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from adlip import metrics, runs
from adlip.detectors.base import predict_in_batches
from adlip.detectors.dcae import LIPSCHITZ_SCHEDULE
from adlip.detectors.deepsvdd import SCHEDULE as DEEP_SVDD_SCHEDULE
from adlip.profiles import get_profile
from adlip.records import _jsonable, provenance
from adlip.studies.base import Study, StudyBudget, TaskRun

STUDY = "center-norm"
CENTERS = {"sign": "the thesis's center: the signs of the mean embedding (every coordinate +-1)",
           "mean": "Ruff et al.'s center: the mean embedding of one forward pass"}
TRACKED = ("bound", "distance_normal", "distance_anomalous", "norm", "auc")


@dataclass(frozen=True)
class CenterNormBudget(StudyBudget):
    """The constants and how often and how finely the training is watched; the epochs are the profile's."""

    constants: tuple = (1.0, 10.0, 50.0, 100.0)
    every: int = 5               # epochs between checkpoints (plus the first two epochs)
    rounds: int = 3              # random-pair rounds per checkpoint
    pairs_per_round: int = 1_000_000

    PER_PROFILE = {"smoke": dict(constants=(1.0, 50.0), every=1, rounds=1, pairs_per_round=4096),
                   "quick": dict(every=1),
                   "full": dict(every=5)}

    def caption(self) -> str:
        profile = get_profile(self.profile, dataset="mnist")
        deep_svdd, pretraining = DEEP_SVDD_SCHEDULE.total_epochs, LIPSCHITZ_SCHEDULE.total_epochs
        return (f"Budget ({self.profile} profile): one-class Deep SVDD, {profile.epochs(deep_svdd, 'deepsvdd')} "
                f"Deep SVDD epochs after a DCAE pretrained for {profile.epochs(pretraining, 'pretrain')} epochs, "
                f"K in {{{', '.join(f'{k:g}' for k in self.constants)}}}, seed 0; at each checkpoint (every "
                f"{self.every} epochs and after epochs 1 and 2) the random-pair bound over "
                f"{self.rounds} x {self.pairs_per_round:,} fixed pairs of test images.")


@dataclass(frozen=True)
class CenterNormRun(TaskRun):
    """One K on one one-vs-rest task: both centers, trained from the same pretrained DCAE."""

    lipschitz: float = 50.0

    PREFIX = STUDY

    @property
    def run_id(self) -> str:
        return f"{self.PREFIX}-{self.dataset}-c{self.normal_class}-K{self.lipschitz:g}-s{self.seed}"

    @property
    def budget(self) -> CenterNormBudget:
        return CenterNormBudget.resolve(self.profile)

    def config(self, center: str) -> runs.RunConfig:
        """The experiment run this one copies (one-class Deep SVDD at this K), with ``center``."""
        return runs.RunConfig("deepsvdd-oc", self.dataset, self.normal_class, float(self.lipschitz), self.seed,
                              self.profile, options=(("center", center),))


def is_checkpoint(epoch: int, every: int, last: int) -> bool:
    """Watch before training (-1), after the first two epochs, every ``every`` epochs and at the end."""
    done = epoch + 1
    return done <= 2 or done % every == 0 or epoch == last


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two score vectors (0.0 when either is constant)."""
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def embedding_summary(embeddings, center, is_anomaly, x_flat, seed: int, rounds: int, pairs: int,
                      probes=None) -> dict:
    """The tracked quantities of one set of test embeddings (see the module docstring); with
    ``probes`` (name -> one number per test image) also the rank correlation of the distance with
    each, as ``<name>_correlation``."""
    distances = np.linalg.norm(embeddings - center, axis=1)
    bound = metrics.lipschitz_lower_bound(None, x_flat, rounds=rounds, pairs_per_round=pairs, seed=seed,
                                          outputs=embeddings)
    summary = dict(bound=bound.value, distance_normal=float(distances[~is_anomaly].mean()),
                   distance_anomalous=float(distances[is_anomaly].mean()),
                   norm=float(np.linalg.norm(embeddings, axis=1).mean()),
                   auc=metrics.roc_auc(is_anomaly.astype(int), distances))
    for name, values in (probes or {}).items():
        summary[f"{name}_correlation"] = rank_correlation(distances, values)
    return summary


def tracker(x_test, is_anomaly, budget: CenterNormBudget, last_epoch: int, seed: int, probes=None):
    """``(rows, callback)``: the callback for ``DeepSVDD.epoch_callback`` appends one row per checkpoint.

    The network is evaluated as its last training step left it (deel-lip's normalised kernels are
    refreshed only after training, which would otherwise change the run being watched).
    """
    import tensorflow as tf

    rows, forward = [], {}
    x_flat = x_test.reshape(len(x_test), -1)

    def callback(network, center, epoch):
        if not is_checkpoint(epoch, budget.every, last_epoch):
            return
        if "embed" not in forward:   # traced once for any batch size
            forward["embed"] = tf.function(lambda batch: network(batch, training=False), input_signature=[
                tf.TensorSpec((None,) + x_test.shape[1:], tf.float32)])
        embeddings = predict_in_batches(forward["embed"], x_test).astype(np.float64)
        rows.append(dict(epoch=epoch + 1, **embedding_summary(
            embeddings, np.asarray(center, np.float64), is_anomaly, x_flat, seed, budget.rounds,
            budget.pairs_per_round, probes)))

    return rows, callback


def watched_fit(config: runs.RunConfig, split, budget, seed: int, cache_dir, probes=None) -> tuple:
    """Fit the Deep SVDD of ``config`` on ``split`` with the tracker watching; ``(detector, row)``, the
    row holding what every watched run records (final ROC-AUC, training time, center norm, epochs,
    collapse flag and the trace). ``probes``: see :func:`embedding_summary`. Shared by this study
    and :mod:`adlip.studies.pretraining`."""
    detector = runs.make_detector(config, cache_dir=cache_dir)
    last = detector.resolved_schedule().total_epochs - 1
    is_anomaly = np.asarray(split.y_test, bool)
    trace, detector.epoch_callback = tracker(split.x_test, is_anomaly, budget, last, seed, probes)
    scores, train_seconds, _ = runs.fit_and_score(detector, split)
    return detector, dict(auc=metrics.roc_auc(split.y_test, scores), train_seconds=train_seconds,
                          center_norm=float(np.linalg.norm(detector.center_)), epochs=last + 1,
                          collapsed=bool(detector.collapsed_), trace=trace)


def train_one(spec: CenterNormRun, center: str, split, cache_dir) -> dict:
    """Train one center's Deep SVDD with the tracker; its row of the record."""
    config = spec.config(center)
    detector, row = watched_fit(config, split, spec.budget, spec.seed, cache_dir)
    final = runs.measure_lipschitz(detector, split.x_test, config)
    return dict(center=center, **row, lip_lower_bound=final["lip_lower_bound"],
                lip_gradient_ascent=final["lip_gradient_ascent"])


def run_center_norm(spec: CenterNormRun, cache_dir=None) -> dict:
    """Both centers at one K (they share the pretrained DCAE through ``cache_dir``, a temporary folder
    by default); the record keeps one row per center."""
    import tempfile

    start = time.perf_counter()
    config = spec.config("sign")
    split = runs.load_split(config)
    with tempfile.TemporaryDirectory(prefix="adlip-center-norm-") as scratch:
        rows = [train_one(spec, center, split, cache_dir or scratch) for center in CENTERS]
    profile = get_profile(spec.profile, dataset=spec.dataset)
    return dict(study=STUDY, run_id=spec.run_id, profile=spec.profile, dataset=spec.dataset,
                normal_class=int(spec.normal_class), seed=int(spec.seed), lipschitz=float(spec.lipschitz),
                n_train=int(split.info["n_train"]), n_test=int(split.info["n_test"]),
                study_budget=spec.budget.to_dict(), profile_budget=_jsonable(profile.to_dict()),
                rows=_jsonable(rows), seconds=time.perf_counter() - start, **provenance())


def grid(profile: str) -> list:
    """MNIST class 0 (experiment 1's task), seed 0, every K of the budget."""
    budget = CenterNormBudget.resolve(profile)
    return [CenterNormRun("mnist", 0, 0, budget.profile, lipschitz=float(k)) for k in budget.constants]


CENTER_NORM = Study(name=STUDY, title="The Lipschitz Deep SVDD's bound against its center (thesis 5.1.2)",
                    grid=grid, run=run_center_norm, record_file=lambda spec: f"{spec.run_id}.json",
                    budget=CenterNormBudget.resolve, partial=True)

"""Attacks on anomaly scores, and certificates where a score is provably Lipschitz in its input.

An anomaly detector flags an image when its score exceeds a threshold. An adversary with a budget
``epsilon`` (an L2 or L-infinity ball around the image, inside the data's box) can try two things:
raise a normal image's score above the threshold (a *false alarm*) or lower an anomaly's score
below it (an *evasion*). :func:`pgd_attack` does either by projected gradient ascent or descent on
a differentiable copy of the detector's score (:func:`score_function`); :func:`attack_curve` runs
it over a grid of budgets and reports the success rates and the ROC-AUC under attack.

Where a score ``s`` is ``L``-Lipschitz in the input (L2), a perturbation of norm ``r`` moves it
by at most ``L r``, so an image whose score is ``m`` away from the threshold keeps its label
within the radius ``m / L`` (:func:`certified_radius`). The constant per family, for the score the
certificates use (:func:`certified_scores`, a monotone transform of ``decision_function`` with
the same ranking and the same decisions):

* DCAE, score ``||x - A(x)||_2`` with a K-Lipschitz autoencoder ``A``: ``(x - A(x)) - (y - A(y))``
  has norm at most ``||x - y|| + ||A(x) - A(y)||``, so the score is ``(1 + K)``-Lipschitz. The
  thesis's autoencoders end with an elementwise sigmoid, whose slope is at most 1/4, so ``A`` is
  even ``K/4``-Lipschitz and the score ``(1 + K/4)``-Lipschitz.
* Deep SVDD, score ``d = ||phi(x) - c||^2`` (minus ``R^2`` for the soft boundary) with a
  K-Lipschitz ``phi``: ``d`` itself is not Lipschitz on all of input space (it grows
  quadratically), but ``sqrt(d) = ||phi(x) - c||`` is K-Lipschitz (reverse triangle inequality).
  Certificates therefore use ``sqrt(score + R^2)``, which orders images and decides exactly like
  the score does (the threshold is transformed the same way).
* One-class HKR, score ``-f(x)`` with a 1-Lipschitz ``f``: 1-Lipschitz.
* f-AnoGAN, score ``A = ||r||^2 / n + kappa ||d||^2 / m`` with the image residual
  ``r = x - G(E(x))`` (``n`` pixels) and the critic-feature residual ``d = f(x) - f(G(E(x)))`` (``m``
  features), ``G`` and ``E`` K-Lipschitz and ``f`` 1-Lipschitz: like Deep SVDD's, ``A`` grows
  quadratically, and certificates use ``sqrt(A)``, the norm of ``(r / sqrt(n), sqrt(kappa) d / sqrt(m))``,
  which is ``(1 + K^2) sqrt(1/n + kappa / m)``-Lipschitz (derived in :mod:`adlip.detectors.fanogan`).
* Standard networks carry no constant (:func:`score_lipschitz_constant` returns None). AnoGAN's
  score is the end of a finite latent search from a fixed start, not the exact minimum over the
  latent space: no constant is claimed for it either.

Since deel-lip's layers are normalised numerically, a network built for K is K-Lipschitz up to
rounding; the tests measure every Lipschitz network below ``K (1 + 1e-3)``, and the constants here
include that margin (:data:`NORMALISATION_MARGIN`), so that certificates stay on the safe side.

AnoGAN is attacked through a surrogate, justified by Danskin's theorem: its score is
``min_z L(x, z)``, and where the minimum is attained at ``z*`` the gradient of the score in ``x``
is ``dL/dx (x, z*)``. The attack keeps a latent vector per image, starts it at the detector's own
search result for the clean image, moves it a few search steps after every attack step (a warm
start) and takes the gradient of ``L`` in ``x`` at that latent vector. Success is always measured
on the detector's real, end-to-end score (``decision_function``, a full search from the
detector's own starting point).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from adlip.checks import check_integer
from adlip.checks import is_real as _is_real
from adlip.detectors.contract import Detector
from adlip.detectors.scoring import NORMALISATION_MARGIN
from adlip.metrics import certified_auroc, check_binary_labels, roc_auc

NORMS = ("l2", "linf")
DIRECTIONS = ("raise", "lower")

__all__ = ["NORMALISATION_MARGIN", "AttackCurve", "Certificate", "attack_curve", "certified_accuracy", "certified_auroc",
           "certified_auroc_curve", "certified_radius", "certified_scores", "certify", "no_certificate_reason",
           "pgd_attack", "score_function", "score_lipschitz_constant"]


# -- checks ---------------------------------------------------------------------------------------

def _check_fitted_detector(detector):
    """The detector, after checking it is a fitted adlip detector (one that can describe its score)."""
    if not isinstance(detector, Detector):
        raise ValueError(f"no score function for {type(detector).__name__}: attacks and certificates need an adlip "
                         "detector (adlip.detectors.contract.Detector), whose score_tensor gives its score")
    if not hasattr(detector, "threshold_"):
        raise ValueError(f"this {type(detector).__name__} is not fitted yet; call fit(X) first")
    return detector


def _check_domain(domain, x):
    if domain is None:
        return None
    if len(domain) != 2 or not all(_is_real(v) for v in domain) or not domain[0] < domain[1]:
        raise ValueError(f"domain must be None or (low, high) with low < high, got {domain!r}")
    low, high = float(domain[0]), float(domain[1])
    if x.min() < low or x.max() > high:
        raise ValueError(f"the images lie in [{x.min():.4g}, {x.max():.4g}], outside domain {domain!r}; "
                         "pass a domain that contains them (e.g. their scaling's range) or domain=None")
    return low, high


# -- the detector's score and its constant (each detector provides them: adlip.detectors.scoring) ---

def score_function(detector, certified: bool = False):
    """The detector's score as a TensorFlow function of a batch of images, ``f(x, training=False)``.

    It is ``detector.score_tensor`` (equal to ``decision_function`` up to float32 rounding), or with
    ``certified=True`` ``detector.certified_score_tensor``, the score whose Lipschitz constant is
    :func:`score_lipschitz_constant`. Detectors whose score is a search (AnoGAN) raise; use
    :func:`pgd_attack`, which attacks them through their own ``attack_objective``. The ``training``
    argument is accepted (and ignored) so that ``adlip.metrics`` can measure the function.
    """
    _check_fitted_detector(detector)
    tensor = detector.certified_score_tensor if certified else detector.score_tensor

    def score(x, training=False):
        return tensor(x)
    return score


def no_certificate_reason(detector):
    """Why the detector's score carries no Lipschitz certificate, or None when it does."""
    return _check_fitted_detector(detector).no_certificate_reason()


def score_lipschitz_constant(detector):
    """The provable L2 Lipschitz constant of the detector's certified score, or None.

    DCAE: ``1 + K'`` with ``K' = K/4`` when the autoencoder ends with a sigmoid (the thesis's do),
    ``K`` otherwise; Deep SVDD: ``K``, for ``sqrt(score + R^2) = ||phi(x) - c||``; one-class
    HKR: ``K`` (1); f-AnoGAN: ``(1 + K^2) sqrt(1/n + kappa / m)`` for ``sqrt(score)``. Every ``K``
    includes deel-lip's normalisation margin (``K (1 + 1e-3)``).
    None for standard networks and for AnoGAN (:func:`no_certificate_reason` says why).
    """
    if no_certificate_reason(detector) is not None:
        return None
    return detector.score_lipschitz_constant()


def certified_scores(detector, scores) -> np.ndarray:
    """``decision_function`` scores mapped to the score whose constant certificates use.

    Deep SVDD: ``sqrt(score + R^2)`` (the distance to the center; increasing in the score, so the
    ranking and the decisions at a transformed threshold are unchanged); f-AnoGAN: ``sqrt(score)``;
    other families: as is.
    Apply it to the threshold as well.
    """
    return _check_fitted_detector(detector).certified_scores(scores)


def certified_radius(scores, threshold, lipschitz) -> np.ndarray:
    """``|score - threshold| / lipschitz``: within this L2 radius no perturbation changes the decision.

    An ``L``-Lipschitz score moves by at most ``L r`` under a perturbation of norm ``r``; an image
    ``m`` away from the threshold keeps its side of it while ``L r <= m`` (an anomaly needs a strict
    margin; see :func:`certified_accuracy` for the exact inequalities).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if not _is_real(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if not _is_real(lipschitz) or lipschitz <= 0:
        raise ValueError(f"lipschitz must be a positive number (the score's constant), got {lipschitz!r}; "
                         "standard networks have none: see score_lipschitz_constant")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    return np.abs(scores - float(threshold)) / float(lipschitz)


@dataclass
class Certificate:
    """Certified scores, threshold, constant and radii of one detector on a batch of images."""

    scores: np.ndarray      # the certified score (certified_scores of decision_function)
    threshold: float        # the threshold, transformed like the scores
    lipschitz: float        # the certified score's L2 constant
    radius: np.ndarray      # L2 radius within which each image's decision cannot change
    predictions: np.ndarray  # 1 = flagged as anomalous (score above the threshold)


def certify(detector, X, threshold=None) -> Certificate:
    """Certificates of ``detector`` on ``X`` at ``threshold`` (default: the detector's ``threshold_``).

    Raises a ValueError saying why for detectors without a provable constant.
    """
    reason = no_certificate_reason(detector)
    if reason is not None:
        raise ValueError(f"cannot certify: {reason}")
    threshold = detector.threshold_ if threshold is None else threshold
    if not _is_real(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    scores = certified_scores(detector, detector.decision_function(X))
    level = float(certified_scores(detector, [threshold])[0])
    lipschitz = score_lipschitz_constant(detector)
    return Certificate(scores, level, lipschitz, certified_radius(scores, level, lipschitz),
                       (scores > level).astype(np.int64))


def _check_radii(radii) -> np.ndarray:
    radii = np.asarray(radii, dtype=np.float64).reshape(-1)
    if radii.size == 0 or not np.isfinite(radii).all() or (radii < 0).any():
        raise ValueError(f"radii must be a non-empty list of finite numbers >= 0, got {radii!r}")
    return radii


def certified_accuracy(y_true, scores, threshold, lipschitz, radii) -> np.ndarray:
    """Per radius ``r``: the fraction of images classified correctly by every perturbation of norm ``<= r``.

    With an ``L``-Lipschitz score, a normal image (label 0) is certified at ``r`` when
    ``score + L r <= threshold``, an anomaly (label 1) when ``score - L r > threshold``. At ``r = 0``
    this is the plain accuracy of ``score > threshold``.
    """
    y_true, scores = check_binary_labels(y_true, scores)
    radii = _check_radii(radii)
    certified_radius(scores, threshold, lipschitz)  # validates threshold, lipschitz, scores
    shift = float(lipschitz) * radii[:, None]
    normal_ok = (y_true == 0) & (scores[None, :] + shift <= threshold)
    anomaly_ok = (y_true == 1) & (scores[None, :] - shift > threshold)
    return (normal_ok | anomaly_ok).mean(axis=1)


def certified_auroc_curve(y_true, scores, lipschitz, radii) -> np.ndarray:
    """:func:`certified_auroc` (normal scores raised, anomalous ones lowered by ``L r``) per radius."""
    y_true, scores = check_binary_labels(y_true, scores)
    radii = _check_radii(radii)
    normal, anomalous = scores[y_true == 0], scores[y_true == 1]
    return np.array([certified_auroc(normal, anomalous, float(r), lipschitz) for r in radii])


# -- the attack -----------------------------------------------------------------------------------

_OBJECTIVES = weakref.WeakKeyDictionary()   # detector -> (its networks, compiled objective)


def _objective(detector):
    """The detector's attack objective, built once per fitted network (refitting builds a new one)."""
    _check_fitted_detector(detector)
    networks = tuple(getattr(detector, name) for name in detector._network_attributes)
    cached = _OBJECTIVES.get(detector)
    if cached is None or len(cached[0]) != len(networks) or any(a is not b for a, b in zip(cached[0], networks)):
        cached = (networks, detector.attack_objective())
        _OBJECTIVES[detector] = cached
    return cached[1]


def _per_image(values, like):
    """A per-image array shaped to broadcast against the batch ``like``."""
    return np.asarray(values, dtype=np.float32).reshape((-1,) + (1,) * (like.ndim - 1))


def _project(x, x0, epsilon, norm, domain):
    """``x`` moved into the ball of radius ``epsilon`` (one per image) around ``x0``, then into the box.

    Clipping to a box that contains ``x0`` never moves a point away from ``x0`` in any
    coordinate, so the result stays inside the ball.
    """
    delta = x - x0
    if norm == "linf":
        radius = _per_image(epsilon, delta)
        delta = np.clip(delta, -radius, radius)
    else:
        norms = np.sqrt((delta.reshape(len(delta), -1).astype(np.float64) ** 2).sum(axis=1))
        delta = delta * _per_image(np.minimum(1.0, epsilon / np.maximum(norms, 1e-30)), delta)
    x = x0 + delta
    return x if domain is None else np.clip(x, *domain)


def _ascent_direction(gradient, norm):
    """The steepest-ascent step of unit size in the attack's norm: sign for L-inf, normalised for L2."""
    if norm == "linf":
        return np.sign(gradient)
    norms = np.sqrt((gradient.reshape(len(gradient), -1).astype(np.float64) ** 2).sum(axis=1))
    return gradient / np.maximum(norms, 1e-30).astype(np.float32).reshape((-1,) + (1,) * (gradient.ndim - 1))


def _random_start(x0, epsilon, norm, rng):
    """A random point of each image's ball: uniform for L-inf, a random direction and length for L2."""
    if norm == "linf":
        return x0 + rng.uniform(-1, 1, size=x0.shape).astype(np.float32) * _per_image(epsilon, x0)
    direction = _ascent_direction(rng.standard_normal(x0.shape).astype(np.float32), "l2")
    lengths = epsilon * rng.uniform(0, 1, size=len(x0)) ** (1.0 / x0[0].size)
    return x0 + direction * _per_image(lengths, x0)


def _check_attack(detector, X, direction, norm, epsilon, steps, step_size, domain, batch_size):
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS} ('raise': push scores up, a false alarm for a "
                         f"normal image; 'lower': push them down, an evasion for an anomaly), got {direction!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    budgets = np.asarray(epsilon, dtype=np.float64) if np.ndim(epsilon) else None
    if budgets is None and (not _is_real(epsilon) or epsilon < 0):
        raise ValueError(f"epsilon must be a finite number >= 0 (the attack's budget), got {epsilon!r}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        check_integer(name, value, 1)
    if step_size is not None and (not _is_real(step_size) or step_size <= 0):
        raise ValueError(f"step_size must be None or a positive number, got {step_size!r}")
    _check_fitted_detector(detector)
    x = detector._check_X(X)
    if budgets is None:
        budgets = np.full(len(x), float(epsilon))
    elif budgets.shape != (len(x),) or not np.isfinite(budgets).all() or (budgets < 0).any():
        raise ValueError(f"epsilon must be a number or one finite budget >= 0 per image ({len(x)}), "
                         f"got an array of shape {budgets.shape}")
    return x, budgets, _check_domain(domain, x)


def pgd_attack(detector, X, direction="raise", norm="l2", epsilon=1.0, steps=20, step_size=None,
               domain=(0.0, 1.0), seed=0, random_start=True, batch_size=256) -> np.ndarray:
    """Projected gradient attack on the detector's score; returns the perturbed images.

    ``direction="raise"`` pushes every score up (normal images -> false alarms), ``"lower"`` down
    (anomalies -> evasions). Each image stays within ``epsilon`` (a number, or one budget per
    image, e.g. its certified radius) of itself in ``norm`` ("l2" or "linf") and inside
    ``domain=(low, high)`` (None: unbounded). ``steps`` steps of ``step_size`` (None:
    ``2.5 epsilon / steps``), each the steepest step in the attack's norm (the gradient's sign
    for L-inf, the normalised gradient for L2), followed by the projection.
    ``random_start`` begins at a seeded random point of the ball. Per image the iterate with the
    best attacked score is kept (for AnoGAN: the last one, since the surrogate only approximates
    the score). ``batch_size`` images are attacked at a time.
    """
    x, budgets, box = _check_attack(detector, X, direction, norm, epsilon, steps, step_size, domain, batch_size)
    if not budgets.any():
        return x.copy()
    steps_taken = 2.5 * budgets / steps if step_size is None else np.full(len(x), float(step_size))
    sign = 1.0 if direction == "raise" else -1.0
    objective = _objective(detector)
    keep_best = getattr(objective, "exact", False)
    rng = np.random.default_rng(seed)
    parts = []
    for begin in range(0, len(x), batch_size):
        batch = slice(begin, begin + batch_size)
        x0, radius, step = x[batch], budgets[batch], _per_image(steps_taken[batch], x[batch])
        objective.start(x0)
        current = _project(_random_start(x0, radius, norm, rng), x0, radius, norm, box) if random_start \
            else x0.copy()
        best, best_value = current.copy(), np.full(len(x0), -np.inf)
        for _ in range(steps):
            values, gradient = objective.value_and_gradient(current)
            improved = sign * values > best_value
            best[improved], best_value[improved] = current[improved], sign * values[improved]
            current = _project(current + sign * step * _ascent_direction(gradient, norm), x0, radius, norm, box)
        if keep_best:
            values, _ = objective.value_and_gradient(current)
            improved = sign * values > best_value
            best[improved] = current[improved]
        parts.append(best if keep_best else current)
    return np.concatenate(parts).astype(np.float32)


@dataclass
class AttackCurve:
    """Attack results per budget ``epsilon`` (lists aligned with ``epsilons``).

    ``false_alarm_rate``: of the normal images below the threshold before the attack, the fraction
    raised above it; ``evasion_rate``: of the anomalies above it, the fraction lowered below it;
    ``success_rate``: both together (flipped among all correctly classified images); ``auc``: the
    ROC-AUC with every normal image raised and every anomaly lowered; ``accuracy``: the fraction
    classified correctly after the attack.
    """

    norm: str
    epsilons: list
    threshold: float
    false_alarm_rate: list
    evasion_rate: list
    success_rate: list
    auc: list
    accuracy: list
    n_normal: int
    n_anomalous: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def attack_curve(detector, X, y, epsilons, norm="l2", steps=20, step_size=None, threshold=None,
                 domain=(0.0, 1.0), seed=0, batch_size=256, random_start=False) -> AttackCurve:
    """Attack every image of ``X`` at each budget: normal images (``y == 0``) up, anomalies down.

    ``epsilons`` are sorted in increasing order. ``threshold`` None takes the detector's
    ``threshold_`` (a quantile of its training scores). Scores before and after are the
    detector's own ``decision_function``. ``step_size`` None scales with each budget
    (``2.5 epsilon / steps``). The attacks start from the clean images (``random_start=False``):
    a random start at the edge of a large ball is noise, which anomaly scores rate as anomalous,
    and it handicaps evasions. The clean image and every image found for a smaller budget lie
    inside each larger ball, so per image the worst score found so far is kept: the curves never
    improve with the budget. Returns an :class:`AttackCurve`.
    """
    _check_fitted_detector(detector)
    x = detector._check_X(X)
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x) or not np.isin(y, (0, 1)).all() or len(np.unique(y)) < 2:
        raise ValueError("y must hold one label per image, 0 (normal) or 1 (anomaly), with both present")
    epsilons = sorted(float(e) for e in _check_radii(epsilons))
    threshold = float(detector.threshold_ if threshold is None else threshold)
    normal, anomalous = x[y == 0], x[y == 1]
    clean_normal, clean_anomalous = detector.decision_function(normal), detector.decision_function(anomalous)
    correct_normal, correct_anomalous = clean_normal <= threshold, clean_anomalous > threshold
    rows = {key: [] for key in ("false_alarm_rate", "evasion_rate", "success_rate", "auc", "accuracy")}
    options = dict(norm=norm, steps=steps, step_size=step_size, domain=domain, seed=seed, batch_size=batch_size,
                   random_start=random_start)
    raised, lowered = clean_normal, clean_anomalous
    for epsilon in epsilons:
        raised = np.maximum(raised, detector.decision_function(
            pgd_attack(detector, normal, "raise", epsilon=epsilon, **options)))
        lowered = np.minimum(lowered, detector.decision_function(
            pgd_attack(detector, anomalous, "lower", epsilon=epsilon, **options)))
        false_alarms = correct_normal & (raised > threshold)
        evasions = correct_anomalous & (lowered <= threshold)
        rows["false_alarm_rate"].append(float(false_alarms.sum() / max(correct_normal.sum(), 1)))
        rows["evasion_rate"].append(float(evasions.sum() / max(correct_anomalous.sum(), 1)))
        rows["success_rate"].append(float((false_alarms.sum() + evasions.sum())
                                          / max(correct_normal.sum() + correct_anomalous.sum(), 1)))
        labels = np.r_[np.zeros(len(raised)), np.ones(len(lowered))]
        rows["auc"].append(roc_auc(labels, np.r_[raised, lowered]))
        rows["accuracy"].append(float(((raised <= threshold).sum() + (lowered > threshold).sum()) / len(x)))
    return AttackCurve(norm=norm, epsilons=epsilons, threshold=threshold, n_normal=len(normal),
                       n_anomalous=len(anomalous), **rows)

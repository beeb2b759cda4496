"""The contract every adlip detector keeps, deep or classical (PyOD's API, scikit-learn's conventions).

:class:`Detector` is the thin base: ``fit`` checks the parameters, then the input, before any work;
trains; scores the training data and sets PyOD's ``decision_scores_``, ``threshold_`` (the
``1 - contamination`` quantile of those scores) and ``labels_``. ``decision_function`` is higher
for more anomalous inputs, ``predict`` is 1 above ``threshold_``. Hyperparameters are ``__init__``
arguments, stored as given and checked in ``fit``, so that ``clone`` and ``get_params`` work.

A subclass writes ``_check_params`` (calling this one), ``_check_X``, ``_train(x)`` and
``_score(x)``. It may also describe its score for attacks and certificates (see
:mod:`adlip.detectors.scoring`); the defaults here say it has no closed-form score and no constant.
:class:`adlip.detectors.base.BaseDetector` adds what the deep detectors share: schedules, seeds,
networks, saving and loading.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from adlip.checks import check_number


class Detector(BaseEstimator):
    """An anomaly detector: fit on normal data, score anything, threshold at a contamination level."""

    scaling = "gcn"   # the one_vs_rest scaling the detector expects (the registry reads it)

    # -- what subclasses provide --
    def _check_params(self) -> None:
        """Raise a ValueError naming the bad parameter, before anything is built or trained."""
        check_number("contamination", self.contamination, low=0.0, high=1.0, low_closed=False, high_closed=False,
                     finite=False, what="in (0, 1)")

    def _check_X(self, X) -> np.ndarray:
        raise NotImplementedError

    def _train(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score_training(self, x: np.ndarray) -> np.ndarray:
        """The training scores behind ``threshold_`` (here: every training image's)."""
        return self._score(x)

    # -- the API --
    def check_params(self):
        """Validate the hyperparameters now (``fit`` does it too) and return ``self``: a command line or
        a sweep refuses bad input this way before any data is loaded or any network built."""
        self._check_params()
        return self

    def fit(self, X, y=None):
        """Train on ``X`` (normal data; ``y`` is ignored) and score it. Returns ``self``."""
        self._check_params()
        x = self._check_X(X)
        self._train(x)
        self.decision_scores_ = self._score_training(x)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Anomaly scores of ``X``, one per image; higher means more anomalous."""
        self._check_fitted()
        return self._score(self._check_X(X))

    def score_batches(self, X) -> list:
        """``decision_function(X)`` as independent parts ``(start, stop, score)``: ``score()`` gives
        the scores of ``X[start:stop]``, and the parts' scores joined in order are bitwise those of
        ``decision_function(X)``. A caller can keep each part as it finishes, so that an interrupted
        scoring loses only the part in flight. One part here; detectors whose scoring is long
        (AnoGAN's latent search) split it.
        """
        self._check_fitted()
        x = self._check_X(X)
        return [(0, len(x), lambda: self._score(x))]

    def predict(self, X) -> np.ndarray:
        """1 for images scored above ``threshold_`` (outliers), 0 otherwise."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    # -- the score as a function of the input (attacks and certificates; see adlip.detectors.scoring) --
    def score_tensor(self, x):
        """The anomaly scores of a batch as a differentiable TensorFlow tensor (closed-form scores only)."""
        raise ValueError(f"{type(self).__name__} has no closed-form differentiable score")

    def certified_score_tensor(self, x):
        """The score whose Lipschitz constant certificates use (here: the score itself)."""
        return self.score_tensor(x)

    def certified_scores(self, scores) -> np.ndarray:
        """``decision_function`` scores mapped like ``certified_score_tensor`` maps the score (here: as is)."""
        return np.asarray(scores, dtype=np.float64)

    def score_lipschitz_constant(self):
        """The provable L2 constant of ``certified_score_tensor``, or None (``no_certificate_reason`` says why)."""
        return None

    def no_certificate_reason(self):
        """Why the score carries no Lipschitz certificate, or None when it does."""
        if getattr(self, "lipschitz_constant", None) is None:
            return (f"this {type(self).__name__} has a standard network or none (lipschitz=None): its score has "
                    "no provable Lipschitz constant")
        if self.score_lipschitz_constant() is None:
            return f"no Lipschitz constant of {type(self).__name__}'s score in its input is known"
        return None

    def attack_objective(self):
        """What an attack climbs: ``start(x0)`` and ``value_and_gradient(x)`` of the score in the input."""
        from adlip.detectors.scoring import ClosedFormObjective

        return ClosedFormObjective(self)

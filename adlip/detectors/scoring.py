"""A detector's score as a differentiable function of its input, and the score's Lipschitz constant.

Attacks (:func:`adlip.robustness.pgd_attack`) and certificates (:func:`adlip.robustness.certify`)
work through three methods every detector may provide, so that they serve any detector without
knowing its family:

* ``score_tensor(x)``: the anomaly score of a batch as a TensorFlow tensor, equal to
  ``decision_function`` up to float32 rounding (detectors without a closed-form score raise);
* ``certified_score_tensor(x)`` and ``certified_scores(scores)``: a monotone transform of the
  score (same ranking, same decisions at the transformed threshold) whose constant is known;
* ``score_lipschitz_constant()``: that constant (L2), or None, with ``no_certificate_reason()``
  saying why.

:class:`ClosedFormObjective` is the attack's objective for a closed-form score; a detector whose
score is a search (AnoGAN) supplies its own ``attack_objective()``.
"""
from __future__ import annotations

NORMALISATION_MARGIN = 1e-3     # deel-lip's numerical normalisation: measured constants stay below K (1 + 1e-3)
SIGMOID_SLOPE = 0.25            # the largest slope of the logistic sigmoid


def flat_norm(values):
    """Per-image L2 norm of a batch tensor (a tiny offset keeps its gradient finite at 0)."""
    import tensorflow as tf

    return tf.sqrt(tf.reduce_sum(tf.square(tf.reshape(values, (tf.shape(values)[0], -1))), axis=1) + 1e-20)


def final_slope(model) -> float:
    """The largest slope of the model's last elementwise activation: 1/4 for a sigmoid, else 1."""
    from adlip.architectures import iter_layers

    for layer in reversed(list(iter_layers(model))):
        kind = layer.__class__.__name__
        if kind in ("Reshape", "Flatten"):
            continue
        is_sigmoid = kind == "Activation" and getattr(layer.activation, "__name__", "") == "sigmoid"
        return SIGMOID_SLOPE if is_sigmoid else 1.0
    return 1.0


def network_constant(detector) -> float:
    """The detector's network constant K with deel-lip's normalisation margin, K (1 + 1e-3)."""
    return detector.lipschitz_constant * (1 + NORMALISATION_MARGIN)


class ClosedFormObjective:
    """Value and input gradient of a detector's closed-form ``score_tensor``, compiled once.

    ``exact``: the value is the detector's score itself, so an attack may keep its best iterate.
    """

    exact = True

    def __init__(self, detector):
        import tensorflow as tf

        score = detector.score_tensor

        @tf.function(reduce_retracing=True)
        def value_and_gradient(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                values = score(x)
                total = tf.reduce_sum(values)
            return values, tape.gradient(total, x)

        self._value_and_gradient = value_and_gradient

    def start(self, x0):
        """Prepare for a new batch of clean images (nothing to do for closed-form scores)."""

    def value_and_gradient(self, x):
        import tensorflow as tf

        values, gradient = self._value_and_gradient(tf.constant(x))
        return values.numpy(), gradient.numpy()

"""Metrics: ROC-AUC, empirical Lipschitz lower bounds, and the thesis's selection score.

The thesis (section 5, eq. 5.1) estimates a network's Lipschitz constant from below by the
largest ratio ``||f(x) - f(y)|| / ||x - y||`` over random pairs of test inputs, in 10 timed rounds,
and reports how many standard deviations the maximum lies above the mean of the round maxima.
``lipschitz_lower_bound`` does the same, vectorised: the network runs once per input, and pairs are
then scored a whole block at a time with two matrix products. ``lipschitz_gradient_ascent`` is a
stronger estimator (the thesis's chapter 6 asks for one): it moves pairs of inputs uphill on the ratio.
The book's chapter on robustness metrics compares them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from adlip.checks import check_integer, check_number


def check_binary_labels(y_true, scores):
    """``(y_true, scores)`` as flat arrays, after checking they match and labels are 0 / 1 only."""
    y_true = np.asarray(y_true).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true has {y_true.size} entries but scores has {scores.size}")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true must hold 0 (normal) and 1 (anomaly) only")
    return y_true, scores


def _check_labels_scores(y_true, scores):
    y_true, scores = check_binary_labels(y_true, scores)
    if len(np.unique(y_true)) < 2:
        raise ValueError("ROC-AUC needs both normal (0) and anomalous (1) examples in y_true")
    if not np.isfinite(scores).all():
        raise ValueError(f"scores contain {int((~np.isfinite(scores)).sum())} NaN or infinite values")
    return y_true, scores


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve, as a fraction; label 1 = anomaly, higher score = more anomalous."""
    from sklearn.metrics import roc_auc_score

    y_true, scores = _check_labels_scores(y_true, scores)
    return float(roc_auc_score(y_true, scores))


def auc_standard_error(auc: float, n_anomalous: int, n_normal: int) -> float:
    """The standard error of a ROC-AUC measured on ``n_anomalous`` + ``n_normal`` test examples.

    Hanley and McNeil's (1982) approximation, which models the two score distributions as
    exponential: ``Q1 = A / (2 - A)``, ``Q2 = 2 A^2 / (1 + A)`` and
    ``var = (A (1 - A) + (n_a - 1)(Q1 - A^2) + (n_n - 1)(Q2 - A^2)) / (n_a n_n)``. It says how far the
    same detector's ROC-AUC moves between random test sets of that size: about 2.4 points at an AUC
    of 0.7 on 900 anomalies and 100 normal images, which is what AnoGAN's 1000-image subset of MNIST
    holds. ``auc`` is a fraction in [0, 1].
    """
    a = check_number("auc", auc, low=0.0, high=1.0, what="a ROC-AUC as a fraction in [0, 1]")
    n_a = check_integer("n_anomalous", n_anomalous, 1)
    n_n = check_integer("n_normal", n_normal, 1)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (n_a - 1) * (q1 - a * a) + (n_n - 1) * (q2 - a * a)) / (n_a * n_n)
    return float(np.sqrt(max(variance, 0.0)))


def paired_auc_difference(y_true, scores_a, scores_b, n_boot: int = 2000, level: float = 0.95,
                          seed: int = 0) -> tuple:
    """ROC-AUC of ``scores_b`` minus that of ``scores_a`` on the same examples, with a bootstrap interval.

    Returns ``(difference, low, high)`` as fractions. Each bootstrap draw resamples the normal and
    the anomalous examples separately (so every draw keeps both classes and their counts) and
    scores both scorers on the same draw: the interval is that of a paired difference, much
    narrower than two independent ROC-AUCs' errors when the scorers rank alike. Seeded.
    """
    y_true, scores_a = _check_labels_scores(y_true, scores_a)
    _, scores_b = _check_labels_scores(y_true, scores_b)
    n_boot = check_integer("n_boot", n_boot, 10)
    level = check_number("level", level, low=0.0, high=1.0, low_closed=False, high_closed=False,
                         what="a fraction in (0, 1)")
    rng = np.random.default_rng(seed)
    normal, anomalous = np.flatnonzero(y_true == 0), np.flatnonzero(y_true == 1)
    labels = np.r_[np.zeros(len(normal), int), np.ones(len(anomalous), int)]
    draws = np.empty(n_boot)
    for i in range(n_boot):
        rows = np.r_[rng.choice(normal, len(normal)), rng.choice(anomalous, len(anomalous))]
        draws[i] = roc_auc(labels, scores_b[rows]) - roc_auc(labels, scores_a[rows])
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return roc_auc(y_true, scores_b) - roc_auc(y_true, scores_a), float(low), float(high)


def as_numpy_function(f, batch_size: int = 512):
    """Wrap a tf.keras model (or any callable on batches) as a numpy batch -> numpy batch function."""
    if hasattr(f, "predict_on_batch") or hasattr(f, "trainable_variables"):
        model = f

        def f(x):  # noqa: F811  (the wrapper replaces the model on purpose)
            outputs = [np.asarray(model(x[i:i + batch_size], training=False))
                       for i in range(0, len(x), batch_size)]
            return np.concatenate(outputs)
    if not callable(f):
        raise ValueError(f"f must be a callable or a tf.keras model, got {type(f).__name__}")
    return f


@dataclass
class LipschitzBound:
    """An empirical lower bound of a Lipschitz constant (thesis eq. 5.1) and how it was found."""

    value: float
    round_maxima: list = field(default_factory=list)
    sigma: float = 0.0
    pairs: int = 0
    seconds: float = 0.0

    def __str__(self):
        return f"{self.value:.4f} ({self.sigma:.3f} sigma, {self.pairs} pairs)"


def sigma_distance(round_maxima) -> float:
    """How many standard deviations the largest round maximum lies above their mean (0 if all equal)."""
    maxima = np.asarray(round_maxima, dtype=np.float64)
    spread = maxima.std()
    return 0.0 if spread == 0 else float((maxima.max() - maxima.mean()) / spread)


def _block_best_pair(x, fx, sq_x, sq_f, rows, cols):
    """Best ratio over all pairs between two disjoint index blocks, via Gram matrices.

    ``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b`` scores a whole block with two matrix products; the
    winning pair's ratio is then recomputed from the differences, so rounding cannot inflate it.
    """
    dx = sq_x[rows, None] + sq_x[None, cols] - 2.0 * x[rows] @ x[cols].T
    df = sq_f[rows, None] + sq_f[None, cols] - 2.0 * fx[rows] @ fx[cols].T
    valid = dx > 1e-12 * np.maximum(sq_x[rows, None], sq_x[None, cols])
    ratio = np.where(valid, np.sqrt(np.clip(df, 0, None)) / np.sqrt(np.where(valid, dx, 1.0)), -1.0)
    i, j = np.unravel_index(np.argmax(ratio), ratio.shape)
    a, b = rows[i], cols[j]
    distance = np.linalg.norm(x[a] - x[b])
    return 0.0 if distance == 0 else float(np.linalg.norm(fx[a] - fx[b]) / distance)


def lipschitz_lower_bound(f, x, rounds: int = 10, pairs_per_round: int | None = None,
                          seconds_per_round: float | None = None, seed: int = 0,
                          block_size: int = 512, outputs=None) -> LipschitzBound:
    """The thesis's robustness metric: max of ``||f(x)-f(y)|| / ||x-y||`` over random input pairs.

    Each of ``rounds`` rounds draws random pairs of rows of ``x`` until its budget is spent: either
    ``pairs_per_round`` pairs (deterministic for a seed) or ``seconds_per_round`` seconds (the
    thesis used 10 rounds of 15 s). Pairs come in blocks: two disjoint random sets of
    ``block_size`` inputs give ``block_size**2`` pairs. ``outputs`` may pass precomputed ``f(x)``.
    Returns the maximum, the per-round maxima and the maximum's distance from their mean in
    standard deviations.
    """
    if (pairs_per_round is None) == (seconds_per_round is None):
        raise ValueError("give exactly one budget: pairs_per_round=... or seconds_per_round=...")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    x = np.asarray(x)
    if len(x) < 2:
        raise ValueError(f"need at least 2 inputs to form pairs, got {len(x)}")
    start = time.perf_counter()
    fx = as_numpy_function(f)(x) if outputs is None else np.asarray(outputs)
    x = x.reshape(len(x), -1).astype(np.float64)
    fx = fx.reshape(len(fx), -1).astype(np.float64)
    sq_x, sq_f = (x ** 2).sum(1), (fx ** 2).sum(1)
    rng = np.random.default_rng(seed)
    block = min(block_size, len(x) // 2)
    maxima, total = [], 0
    for _ in range(rounds):
        best, pairs, round_start = 0.0, 0, time.perf_counter()
        while True:
            if pairs_per_round is not None and pairs >= pairs_per_round:
                break
            if seconds_per_round is not None and pairs and time.perf_counter() - round_start >= seconds_per_round:
                break
            size = block if pairs_per_round is None else max(1, min(block, int(np.ceil(np.sqrt(pairs_per_round - pairs)))))
            order = rng.permutation(len(x))
            best = max(best, _block_best_pair(x, fx, sq_x, sq_f, order[:size], order[size:2 * size]))
            pairs += size * size
        maxima.append(best)
        total += pairs
    return LipschitzBound(float(max(maxima)), maxima, sigma_distance(maxima), total,
                          time.perf_counter() - start)


def _timed_pair_search(f, draw_pair_batch, seconds: float) -> tuple:
    """Largest ratio over pair batches drawn by ``draw_pair_batch()`` until ``seconds`` have passed."""
    f = as_numpy_function(f)
    start, best, pairs = time.perf_counter(), 0.0, 0
    while not pairs or time.perf_counter() - start < seconds:
        a, b = draw_pair_batch()
        fa = f(a).reshape(len(a), -1).astype(np.float64)
        fb = f(b).reshape(len(b), -1).astype(np.float64)
        distance = np.linalg.norm((a - b).reshape(len(a), -1).astype(np.float64), axis=1)
        ok = distance > 0
        best = max(best, float((np.linalg.norm(fa - fb, axis=1)[ok] / distance[ok]).max(initial=0.0)))
        pairs += len(a)
    return best, pairs


def random_image_lipschitz_bound(f, input_shape, domain=(0.0, 1.0), seconds: float = 10.0, seed: int = 0,
                                 batch_size: int = 512) -> tuple:
    """Lower bound from pairs of uniformly random images in ``domain``: ``(best ratio, pairs tried)``.

    Fresh images every batch, so unlike the test-pair metric the search is not limited to a fixed
    set; but random images are far from the data and from each other, where networks are flat.
    """
    low, high = domain
    rng = np.random.default_rng(seed)

    def draw():
        return tuple(rng.uniform(low, high, (batch_size,) + tuple(input_shape)).astype(np.float32)
                     for _ in range(2))
    return _timed_pair_search(f, draw, seconds)


def local_perturbation_lipschitz_bound(f, x, radius: float = 0.1, seconds: float = 10.0, seed: int = 0,
                                       batch_size: int = 512, domain=None) -> tuple:
    """Lower bound from test inputs and random points at L2 distance ``radius`` around them.

    Measures local slopes, which bound the constant as well as far pairs do (the constant is the
    largest gradient norm); returns ``(best ratio, pairs tried)``.
    """
    x = np.asarray(x, dtype=np.float32)
    rng = np.random.default_rng(seed)

    def draw():
        a = x[rng.integers(0, len(x), batch_size)]
        step = rng.standard_normal(a.shape).astype(np.float32)
        step *= radius / np.linalg.norm(step.reshape(len(a), -1), axis=1).reshape((-1,) + (1,) * (a.ndim - 1))
        b = a + step
        return a, (np.clip(b, *domain) if domain is not None else b)
    return _timed_pair_search(f, draw, seconds)


def compare_lipschitz_estimators(model, x, seconds: float = 10.0, domain=(0.0, 1.0), seed: int = 0,
                                 radius: float = 0.1) -> dict:
    """Every lower-bound estimator at the same time budget, and the guaranteed upper bound.

    Returns ``{name: value}`` for "test pairs" (the thesis's eq. 5.1, 10 rounds sharing the
    budget), "random images", "local perturbations", "gradient ascent" (starting from test pairs,
    kept in ``domain``) and "upper bound" (product of layer norms; None if a layer is unknown).
    """
    x = np.asarray(x, dtype=np.float32)
    values = {
        "test pairs": lipschitz_lower_bound(model, x, rounds=10, seconds_per_round=seconds / 10, seed=seed).value,
        "random images": random_image_lipschitz_bound(model, x.shape[1:], domain, seconds, seed)[0],
        "local perturbations": local_perturbation_lipschitz_bound(model, x, radius, seconds, seed,
                                                                  domain=domain)[0],
        "gradient ascent": lipschitz_gradient_ascent(model, x, starts=64, steps=100_000, seed=seed,
                                                     domain=domain, seconds=seconds).value,
    }
    try:
        values["upper bound"] = lipschitz_upper_bound(model, seed=seed).value
    except ValueError:
        values["upper bound"] = None
    return values


def naive_lipschitz_lower_bound(f, x, pairs: int, seed: int = 0) -> float:
    """One pair at a time, two network calls per pair: the slow reference the benchmark compares to."""
    f = as_numpy_function(f)
    x = np.asarray(x)
    rng = np.random.default_rng(seed)
    best = 0.0
    for _ in range(pairs):
        i, j = rng.choice(len(x), size=2, replace=False)
        distance = np.linalg.norm((x[i] - x[j]).ravel())
        if distance > 0:
            change = np.linalg.norm((f(x[i:i + 1]) - f(x[j:j + 1])).ravel())
            best = max(best, float(change / distance))
    return best


@dataclass
class GradientAscentBound:
    """A lower bound found by gradient ascent on the ratio, with its trajectory."""

    value: float
    history: list = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self):
        return f"{self.value:.4f} (gradient ascent, {len(self.history)} steps)"


def lipschitz_gradient_ascent(model, x, starts: int = 32, steps: int = 100, learning_rate: float = 0.01,
                              seed: int = 0, domain: tuple | None = None,
                              seconds: float | None = None) -> GradientAscentBound:
    """A stronger lower bound: pairs of inputs climb the ratio ``||f(a)-f(b)|| / ||a-b||`` by Adam.

    Half of the ``starts`` pairs begin as random pairs of rows of ``x``, half as a row and a nearby
    point (which finds the steepest local slope). ``domain=(low, high)`` keeps the pairs in the data's
    range; ``None`` searches all of input space, where a K-Lipschitz network's ratio can never pass K.
    Every evaluated pair is a valid lower bound, so each start's best pair over all steps is kept and
    the largest of those ratios, recomputed exactly in float64, is returned.
    ``seconds`` stops the climb once that much time has passed (``steps`` is then a maximum), so
    that estimators can be compared at the same time budget.
    ``model`` must be a TensorFlow-differentiable callable (a tf.keras model).
    """
    import adlip  # noqa: F401
    import tensorflow as tf

    if starts < 2 or steps < 1:
        raise ValueError(f"need starts >= 2 and steps >= 1, got starts={starts}, steps={steps}")
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be positive (or None for no time limit), got {seconds!r}")
    x = np.asarray(x, dtype=np.float32)
    if len(x) < 2:
        raise ValueError(f"need at least 2 inputs, got {len(x)}")
    start_time = time.perf_counter()
    rng = np.random.default_rng(seed)
    far = starts // 2
    first = x[rng.integers(0, len(x), starts)]
    second = x[rng.integers(0, len(x), starts)]
    scale = float(np.std(x)) or 1.0
    second[far:] = first[far:] + 0.05 * scale * rng.standard_normal(first[far:].shape).astype(np.float32)
    a, b = tf.Variable(first), tf.Variable(second)
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    axes = list(range(1, x.ndim))

    def ratios():
        change = tf.norm(tf.reshape(model(a, training=False) - model(b, training=False), (starts, -1)), axis=1)
        return change / tf.sqrt(tf.reduce_sum(tf.square(a - b), axis=axes) + 1e-12)

    @tf.function
    def ascend():
        with tf.GradientTape() as tape:
            ratio = ratios()
            loss = -tf.reduce_sum(tf.math.log(ratio + 1e-12))
        optimizer.apply_gradients(zip(tape.gradient(loss, [a, b]), [a, b]))
        if domain is not None:
            a.assign(tf.clip_by_value(a, *domain))
            b.assign(tf.clip_by_value(b, *domain))
        return ratio  # the ratio of the pair as it was before this step

    best, best_a, best_b, history = np.full(starts, -1.0), first.copy(), second.copy(), []
    for step in range(steps + 1):
        out_of_time = seconds is not None and time.perf_counter() - start_time > seconds
        a_now, b_now = a.numpy(), b.numpy()
        ratio = (ascend() if step < steps and not out_of_time else tf.function(ratios)()).numpy()
        improved = ratio > best
        best[improved], best_a[improved], best_b[improved] = ratio[improved], a_now[improved], b_now[improved]
        history.append(float(best.max()))
        if out_of_time:
            break
    return GradientAscentBound(_exact_best_ratio(model, best_a, best_b), history,
                               time.perf_counter() - start_time)


def _exact_best_ratio(model, a, b) -> float:
    """The largest ratio over pairs (a_i, b_i), recomputed in float64 from the outputs' differences, so
    that float32 rounding in the search can never inflate the reported bound."""
    fa = np.asarray(model(a, training=False), dtype=np.float64).reshape(len(a), -1)
    fb = np.asarray(model(b, training=False), dtype=np.float64).reshape(len(b), -1)
    distance = np.linalg.norm((a.astype(np.float64) - b.astype(np.float64)).reshape(len(a), -1), axis=1)
    ok = distance > 0
    return float((np.linalg.norm(fa - fb, axis=1)[ok] / distance[ok]).max(initial=0.0))


@dataclass
class UpperBound:
    """A guaranteed Lipschitz constant (L2) of a layered network: the product of per-layer constants."""

    value: float
    layers: list = field(default_factory=list)   # (layer name, class name, constant) in order

    def __str__(self):
        return f"{self.value:.4g} (product of {len(self.layers)} layer constants)"


# Layers that change nothing about distances, and elementwise activations by their largest slope.
_ISOMETRIC_LAYERS = {"InputLayer", "Flatten", "Reshape", "Dropout", "GaussianNoise", "Permute",
                     "ScaledUpSampling2D"}
_ONE_LIPSCHITZ_LAYERS = {"ReLU", "GroupSort", "GroupSort2", "FullSort", "MaxMin", "InvertibleDownSampling",
                         "ScaledL2NormPooling2D", "ScaledGlobalL2NormPooling2D", "Cropping2D"}
_AFFINE_LAYERS = {"Dense", "Conv2D", "Conv2DTranspose", "BatchNormalization", "UpSampling2D",
                  "SpectralDense", "SpectralConv2D", "SpectralConv2DTranspose", "FrobeniusDense",
                  "FrobeniusConv2D", "OrthoConv2D", "AveragePooling2D", "GlobalAveragePooling2D",
                  "OperatorNormConv2D"}
_ACTIVATION_SLOPES = {"linear": 1.0, "relu": 1.0, "tanh": 1.0, "sigmoid": 0.25, "leaky_relu": 1.0,
                      "elu": 1.0, "softplus": 1.0, "swish": 1.1}


def _activation_slope(activation) -> float:
    name = getattr(activation, "__name__", str(activation))
    if name not in _ACTIVATION_SLOPES:
        raise ValueError(f"no known Lipschitz constant for the activation {name!r}")
    return _ACTIVATION_SLOPES[name]


def _linear_operator_norm(layer, seed: int) -> float:
    """Largest singular value of the linear part ``v -> layer(v) - layer(0)``.

    ARPACK's Lanczos iteration (``scipy.sparse.linalg.svds``) on the layer as an operator: the
    forward map and its adjoint (by automatic differentiation) are all it needs, so any affine layer
    works, convolutions with their padding and strides included, without forming a matrix. Plain
    power iteration stalls when the top singular values are close, which convolutions often have.
    """
    import tensorflow as tf

    in_shape = (1,) + tuple(int(d) for d in layer.input_shape[1:])
    offset = layer(tf.zeros(in_shape), training=False)
    out_size, in_size = int(np.prod(offset.shape)), int(np.prod(in_shape))

    @tf.function
    def forward(v):
        return tf.reshape(layer(tf.reshape(v, in_shape), training=False) - offset, (-1,))

    @tf.function
    def adjoint(u):
        v = tf.zeros(in_shape)
        with tf.GradientTape() as tape:
            tape.watch(v)
            out = tf.reshape(layer(v, training=False), (-1,))
        return tf.reshape(tape.gradient(out, v, output_gradients=u), (-1,))

    def as_float32(vector):
        return tf.constant(np.asarray(vector, dtype=np.float32).reshape(-1))

    def matvec(v):
        return forward(as_float32(v)).numpy().astype(np.float64)

    def rmatvec(u):
        return adjoint(as_float32(u)).numpy().astype(np.float64)

    if min(out_size, in_size) == 1:                      # svds needs k < min(shape)
        column = rmatvec(np.ones(1)) if out_size == 1 else matvec(np.ones(1))
        return float(np.linalg.norm(column))
    start = np.random.default_rng(seed).standard_normal(in_size)
    from adlip.layers import top_singular_pair

    return top_singular_pair(matvec, rmatvec, (out_size, in_size), start, tol=1e-6)[0]


def _layer_constant(layer, seed: int) -> float:
    kind = type(layer).__name__
    if hasattr(layer, "layers") and layer.layers:         # a nested model
        return lipschitz_upper_bound(layer, seed).value
    if kind in _ISOMETRIC_LAYERS or kind in _ONE_LIPSCHITZ_LAYERS:
        return 1.0
    if kind == "LeakyReLU":
        return max(1.0, abs(float(layer.alpha)))
    if kind == "Activation":
        return _activation_slope(layer.activation)
    if kind == "MaxPooling2D":
        overlap = [int(np.ceil(p / s)) for p, s in zip(layer.pool_size, layer.strides)]
        return float(np.sqrt(np.prod(overlap)))       # each input sits in at most prod(overlap) windows
    if kind in _AFFINE_LAYERS:
        slope = _activation_slope(layer.activation) if hasattr(layer, "activation") else 1.0
        return _linear_operator_norm(layer, seed) * slope
    raise ValueError(f"lipschitz_upper_bound does not know the Lipschitz constant of layer {layer.name!r} "
                     f"({kind}); it handles {sorted(_AFFINE_LAYERS | _ONE_LIPSCHITZ_LAYERS)} and common "
                     "activations")


def lipschitz_upper_bound(model, seed: int = 0) -> UpperBound:
    """A guaranteed L2 Lipschitz constant of a layered tf.keras model: the product of its layers'.

    The composition of an L1- and an L2-Lipschitz map is L1*L2-Lipschitz, so the product bounds the
    network's constant from above, for standard and Lipschitz networks alike; together with a lower
    bound it brackets the true constant. Affine layers (dense, convolutions, batch norm in inference
    mode, upsampling) contribute the spectral norm of their linear part, found by Lanczos iteration
    (relative tolerance 1e-6); elementwise activations their largest slope; max pooling 1 when its
    windows do not overlap. The bound is usually loose for standard networks (the layers' worst
    directions rarely line up) and tight for gradient-norm-preserving ones. Only models whose layers
    run one after another (``Sequential``, possibly nested) are supported.
    """
    import adlip  # noqa: F401

    layers = getattr(model, "layers", None)
    if not layers:
        raise ValueError("lipschitz_upper_bound needs a tf.keras model with layers (a Sequential network)")
    constants = [(layer.name, type(layer).__name__, _layer_constant(layer, seed))
                 for layer in layers]
    return UpperBound(float(np.prod([c for _, _, c in constants])), constants)


def certified_auroc(scores_normal, scores_anomalous, eps: float, lipschitz: float = 1.0) -> float:
    """ROC-AUC that no L2 perturbation of size ``eps`` of any test input can lower.

    Scores are anomaly scores (higher = more anomalous) of a ``lipschitz``-Lipschitz score
    function: a perturbation of norm ``eps`` moves a score by at most ``lipschitz * eps``. In the
    worst case every normal score rises and every anomalous score falls by that much, so the
    AUROC of ``scores_normal + lipschitz * eps`` against ``scores_anomalous - lipschitz * eps``
    is a lower bound (at ``eps = 0`` it is the plain AUROC).
    """
    check_number("eps", eps, low=0.0, what="a finite number >= 0 (an L2 radius)")
    check_number("lipschitz", lipschitz, low=0.0, low_closed=False, finite=False, what="a positive number")
    normal = np.asarray(scores_normal, dtype=np.float64).ravel()
    anomalous = np.asarray(scores_anomalous, dtype=np.float64).ravel()
    shift = float(lipschitz) * float(eps)
    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    return roc_auc(labels, np.r_[normal + shift, anomalous - shift])


def selection_score(aucs: dict, bounds: dict, weight: float = 1 / 20):
    """The thesis's eq. 5.2: pick the K maximising ``AUC_K - weight * L_K / max_K L_K``.

    ``aucs`` and ``bounds`` map each Lipschitz constant K to its ROC-AUC (a fraction) and its
    empirical lower bound. Returns ``(best_k, scores)`` with the score of every K.
    """
    keys = sorted(set(aucs) & set(bounds))
    if not keys:
        raise ValueError("aucs and bounds share no Lipschitz constant K")
    largest = max(bounds[k] for k in keys)
    if largest <= 0:
        raise ValueError("every lower bound is zero or negative; cannot normalise by max L_K")
    scores = {k: aucs[k] - weight * bounds[k] / largest for k in keys}
    return max(keys, key=scores.get), scores


# --- out-of-distribution metrics (Glazunov and Zarras 2023): AUROC, AUPRC, FPR at 80 % TPR ------

def auroc(y_true, scores) -> float:
    """Area under the ROC curve (label 1 = outlier, higher score = more anomalous), a fraction."""
    return roc_auc(y_true, scores)


def auprc(y_true, scores) -> float:
    """Area under the precision-recall curve with the outliers as the positive class (average precision)."""
    from sklearn.metrics import average_precision_score

    y_true, scores = _check_labels_scores(y_true, scores)
    return float(average_precision_score(y_true, scores))


def fpr_at_tpr(y_true, scores, tpr: float = 0.8) -> float:
    """False-positive rate at the strictest threshold that still flags ``tpr`` of the outliers.

    The paper's FPR80: flag every input scoring at least the threshold; lower is better.
    """
    from sklearn.metrics import roc_curve

    if not 0 < tpr <= 1:
        raise ValueError(f"tpr must be in (0, 1], got {tpr!r}")
    y_true, scores = _check_labels_scores(y_true, scores)
    false_rates, true_rates, _ = roc_curve(y_true, scores)
    return float(false_rates[np.searchsorted(true_rates, tpr - 1e-12, side="left")])


def ood_metrics(y_true, scores) -> dict:
    """Glazunov and Zarras's three out-of-distribution metrics, as fractions: {"auroc", "auprc", "fpr80"}."""
    return {"auroc": auroc(y_true, scores), "auprc": auprc(y_true, scores), "fpr80": fpr_at_tpr(y_true, scores)}

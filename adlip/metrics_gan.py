"""How collapsed a GAN's generator is: three measures on a fixed batch of its samples.

Each measure compares ``generated`` (images from a fixed batch of latent vectors) with ``real``
(a fixed set of real images of the class the GAN was trained on), both scaled as the generator
outputs them ([-1, 1] for adlip's GANs):

* **Diversity ratio** (:func:`diversity_ratio`): the mean pairwise L2 distance of the generated
  images over that of the real ones, the measure AnoGAN tracks per epoch
  (``adlip.detectors.anogan.mean_pairwise_distance``). 0 means every sample is the same image;
  samples as varied as the data give about 1. Below ``COLLAPSE_RATIO`` (0.25, AnoGAN's threshold)
  a generator counts as collapsed (:func:`is_collapsed`).
* **Normal-class share** (:func:`class_shares`): the fraction of generated images that a small
  classifier trained on all ten classes of the data set's training images
  (:func:`digit_classifier`) assigns to the normal class. It says whether the samples look like
  the class at all, which the diversity ratio cannot: noise is diverse, and a collapsed generator
  can draw one perfect digit (the thesis's figure 5.1).
* **Coverage** (:func:`coverage`, Naeem, Oh, Uh, Choi and Yoo 2020, "Reliable fidelity and
  diversity metrics for generative models"): the fraction of the real images that have a generated
  image closer than their own ``k``-th nearest real neighbour (k = 5). A collapsed generator covers
  only the few real images around its one output; a generator whose samples are indistinguishable
  from the data covers about :func:`expected_coverage` of them (0.97 for 500 of each). Coverage
  was chosen over counting the distinct real nearest neighbours of the samples because its radius
  adapts to how dense the data are around each real image, a few outlying samples cannot raise
  it, and its value for an ideal generator is known in closed form. It is computed in pixel space,
  the space AnoGAN's latent search measures its residual in: a real normal image with no generated
  image in its neighbourhood is one the search cannot reconstruct, and so scores as an anomaly.

The classifier is a tiny convolutional network (two stride-2 3x3 convolutions with 16 and 32
filters and ReLU, then a dense layer to the ten classes), trained with Adam for ``epochs`` epochs
on the training images scaled to [-1, 1], seeded, fitted once per process and cached; its test
accuracy on the whole test set is part of its description, so a record can state it.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from adlip.checks import check_integer
from adlip.detectors.anogan import COLLAPSE_RATIO, mean_pairwise_distance

COVERAGE_NEIGHBOURS = 5     # k of Naeem et al.'s coverage (their recommended value)
CLASSIFIER_RATE = 1e-3
CLASSIFIER_BATCH = 128


def _flat(images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"expected a non-empty batch of images, got shape {images.shape}")
    return images.reshape(len(images), -1)


def pairwise_distances(a, b) -> np.ndarray:
    """Euclidean distances between every image of ``a`` (rows) and of ``b`` (columns)."""
    a, b = _flat(a), _flat(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"images of different sizes: {a.shape[1]} and {b.shape[1]} values")
    squared = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(squared, 0.0, None))


def diversity_ratio(generated, real) -> float:
    """Mean pairwise distance of ``generated`` over that of ``real`` (about 1: as diverse as the data)."""
    if len(generated) < 2 or len(real) < 2:
        raise ValueError("the diversity ratio needs at least two generated and two real images")
    reference = mean_pairwise_distance(real)
    if reference == 0:
        raise ValueError("the real images are all identical: their diversity is 0, so no ratio exists")
    return mean_pairwise_distance(generated) / reference


def is_collapsed(ratio: float, threshold: float = COLLAPSE_RATIO) -> bool:
    """AnoGAN's rule: collapsed when the diversity ratio is below ``threshold``."""
    return bool(ratio < threshold)


def coverage(real, generated, k: int = COVERAGE_NEIGHBOURS) -> float:
    """Naeem et al.'s coverage: the share of ``real`` images with a generated image inside their k-NN ball.

    A real image's ball has the radius of the distance to its ``k``-th nearest other real image;
    it is covered when some generated image lies strictly inside it.
    """
    check_integer("k", k, 1)
    real_distances = pairwise_distances(real, real)
    if len(real_distances) <= k:
        raise ValueError(f"coverage with k={k} needs more than {k} real images, got {len(real_distances)}")
    np.fill_diagonal(real_distances, np.inf)
    radii = np.partition(real_distances, k - 1, axis=1)[:, k - 1]
    nearest_generated = pairwise_distances(real, generated).min(axis=1)
    return float(np.mean(nearest_generated < radii))


def expected_coverage(n_real: int, n_generated: int, k: int = COVERAGE_NEIGHBOURS) -> float:
    """Coverage expected when the generated images are drawn from the same distribution as the real ones.

    A real image is uncovered when its ``k`` nearest neighbours among the other ``n_real - 1`` real
    and the ``n_generated`` generated images are all real; with all of them exchangeable that has
    probability ``prod_i (n_real - 1 - i) / (n_real - 1 + n_generated - i)`` for i < k.
    """
    uncovered = np.prod([(n_real - 1 - i) / (n_real - 1 + n_generated - i) for i in range(k)])
    return float(1.0 - uncovered)


def class_shares(labels, n_classes: int = 10) -> np.ndarray:
    """The fraction of ``labels`` equal to each class 0 .. n_classes - 1."""
    labels = np.asarray(labels).reshape(-1)
    if len(labels) == 0:
        raise ValueError("no labels to count")
    return np.bincount(labels.astype(np.int64), minlength=n_classes)[:n_classes] / len(labels)


# -- the classifier ---------------------------------------------------------------------------------

@dataclass
class DigitClassifier:
    """A fitted classifier of a data set's ten classes, with what it was trained on and how well it does."""

    model: object
    dataset: str
    train_size: int
    epochs: int
    seed: int
    test_accuracy: float
    train_seconds: float

    ARCHITECTURE = "Conv2D(16, 3x3, stride 2) ReLU, Conv2D(32, 3x3, stride 2) ReLU, Flatten, Dense(10)"

    def predict(self, images) -> np.ndarray:
        """The most probable class of each image (images scaled to [-1, 1], as the GANs output them)."""
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[..., None]
        logits = [np.asarray(self.model(x[i:i + 1000], training=False)) for i in range(0, len(x), 1000)]
        return np.concatenate(logits).argmax(axis=1)

    def describe(self) -> dict:
        """What a record states about the classifier."""
        return dict(architecture=self.ARCHITECTURE, dataset=self.dataset, train_size=self.train_size,
                    epochs=self.epochs, seed=self.seed, optimizer=f"Adam {CLASSIFIER_RATE:g}, batch {CLASSIFIER_BATCH}",
                    test_accuracy=self.test_accuracy, train_seconds=self.train_seconds)


_CLASSIFIERS: dict = {}


def digit_classifier(dataset: str = "mnist", train_size: int | None = None, epochs: int = 2,
                     seed: int = 0) -> DigitClassifier:
    """The ten-class classifier of ``dataset``: trained on ``train_size`` training images (a seeded
    subset; None: all) for ``epochs`` epochs, tested on the whole test set; cached per process."""
    from adlip.data import check_dataset_name

    check_dataset_name(dataset)
    check_integer("train_size", train_size, 1, allow_none=True, what="None or a positive integer")
    check_integer("epochs", epochs, 1)
    check_integer("seed", seed, 0, what="a non-negative integer")
    key = (dataset, train_size, epochs, seed, os.environ.get("ADLIP_DATA_DIR"))
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = _train_classifier(dataset, train_size, epochs, seed)
    return _CLASSIFIERS[key]


def _train_classifier(dataset, train_size, epochs, seed) -> DigitClassifier:
    import tensorflow as tf

    from adlip.data import load_dataset, scale_images

    (x_train, y_train), (x_test, y_test) = load_dataset(dataset)
    if train_size is not None and train_size < len(x_train):
        rows = np.sort(np.random.default_rng(seed).choice(len(x_train), train_size, replace=False))
        x_train, y_train = x_train[rows], y_train[rows]
    x_train, _ = scale_images(x_train, "tanh")
    x_test, _ = scale_images(x_test, "tanh")
    started = time.perf_counter()
    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", input_shape=x_train.shape[1:]),
        layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(10),
    ], name="digit_classifier")
    model.compile(optimizer=tf.keras.optimizers.Adam(CLASSIFIER_RATE),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train.astype(np.int64), batch_size=CLASSIFIER_BATCH, epochs=epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - started
    classifier = DigitClassifier(model, dataset, len(x_train), epochs, seed, 0.0, seconds)
    classifier.test_accuracy = float(np.mean(classifier.predict(x_test) == y_test.reshape(-1)))
    return classifier


# -- all three at once ----------------------------------------------------------------------------

def collapse_measures(generated, real, predict, normal_class: int, k: int = COVERAGE_NEIGHBOURS) -> dict:
    """The three measures of one batch of generated images against the real images of the normal class.

    ``predict`` maps images to class labels (:meth:`DigitClassifier.predict`). Returns
    ``diversity_ratio``, ``normal_share``, ``coverage``, ``class_shares`` (ten fractions) and
    ``collapsed`` (:func:`is_collapsed` of the ratio).
    """
    shares = class_shares(predict(generated))
    ratio = diversity_ratio(generated, real)
    return dict(diversity_ratio=ratio, normal_share=float(shares[int(normal_class)]),
                coverage=coverage(real, generated, k), class_shares=[float(s) for s in shares],
                collapsed=is_collapsed(ratio))

"""adlip: Lipschitz-constrained anomaly detection.

The package behind the adlip book. Importing it sets ``TF_USE_LEGACY_KERAS=1`` before
TensorFlow is imported anywhere, so that ``tf.keras`` is Keras 2 (``tf-keras``), which is
what deel-lip 1.5 needs. Import ``adlip`` before TensorFlow in your own code.

On a GPU it also asks TensorFlow to grow its memory as needed (``TF_FORCE_GPU_ALLOW_GROWTH``)
instead of reserving the whole card, so that several sweep workers can share one GPU. Both are
defaults: a value already set in the environment wins.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

__version__ = "0.1.0"


def _check_keras_version() -> None:
    """Fail at once, in one line, if TensorFlow was imported before adlip and bound tf.keras to Keras 3.

    deel-lip 1.5 is written for Keras 2 (the tf-keras package); with Keras 3 behind ``tf.keras``
    its layers fail much later, deep inside, with an AttributeError.
    """
    import sys

    if "tensorflow" not in sys.modules:
        return
    import tensorflow as tf

    if not tf.keras.layers.Layer.__module__.startswith("tf_keras"):
        raise ImportError(
            "TensorFlow was imported before adlip and tf.keras is Keras 3; adlip and deel-lip "
            "need Keras 2 (tf-keras): import adlip before tensorflow, or set TF_USE_LEGACY_KERAS=1 before "
            "Python starts")


_check_keras_version()

from adlip.data import load_dataset, one_vs_rest  # noqa: E402

__all__ = ["__version__", "load_dataset", "one_vs_rest"]

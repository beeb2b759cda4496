"""adlip: Lipschitz-constrained anomaly detection.

The package behind the adlip book. Importing it sets ``TF_USE_LEGACY_KERAS=1`` before
TensorFlow is imported anywhere, so that ``tf.keras`` is Keras 2 (``tf-keras``), which is
what deel-lip 1.5 needs. Import ``adlip`` before TensorFlow in your own code.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from adlip.data import load_dataset, one_vs_rest  # noqa: E402

__all__ = ["__version__", "load_dataset", "one_vs_rest"]

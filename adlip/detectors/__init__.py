"""adlip's anomaly detectors, all behind one API (see ``adlip.detectors.base``).

``DETECTORS`` maps the algorithm names used in result records to a factory of detectors:
``make_detector("deepsvdd-sb", dataset="cifar10", lipschitz=5.0)``. ``load(path)`` reads any
detector written by ``detector.save(path)``.
"""
from functools import partial

from adlip.detectors.anogan import AnoGAN
from adlip.detectors.base import BaseDetector, Schedule, train_epochs
from adlip.detectors.dcae import DCAE
from adlip.detectors.deepsvdd import DeepSVDD

DETECTORS = {
    "dcae": DCAE,
    "deepsvdd-oc": partial(DeepSVDD, objective="one-class"),
    "deepsvdd-sb": partial(DeepSVDD, objective="soft-boundary"),
    "anogan": AnoGAN,
}


def make_detector(name: str, **params) -> BaseDetector:
    """A detector by its algorithm name (a key of ``DETECTORS``) with the given parameters."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name](**params)


def load(path) -> BaseDetector:
    """Read a detector saved with ``detector.save(path)``, whatever its class."""
    return BaseDetector.load(path)


__all__ = ["AnoGAN", "BaseDetector", "DCAE", "DETECTORS", "DeepSVDD", "Schedule", "load", "make_detector",
           "train_epochs"]

"""adlip's anomaly detectors, all behind one API (see ``adlip.detectors.base``).

``DETECTORS`` maps the thesis's algorithm names used in result records to a factory of detectors,
``COMPANIONS`` does the same for the detectors of the companion papers; ``make_detector`` takes a
name from either: ``make_detector("deepsvdd-sb", dataset="cifar10", lipschitz=5.0)``.
``load(path)`` reads any detector written by ``detector.save(path)``.
"""
from functools import partial

from adlip.detectors.anogan import AnoGAN
from adlip.detectors.base import BaseDetector, Schedule, train_epochs
from adlip.detectors.dcae import DCAE
from adlip.detectors.deepsvdd import DeepSVDD
from adlip.detectors.hkr import OneClassHKR
from adlip.detectors.realnvp import RobustRealNVP
from adlip.detectors.regsvdd import RegularizedDeepSVDD
from adlip.detectors.vae import LipschitzVAE

DETECTORS = {
    "dcae": DCAE,
    "deepsvdd-oc": partial(DeepSVDD, objective="one-class"),
    "deepsvdd-sb": partial(DeepSVDD, objective="soft-boundary"),
    "anogan": AnoGAN,
}

COMPANIONS = {
    "hkr": OneClassHKR,
    "vae": LipschitzVAE,
    "realnvp": RobustRealNVP,
    "regsvdd": RegularizedDeepSVDD,
}


def make_detector(name: str, **params) -> BaseDetector:
    """A detector by its algorithm name (a key of ``DETECTORS`` or ``COMPANIONS``) with the given parameters."""
    factories = {**DETECTORS, **COMPANIONS}
    if name not in factories:
        raise ValueError(f"unknown detector {name!r}; choose one of {sorted(factories)}")
    return factories[name](**params)


def load(path) -> BaseDetector:
    """Read a detector saved with ``detector.save(path)``, whatever its class."""
    return BaseDetector.load(path)


__all__ = ["AnoGAN", "BaseDetector", "COMPANIONS", "DCAE", "DETECTORS", "DeepSVDD", "LipschitzVAE",
           "OneClassHKR", "RegularizedDeepSVDD", "RobustRealNVP", "Schedule", "load", "make_detector", "train_epochs"]

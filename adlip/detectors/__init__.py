"""adlip's anomaly detectors, all behind one API (see ``adlip.detectors.base``).

Each module registers the algorithms it implements in :mod:`adlip.detectors.registry`; the names
there are the ``algorithm`` field of result records. ``make_detector`` builds any of them:
``make_detector("deepsvdd-sb", dataset="cifar10", lipschitz=5.0)``. ``DETECTORS`` (the thesis's
four) and ``COMPANIONS`` (the companion papers') are views of the registry by group.
``load(path)`` reads any detector written by ``detector.save(path)``.
"""
# Imported in the order the registry lists them: the thesis's detectors, the baselines, the companions.
from adlip.detectors.dcae import DCAE
from adlip.detectors.deepsvdd import DeepSVDD
from adlip.detectors.anogan import AnoGAN
from adlip.detectors.baselines import IsolationForestDetector, KDEDetector, OneClassSVMDetector
from adlip.detectors.hkr import OneClassHKR
from adlip.detectors.vae import LipschitzVAE
from adlip.detectors.realnvp import RobustRealNVP
from adlip.detectors.regsvdd import RegularizedDeepSVDD
from adlip.detectors.fanogan import FAnoGAN
from adlip.detectors.base import BaseDetector, Schedule, train_epochs
from adlip.detectors.contract import Detector
from adlip.detectors.registry import ALGORITHMS, Algorithm, get_algorithm, register

DETECTORS = {name: a.factory for name, a in ALGORITHMS.items() if a.group == "thesis"}
COMPANIONS = {name: a.factory for name, a in ALGORITHMS.items() if a.group == "companion"}


def make_detector(name: str, **params):
    """A detector by its algorithm name (any registered one) with the given parameters."""
    return get_algorithm(name).factory(**params)


def load(path) -> Detector:
    """Read a detector saved with ``detector.save(path)``, whatever its class (deep or baseline)."""
    from pathlib import Path

    from adlip.detectors.base import STATE_FILE, read_state_file, registered_class

    path = Path(path)
    return registered_class(read_state_file(path / STATE_FILE), path / STATE_FILE).load(path)


__all__ = ["ALGORITHMS", "Algorithm", "AnoGAN", "BaseDetector", "COMPANIONS", "DCAE", "DETECTORS", "DeepSVDD", "Detector",
           "FAnoGAN", "IsolationForestDetector", "KDEDetector", "LipschitzVAE", "OneClassHKR", "OneClassSVMDetector",
           "RegularizedDeepSVDD", "RobustRealNVP", "Schedule", "get_algorithm", "load", "make_detector", "register",
           "train_epochs"]

"""adlip's anomaly detectors, all behind one API (see ``adlip.detectors.base``)."""
from adlip.detectors.base import BaseDetector, Schedule, train_epochs

__all__ = ["BaseDetector", "Schedule", "train_epochs"]

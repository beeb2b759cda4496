"""Every run record says what can be certified: the certified score's constant and the median radius."""
import numpy as np
import pytest

from adlip import robustness
from adlip.runs import certificate_summary

from conftest import fast_detector


@pytest.mark.parametrize("name", ["dcae", "deepsvdd-oc"])
def test_a_lipschitz_detector_records_its_constant_and_median_radius(name, mnist_like):
    train, test, _ = mnist_like
    detector = fast_detector(name, 2.0).fit(train)
    scores = detector.decision_function(test)
    summary = certificate_summary(detector, scores)
    certificate = robustness.certify(detector, test)
    assert summary["score_constant"] == pytest.approx(certificate.lipschitz)
    assert summary["certified_radius_median"] == pytest.approx(float(np.median(certificate.radius)))
    assert summary["certified_radius_median"] > 0


def test_a_standard_detector_records_no_certificate(mnist_like):
    train, test, _ = mnist_like
    detector = fast_detector("dcae", None).fit(train)
    assert certificate_summary(detector, detector.decision_function(test)) == dict(
        score_constant=None, certified_radius_median=None)

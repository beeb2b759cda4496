"""The GAN chapter's comparison of AnoGAN and f-AnoGAN, rendered from run records."""
from adlip.views import gan_detectors


def record(algorithm, lipschitz, normal_class, auc, score_seconds, constant=None, radius=None, status="ok",
           collapsed=None):
    return dict(collapsed=collapsed, algorithm=algorithm, dataset="mnist", lipschitz=lipschitz, normal_class=normal_class, auc=auc,
                seed=0, profile="quick", status=status, train_seconds=100.0, score_seconds=score_seconds,
                n_test=500, epochs=2, lip_lower_bound=0.5, score_constant=constant,
                certified_radius_median=radius, budget={"gan_epochs": 2})


RECORDS = [record("anogan", None, 0, 0.6, 100.0), record("anogan", None, 1, 0.8, 100.0),
           record("anogan", 1.0, 0, 0.7, 50.0, collapsed=True), record("fanogan", None, 0, 0.9, 1.0, collapsed=False),
           record("fanogan", 1.0, 0, 0.85, 0.5, constant=0.078, radius=0.07),
           record("fanogan", 1.0, 1, 0.5, 0.5, status="failed")]


def test_the_comparison_averages_over_classes_and_orders_standard_first():
    text = gan_detectors.comparison_table(RECORDS).data
    rows = [line.split(" | ") for line in text.splitlines()[2:]]
    assert [(r[0].lstrip("| "), r[1]) for r in rows] == [("AnoGAN", "standard"), ("AnoGAN", "K = 1"),
                                                         ("f-AnoGAN", "standard"), ("f-AnoGAN", "K = 1")]
    assert rows[0][2:4] == ["2", "70.0"]            # two classes, mean ROC-AUC
    assert rows[0][5] == "200.0"                     # 100 s for 500 images -> 200 s per 1000
    assert rows[3][8:10] == ["0.078", "0.07"]        # the certificate columns of the Lipschitz f-AnoGAN
    assert rows[2][8] == "–"                         # none for a standard network
    assert [r[10].rstrip(" |") for r in rows] == ["–", "1 of 1", "0 of 1", "–"]   # runs that measured collapse


def test_the_class_table_has_one_column_per_detector_and_model():
    text = gan_detectors.class_table(RECORDS).data
    assert text.splitlines()[0] == ("| normal class | AnoGAN standard | AnoGAN K = 1 | f-AnoGAN standard | "
                                    "f-AnoGAN K = 1 |")
    assert "| 1 | 80.0 | – | – | – |" in text      # the failed run is left out


def test_the_speed_statement_is_computed_from_the_timings():
    text = gan_detectors.speed_statement(RECORDS)
    assert "standard: 200 s against 2.00 s per 1000 test images, 100 times faster" in text
    assert "Lipschitz: 100 s against 1.00 s" in text
    assert gan_detectors.speed_statement([]) == "No records of AnoGAN and f-AnoGAN yet."

"""Published reference numbers: the thesis's tables and the Deep SVDD paper's results.

Everything in this module is REFERENCE data, typed in by hand from the published text. None
of it is an adlip result: adlip's own numbers only ever come from result records produced by
code (see :mod:`adlip.tables`, which puts these values beside ours in columns labelled
"thesis" and "Ruff et al.").

Sources
-------
``"thesis"``
    The bachelor thesis this project reproduces, section 5 (chapter "Experiments").
    Experiment 1 (section 5.1.1) trains Lipschitz models with seven global Lipschitz
    constants on normal class 0; experiment 2 (section 5.2.1) trains standard models and
    Lipschitz models (with the constants chosen in experiment 1) on every normal class;
    section 5.2.2 summarizes experiment 2.
``"deep-svdd-paper"``
    Ruff et al., "Deep One-Class Classification" (ICML 2018), one-class Deep SVDD ROC-AUC
    per normal class.

Units follow the thesis: ROC-AUC mean and standard deviation in percent (over three seeds;
experiment 1's AnoGAN column is a single run and has no standard deviation); Lipschitz lower
bounds as printed (the largest of the three runs' bounds) with ``sigma``, the number of
standard deviations that maximum lies above the mean of the ten 15-second round maxima.

Keys
----
``experiment`` is ``"exp1"`` or ``"exp2"``; ``dataset`` is ``"mnist"`` or ``"cifar10"``;
``algorithm`` one of :data:`ALGORITHMS`; ``key`` is the global Lipschitz constant K in
experiment 1 (one of :data:`EXP1_CONSTANTS`) and the normal class index 0-9 in experiment 2
(CIFAR-10 class names are in ``adlip.data.CLASS_NAMES``). Experiment 1 only has Lipschitz
models, so ``lipschitz=False`` is an error there.

Known gaps and inconsistencies of the published text
----------------------------------------------------
* Experiment 1, CIFAR-10, K = 0.5: the lower-bound table has no AnoGAN value (the extracted
  row has three entries and every later row four). It is recorded as missing (``None``).
* Equation 5.2 applied to the thesis's own experiment 1 tables reproduces seven of the eight
  published choices, but not the MNIST DCAE's: the equation picks K = 50 (score 0.941 against
  0.904 for K = 2), the thesis chose K = 2. The prose (section 5.1.2) notes that K = 2 "still
  has a rather high loss" but gives no other rule. :func:`thesis_chosen_constant` returns what
  the thesis chose. (The missing CIFAR-10 AnoGAN bound at K = 0.5 cannot change that choice.)
* Section 5.2.2's mean standard ROC-AUC of the MNIST one-class DeepSVDD is printed as 93.9,
  but the mean of its ten per-class values in section 5.2.1 is 94.28 (94.3 rounded). The
  relative change printed beside it (+5.0%) follows the printed 93.9; from the per-class
  values it would be +5.5%. Every other summary value agrees with the per-class tables
  within rounding. The published values are encoded unchanged.
* The thesis's standard deviations are population standard deviations (divide by n, not
  n - 1): the three MNIST soft-boundary runs at K = 5 that section 5.1.1 lists (60.7, 93.1,
  77.1, :data:`THESIS_EXP1_MNIST_SB_K5_RUNS`) give 77.0 +- 13.2 only that way.
* Section 5.2.2's relative-change table divides by the Lipschitz mean,
  ``(standard - lipschitz) / lipschitz``, while the prose beside it once divides by the
  standard mean ("the CIFAR10 Lipschitz DCAE performs 16.2% better"). The table is encoded.
"""
from __future__ import annotations

from typing import NamedTuple

SOURCE_THESIS = "thesis"
SOURCE_DEEP_SVDD_PAPER = "deep-svdd-paper"

ALGORITHMS = ("dcae", "deepsvdd-sb", "deepsvdd-oc", "anogan")
DATASETS = ("mnist", "cifar10")
EXPERIMENTS = ("exp1", "exp2")
EXP1_CONSTANTS = (0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0)
EXP1_NORMAL_CLASS = 0
SUMMARIES = (
    "mean_auc_standard",
    "mean_auc_lipschitz",
    "relative_change",
    "max_bound_standard",
    "max_bound_lipschitz",
    "robustness_ratio",
)


class AUC(NamedTuple):
    """A published ROC-AUC in percent: mean over seeds and standard deviation (None if one run)."""

    mean: float
    std: float | None


class Bound(NamedTuple):
    """A published Lipschitz lower bound and its distance from the round mean in std units."""

    value: float
    sigma: float


# Each row lists the four algorithms in ALGORITHMS order, exactly as the thesis's columns
# (DCAE, DeepSVDD SB, DeepSVDD OC, AnoGAN). AUC cells are (mean, std); bound cells (value, sigma).

_EXP1_AUC = {  # section 5.1.1, first table; rows: K
    "mnist": {
        0.5: ((80.7, 0.1), (29.2, 1.9), (56.1, 3.0), (80.1, None)),
        1.0: ((83.9, 0.1), (30.5, 2.9), (54.2, 2.5), (95.1, None)),
        2.0: ((90.9, 0.1), (29.1, 2.7), (52.7, 2.7), (91.7, None)),
        5.0: ((92.5, 0.1), (77.0, 13.2), (82.5, 2.3), (81.0, None)),
        10.0: ((84.9, 0.7), (96.3, 1.2), (93.8, 1.0), (89.1, None)),
        50.0: ((98.7, 0.1), (97.2, 0.3), (97.1, 0.9), (81.3, None)),
        100.0: ((98.9, 0.1), (97.3, 0.8), (96.8, 0.8), (85.0, None)),
    },
    "cifar10": {
        0.5: ((45.5, 0.3), (40.0, 1.5), (44.5, 0.2), (61.7, None)),
        1.0: ((48.1, 0.1), (39.4, 1.1), (44.4, 0.8), (56.0, None)),
        2.0: ((53.2, 0.2), (40.3, 1.7), (58.3, 0.9), (65.0, None)),
        5.0: ((61.2, 0.4), (54.7, 1.4), (59.1, 1.6), (61.2, None)),
        10.0: ((65.1, 0.4), (53.9, 1.9), (58.0, 0.8), (60.1, None)),
        50.0: ((61.9, 2.2), (56.9, 1.4), (62.1, 1.2), (62.7, None)),
        100.0: ((59.5, 0.2), (61.6, 1.4), (63.4, 1.1), (49.3, None)),
    },
}

_EXP1_BOUND = {  # section 5.1.1, second table; rows: K
    "mnist": {
        0.5: ((0.032, 1.555), (0.041, 1.851), (0.064, 1.605), (0.068, 0.500)),
        1.0: ((0.066, 1.916), (0.072, 1.801), (0.106, 1.256), (0.064, 0.968)),
        2.0: ((0.128, 2.034), (0.145, 1.753), (0.227, 2.055), (0.072, 0.816)),
        5.0: ((0.309, 1.672), (0.331, 1.506), (0.311, 2.012), (0.054, 0.333)),
        10.0: ((0.536, 1.588), (0.237, 2.054), (0.221, 1.165), (0.069, 0.500)),
        50.0: ((1.127, 1.488), (0.251, 1.776), (0.238, 1.476), (0.066, 0.423)),
        100.0: ((1.228, 1.722), (0.301, 1.571), (0.323, 1.629), (0.070, 0.500)),
    },
    "cifar10": {
        0.5: ((0.008, 2.217), (0.043, 2.073), (0.034, 1.896), None),  # AnoGAN not printed
        1.0: ((0.016, 2.500), (0.087, 2.526), (0.067, 1.528), (0.059, 0.722)),
        2.0: ((0.032, 2.089), (0.159, 1.403), (0.141, 2.406), (0.111, 0.655)),
        5.0: ((0.075, 1.697), (0.184, 2.229), (0.151, 1.723), (0.115, 0.654)),
        10.0: ((0.367, 1.963), (0.180, 1.973), (0.154, 2.214), (0.083, 0.803)),
        50.0: ((0.985, 2.322), (0.149, 2.022), (0.124, 2.536), (0.120, 0.515)),
        100.0: ((1.002, 1.319), (0.136, 2.209), (0.121, 1.584), (0.143, 0.655)),
    },
}

_CHOSEN_CONSTANTS = {  # section 5.1.1, last table
    "mnist": (2.0, 50.0, 50.0, 1.0),
    "cifar10": (10.0, 100.0, 100.0, 2.0),
}

_EXP2_AUC_STANDARD = {  # section 5.2.1, first table; rows: normal class
    "mnist": (
        ((98.5, 0.1), (98.3, 0.2), (98.0, 0.6), (93.3, 1.8)),
        ((99.4, 0.0), (99.6, 0.1), (99.6, 0.0), (99.5, 0.3)),
        ((89.1, 0.5), (89.8, 0.9), (91.3, 0.4), (74.2, 2.0)),
        ((91.1, 0.5), (90.6, 1.2), (91.6, 1.4), (78.7, 2.4)),
        ((93.4, 0.8), (93.8, 0.8), (93.7, 0.2), (82.9, 1.1)),
        ((87.4, 0.7), (87.8, 1.8), (87.9, 2.4), (78.4, 3.0)),
        ((96.5, 0.0), (98.3, 0.3), (98.4, 0.2), (93.4, 1.1)),
        ((93.9, 0.0), (93.1, 0.2), (94.2, 0.2), (90.7, 1.3)),
        ((89.5, 0.6), (92.6, 1.4), (93.0, 0.5), (68.0, 0.7)),
        ((95.1, 0.1), (95.2, 0.7), (95.1, 0.7), (86.8, 0.8)),
    ),
    "cifar10": (
        ((59.0, 0.3), (62.5, 1.2), (61.8, 1.0), (63.2, 2.4)),
        ((49.6, 0.2), (60.5, 0.5), (59.8, 1.0), (44.9, 1.2)),
        ((48.2, 0.1), (47.8, 1.0), (48.7, 0.5), (64.9, 0.6)),
        ((58.8, 0.1), (54.9, 0.3), (56.6, 0.3), (51.6, 2.9)),
        ((47.6, 0.1), (55.5, 0.5), (54.3, 0.2), (70.6, 1.7)),
        ((61.4, 0.3), (61.1, 1.1), (62.7, 0.5), (50.9, 1.4)),
        ((40.1, 0.3), (60.9, 0.7), (58.6, 0.5), (66.8, 2.4)),
        ((54.6, 0.2), (60.4, 0.1), (60.3, 0.7), (52.3, 0.7)),
        ((74.7, 0.1), (73.6, 0.7), (71.6, 2.3), (68.1, 2.3)),
        ((59.7, 0.3), (65.9, 0.2), (65.5, 0.4), (51.6, 2.2)),
    ),
}

_EXP2_BOUND_STANDARD = {  # section 5.2.1, second table
    "mnist": (
        ((1.400, 1.630), (0.792, 2.391), (0.796, 2.365), (4.783, 0.500)),
        ((1.631, 2.695), (1.336, 1.517), (1.494, 2.147), (3.382, 0.355)),
        ((1.338, 1.984), (0.776, 2.264), (0.662, 1.683), (5.594, 1.224)),
        ((1.459, 1.906), (0.806, 1.659), (0.794, 1.542), (4.697, 0.655)),
        ((1.334, 1.923), (1.253, 2.348), (1.125, 1.319), (4.511, 0.500)),
        ((1.313, 2.157), (0.950, 1.836), (0.810, 1.460), (4.900, 0.739)),
        ((1.459, 1.679), (0.741, 2.402), (0.655, 2.258), (4.538, 0.655)),
        ((1.450, 2.059), (0.711, 1.885), (0.661, 1.943), (4.220, 0.500)),
        ((1.409, 2.193), (0.759, 2.222), (0.668, 1.624), (4.616, 0.655)),
        ((1.588, 1.709), (1.104, 1.694), (1.136, 2.388), (4.115, 0.816)),
    ),
    "cifar10": (
        ((1.032, 2.078), (0.576, 1.449), (0.522, 1.233), (3.684, 0.333)),
        ((1.011, 2.120), (0.680, 2.386), (0.724, 1.953), (3.076, 0.333)),
        ((1.017, 2.093), (0.632, 1.287), (0.608, 2.716), (2.898, 0.500)),
        ((1.010, 1.545), (0.849, 1.624), (0.864, 1.498), (2.548, 0.500)),
        ((1.019, 1.429), (0.989, 1.348), (1.025, 1.485), (2.106, 0.485)),
        ((1.008, 2.679), (0.746, 1.977), (0.809, 1.447), (2.080, 0.372)),
        ((1.025, 1.645), (1.122, 1.760), (1.252, 1.944), (2.895, 0.998)),
        ((1.008, 1.762), (0.872, 2.660), (0.903, 2.267), (3.307, 0.655)),
        ((1.011, 2.032), (1.001, 1.805), (1.020, 2.556), (2.015, 0.809)),
        ((1.014, 1.661), (0.653, 1.785), (0.741, 1.574), (2.479, 0.483)),
    ),
}

_EXP2_AUC_LIPSCHITZ = {  # section 5.2.1, third table
    "mnist": (
        ((90.9, 0.3), (97.3, 0.8), (96.7, 0.3), (90.8, 5.0)),
        ((98.7, 0.0), (97.6, 0.4), (98.5, 0.6), (98.3, 0.3)),
        ((81.6, 0.6), (88.6, 3.0), (82.8, 2.3), (66.2, 7.2)),
        ((89.5, 0.1), (87.3, 1.8), (83.9, 1.2), (74.8, 7.2)),
        ((86.6, 0.5), (93.3, 1.0), (90.7, 1.7), (82.0, 3.6)),
        ((81.1, 0.8), (84.5, 1.2), (81.8, 2.2), (63.9, 7.2)),
        ((82.8, 0.2), (97.5, 0.6), (94.7, 1.0), (79.5, 3.4)),
        ((74.5, 0.5), (90.0, 0.3), (90.0, 2.3), (89.2, 3.1)),
        ((87.1, 0.3), (89.3, 2.5), (85.5, 1.4), (66.5, 3.4)),
        ((72.5, 0.3), (92.4, 0.1), (89.3, 0.3), (80.0, 6.4)),
    ),
    "cifar10": (
        ((65.7, 0.7), (61.3, 1.3), (64.8, 0.4), (64.6, 2.7)),
        ((63.2, 0.4), (63.2, 1.1), (62.6, 1.5), (41.6, 5.2)),
        ((48.2, 0.7), (50.4, 1.6), (48.3, 1.7), (57.6, 1.9)),
        ((59.9, 0.4), (56.9, 0.8), (57.2, 1.1), (55.0, 2.3)),
        ((57.4, 1.1), (57.0, 0.7), (57.3, 3.4), (72.9, 1.2)),
        ((63.6, 0.8), (62.2, 1.1), (62.5, 0.4), (53.1, 3.2)),
        ((65.6, 0.6), (69.2, 1.5), (65.3, 1.8), (69.3, 1.5)),
        ((64.6, 0.1), (62.7, 2.3), (65.3, 2.3), (55.0, 2.6)),
        ((80.1, 0.3), (73.0, 0.4), (75.2, 0.4), (62.0, 2.5)),
        ((75.5, 0.1), (71.4, 0.6), (71.2, 0.2), (55.7, 4.2)),
    ),
}

_EXP2_BOUND_LIPSCHITZ = {  # section 5.2.1, fourth table
    "mnist": (
        ((0.127, 2.129), (0.256, 1.560), (0.287, 2.315), (0.075, 0.333)),
        ((0.165, 1.839), (0.536, 1.880), (0.658, 1.288), (0.067, 0.500)),
        ((0.116, 1.759), (0.332, 1.613), (0.470, 1.933), (0.080, 0.333)),
        ((0.119, 1.942), (0.326, 1.530), (0.461, 2.100), (0.073, 0.816)),
        ((0.138, 1.398), (0.349, 1.997), (0.309, 1.706), (0.087, 0.424)),
        ((0.115, 1.502), (0.324, 1.825), (0.383, 1.702), (0.097, 0.500)),
        ((0.140, 1.934), (0.304, 2.479), (0.420, 1.929), (0.098, 0.647)),
        ((0.144, 1.669), (0.281, 2.792), (0.259, 2.223), (0.067, 0.500)),
        ((0.126, 2.018), (0.303, 2.042), (0.307, 2.175), (0.072, 1.342)),
        ((0.144, 2.636), (0.301, 1.616), (0.241, 2.631), (0.077, 1.000)),
    ),
    "cifar10": (
        ((0.354, 1.920), (0.138, 1.593), (0.094, 1.693), (0.104, 0.500)),
        ((0.431, 1.998), (0.103, 1.710), (0.093, 2.059), (0.169, 0.655)),
        ((0.300, 1.415), (0.150, 2.522), (0.111, 1.780), (0.089, 0.571)),
        ((0.448, 1.762), (0.104, 1.863), (0.080, 1.729), (0.131, 0.333)),
        ((0.434, 1.823), (0.087, 1.445), (0.066, 2.674), (0.157, 0.333)),
        ((0.445, 1.963), (0.100, 2.117), (0.074, 1.984), (0.145, 0.627)),
        ((0.436, 1.849), (0.127, 2.197), (0.100, 1.365), (0.145, 0.655)),
        ((0.385, 1.331), (0.135, 1.765), (0.122, 2.056), (0.121, 0.500)),
        ((0.457, 1.853), (0.172, 1.560), (0.152, 1.767), (0.099, 0.997)),
        ((0.398, 1.898), (0.106, 1.690), (0.087, 2.059), (0.089, 0.655)),
    ),
}

_SUMMARIES = {  # section 5.2.2; relative_change in percent, the others in the tables' units
    "mean_auc_standard": {"mnist": (93.4, 93.9, 93.9, 84.6), "cifar10": (55.4, 60.3, 60.0, 58.5)},
    "mean_auc_lipschitz": {"mnist": (84.5, 91.8, 89.4, 79.1), "cifar10": (64.4, 62.7, 63.0, 58.7)},
    "relative_change": {"mnist": (10.5, 2.3, 5.0, 7.0), "cifar10": (-14.0, -3.8, -4.8, -0.3)},
    "max_bound_standard": {"mnist": (1.631, 1.336, 1.494, 5.594), "cifar10": (1.032, 1.122, 1.252, 3.684)},
    "max_bound_lipschitz": {"mnist": (0.165, 0.536, 0.658, 0.098), "cifar10": (0.457, 0.172, 0.152, 0.169)},
    "robustness_ratio": {"mnist": (9.88, 2.49, 2.27, 57.08), "cifar10": (2.26, 6.52, 8.24, 21.80)},
}

_DEEP_SVDD_PAPER_ONE_CLASS_AUC = {  # Ruff et al. 2018, one-class Deep SVDD, percent
    "mnist": (98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5),
    "cifar10": (61.7, 65.9, 50.8, 59.1, 60.9, 65.7, 67.7, 67.3, 75.9, 73.1),
}

THESIS_EXP1_MNIST_SB_K5_RUNS = (60.7, 93.1, 77.1)
"""The three single-run ROC-AUCs (percent) section 5.1.1 quotes for the MNIST soft-boundary
DeepSVDD at K = 5, the only per-seed values the thesis prints."""

THESIS_BUDGET = {
    "seeds": 3,
    "exp1_anogan_seeds": 1,
    "exp1_normal_class": EXP1_NORMAL_CLASS,
    "test_size": 10_000,
    "anogan_test_size": 1000,
    "anogan_test_seed": 1234,
    "epochs": {
        "dcae": 350,
        "deepsvdd-sb": 250,
        "deepsvdd-oc": 250,
        "anogan": {"mnist": 20, "cifar10": 50},
    },
    "learning_rate_schedule": {
        "dcae": "1e-4 for 250 epochs then 1e-5 for 100 (Lipschitz DCAE: 1e-4 for all 350)",
        "deepsvdd": "1e-4 for 150 epochs then 1e-5 for 100, after DCAE pretraining",
        "anogan": "2e-4, Adam beta1 0.5",
    },
    "batch_size": {"dcae": 200, "deepsvdd-sb": 200, "deepsvdd-oc": 200, "anogan": 128},
    "deepsvdd_pretraining": "encoder weights from a trained DCAE",
    "deepsvdd_nu": 0.1,
    "anogan_latent_steps": 500,
    "lipschitz_bound_rounds": 10,
    "lipschitz_bound_seconds_per_round": 15,
}
"""The training and evaluation budget the thesis reports (sections 4 and 5), for captions.

``epochs`` are total training epochs per model (DeepSVDD's exclude the DCAE pretraining;
AnoGAN's are DCGAN epochs before the latent search). Every experiment used all 10,000 test
images except AnoGAN, which was scored on 1000 test images drawn with seed 1234.
"""


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}: use one of {list(allowed)}")


def _check_key(experiment: str, key) -> None:
    allowed = EXP1_CONSTANTS if experiment == "exp1" else tuple(range(10))
    if isinstance(key, bool) or key not in allowed:
        what = "Lipschitz constant K" if experiment == "exp1" else "normal class index"
        raise ValueError(f"{experiment} has no {what} {key!r}: use one of {list(allowed)}")


def _lookup(tables: dict, experiment: str, dataset: str, algorithm: str, lipschitz: bool, key):
    _check_choice("experiment", experiment, EXPERIMENTS)
    _check_choice("dataset", dataset, DATASETS)
    _check_choice("algorithm", algorithm, ALGORITHMS)
    if experiment == "exp1" and not lipschitz:
        raise ValueError("exp1 has only Lipschitz models: pass lipschitz=True")
    _check_key(experiment, key)
    table = tables[experiment, bool(lipschitz)][dataset]
    row = table[key] if experiment == "exp1" else table[int(key)]
    return row[ALGORITHMS.index(algorithm)]


_AUC_TABLES = {
    ("exp1", True): _EXP1_AUC,
    ("exp2", False): _EXP2_AUC_STANDARD,
    ("exp2", True): _EXP2_AUC_LIPSCHITZ,
}
_BOUND_TABLES = {
    ("exp1", True): _EXP1_BOUND,
    ("exp2", False): _EXP2_BOUND_STANDARD,
    ("exp2", True): _EXP2_BOUND_LIPSCHITZ,
}


def thesis_auc(experiment: str, dataset: str, algorithm: str, lipschitz: bool, key) -> AUC | None:
    """The thesis's ROC-AUC (percent, mean and std over seeds) for one table cell.

    ``key`` is the Lipschitz constant K for ``"exp1"`` and the normal class for ``"exp2"``.
    Returns None where the thesis printed nothing. Reference data, not an adlip result.
    """
    cell = _lookup(_AUC_TABLES, experiment, dataset, algorithm, lipschitz, key)
    return None if cell is None else AUC(*cell)


def thesis_bound(experiment: str, dataset: str, algorithm: str, lipschitz: bool, key) -> Bound | None:
    """The thesis's empirical Lipschitz lower bound (max over seeds) and its sigma for one cell.

    Same keys as :func:`thesis_auc`. Returns None where the thesis printed nothing.
    """
    cell = _lookup(_BOUND_TABLES, experiment, dataset, algorithm, lipschitz, key)
    return None if cell is None else Bound(*cell)


def thesis_chosen_constant(dataset: str, algorithm: str) -> float:
    """The global Lipschitz constant the thesis chose in experiment 1 and used in experiment 2."""
    _check_choice("dataset", dataset, DATASETS)
    _check_choice("algorithm", algorithm, ALGORITHMS)
    return _CHOSEN_CONSTANTS[dataset][ALGORITHMS.index(algorithm)]


def thesis_summary(name: str, dataset: str, algorithm: str) -> float:
    """A value of the thesis's section 5.2.2 summary tables, as published.

    ``name`` is one of :data:`SUMMARIES`. ``relative_change`` is in percent and means
    ``(standard - lipschitz) / lipschitz`` (positive: the standard model is better);
    ``robustness_ratio`` is ``max_bound_standard / max_bound_lipschitz``.
    """
    _check_choice("summary", name, SUMMARIES)
    _check_choice("dataset", dataset, DATASETS)
    _check_choice("algorithm", algorithm, ALGORITHMS)
    return _SUMMARIES[name][dataset][ALGORITHMS.index(algorithm)]


def deep_svdd_paper_auc(dataset: str, normal_class: int) -> float:
    """One-class Deep SVDD ROC-AUC (percent) published by Ruff et al. (2018) for one normal class."""
    _check_choice("dataset", dataset, DATASETS)
    _check_key("exp2", normal_class)
    return _DEEP_SVDD_PAPER_ONE_CLASS_AUC[dataset][int(normal_class)]


def thesis_epochs(algorithm: str, dataset: str) -> int:
    """Total training epochs the thesis used for one algorithm on one data set."""
    _check_choice("dataset", dataset, DATASETS)
    _check_choice("algorithm", algorithm, ALGORITHMS)
    epochs = THESIS_BUDGET["epochs"][algorithm]
    return epochs[dataset] if isinstance(epochs, dict) else epochs

"""Budget profiles: one name picks every budget of a run, a sweep or a notebook.

``smoke`` runs everything end to end in seconds (CI), ``quick`` is what a laptop CPU affords in
minutes per run, ``full`` is the thesis's budget (350 DCAE epochs, 350 + 250 for Deep SVDD with its
pretraining, 20 GAN epochs, 500 latent-search steps), which fits a 2-core CPU for MNIST.
Detectors take their training schedule from the thesis; a profile only scales it, phase by phase:
``PHASES`` names the phases that have a knob of their own (``phase_scale``), and ``epochs_scale``
is the scale of every phase that has none.

A profile may give one data set a budget of its own (``dataset_budgets``): on a CPU a CIFAR-10
network costs 10 to 50 times an MNIST one per image, so ``quick`` trains CIFAR-10 on a subset for
fewer epochs. ``get_profile(name, dataset=...)`` returns the budget a run on that data set uses,
and that resolved budget is what result records carry.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace


PHASES = ("dcae", "pretrain", "deepsvdd", "gan", "encoder")


@dataclass(frozen=True)
class Profile:
    """Every budget knob of an experiment, in one record that result files carry along."""

    name: str
    epochs_scale: float            # multiplies each phase of every training schedule (>= 1 epoch)
    train_size: int | None         # training images per run; None: the normal class's whole train set
    test_size: int | None          # test images per run; None: the whole test set
    anogan_test_size: int | None   # AnoGAN's test subset (the thesis: 1000 drawn with seed 1234)
    latent_steps: int              # AnoGAN latent-search steps per test image (the thesis: 500)
    seeds: tuple                   # seeds per configuration (the thesis: 3)
    lip_rounds: int                # rounds of the random-pair bound (the thesis: 10)
    lip_pairs_per_round: int | None
    lip_seconds_per_round: float | None   # the thesis: 15 s per round
    ascent_starts: int             # gradient-ascent bound: starting pairs
    ascent_steps: int              # gradient-ascent bound: Adam steps
    classes: tuple                 # normal classes in experiment 2
    datasets: tuple                # data sets the sweeps cover
    lipschitz_constants: tuple = (0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0)   # experiment 1's grid
    gan_orthogonalization: str = "bjorck"   # Lipschitz GAN layers: "bjorck" (deel-lip) or "spectral"
    anogan_train_score_size: int = 500      # training images AnoGAN scores for its threshold
    dataset_budgets: dict = field(default_factory=dict)   # data set -> fields that differ for it
    # One knob per training phase (None: ``epochs_scale``): the DCAE detector, the DCAE that
    # pretrains Deep SVDD, the Deep SVDD phase, the GAN's epochs (AnoGAN's and f-AnoGAN's), and
    # f-AnoGAN's encoder phase.
    dcae_epochs_scale: float | None = None
    pretrain_epochs_scale: float | None = None
    deepsvdd_epochs_scale: float | None = None
    gan_epochs_scale: float | None = None
    encoder_epochs_scale: float | None = None

    def phase_scale(self, phase: str) -> float:
        """The epochs scale of one training phase (one of ``PHASES``)."""
        if phase not in PHASES:
            raise ValueError(f"unknown training phase {phase!r}; choose one of {PHASES}")
        own = getattr(self, f"{phase}_epochs_scale")
        return self.epochs_scale if own is None else own

    def epochs(self, epochs: int, phase: str | None = None) -> int:
        """A schedule phase of ``epochs`` epochs under this profile (never fewer than one)."""
        scale = self.epochs_scale if phase is None else self.phase_scale(phase)
        return max(1, math.ceil(epochs * scale - 1e-9))

    def lipschitz_budget(self) -> dict:
        """Keyword arguments for ``adlip.metrics.lipschitz_lower_bound``."""
        return dict(rounds=self.lip_rounds, pairs_per_round=self.lip_pairs_per_round,
                    seconds_per_round=self.lip_seconds_per_round)

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "smoke": Profile(
        name="smoke", epochs_scale=0.001, train_size=256, test_size=500, anogan_test_size=100,
        latent_steps=5, seeds=(0,), lip_rounds=3, lip_pairs_per_round=4096, lip_seconds_per_round=None,
        ascent_starts=8, ascent_steps=5, classes=(0,), datasets=("mnist",),
        lipschitz_constants=(1.0, 10.0), gan_orthogonalization="spectral", anogan_train_score_size=50),
    "quick": Profile(
        name="quick", epochs_scale=0.08, train_size=None, test_size=None, anogan_test_size=500,
        latent_steps=50, seeds=(0,), lip_rounds=10, lip_pairs_per_round=1_000_000,
        lip_seconds_per_round=None, ascent_starts=64, ascent_steps=100,
        classes=tuple(range(10)), datasets=("mnist", "cifar10"), gan_orthogonalization="spectral",
        anogan_train_score_size=200,
        # CIFAR-10 on a CPU: 1000 training images of the normal class, a quarter of MNIST's epochs,
        # 2000 test images, a smaller AnoGAN search (measured by benchmarks/bench_training.py:
        # a Lipschitz CIFAR-10 DCAE trains at about 150 images/s on 2 cores, MNIST's at thousands).
        dataset_budgets={"cifar10": dict(train_size=1000, epochs_scale=0.02, test_size=2000,
                                         anogan_test_size=200, anogan_train_score_size=100,
                                         ascent_steps=50)}),
    # The thesis's budget. Two departures, both measured (see the book's chapter on cost):
    # the bound's rounds are 10 million random pairs each instead of 15 seconds each (the same
    # pairs for a seed on any machine, and more than a 15-second round of one pair at a time could
    # see), and the Lipschitz GAN normalises its kernels spectrally: deel-lip's Björck
    # orthonormalisation of the generator's first dense kernel costs about 8.7 hours per run here,
    # spectral normalisation keeps the same K-Lipschitz guarantee for about 23 minutes.
    "full": Profile(
        name="full", epochs_scale=1.0, train_size=None, test_size=None, anogan_test_size=1000,
        latent_steps=500, seeds=(0, 1, 2), lip_rounds=10, lip_pairs_per_round=10_000_000,
        lip_seconds_per_round=None, ascent_starts=256, ascent_steps=500,
        classes=tuple(range(10)), datasets=("mnist", "cifar10"), gan_orthogonalization="spectral",
        anogan_train_score_size=100),
}


def get_profile(name, dataset: str | None = None, **overrides) -> Profile:
    """The named profile, optionally with some fields replaced (``get_profile("quick", seeds=(0, 1))``).

    With ``dataset``, the budget a run on that data set uses: the profile's ``dataset_budgets``
    entry for it is applied (then ``overrides``), and the result has no per-data-set entries left.
    """
    if isinstance(name, Profile):
        profile = name
    elif name in PROFILES:
        profile = PROFILES[name]
    else:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    _check_fields(profile, overrides)
    if dataset is not None:
        from adlip.data import check_dataset_name
        check_dataset_name(dataset)
        own = profile.dataset_budgets.get(dataset, {})
        _check_fields(profile, own)
        profile = replace(profile, **own, dataset_budgets={})
    return replace(profile, **overrides)


def _check_fields(profile: Profile, fields: dict) -> None:
    unknown = set(fields) - set(profile.to_dict())
    if unknown:
        raise ValueError(f"unknown profile fields {sorted(unknown)}; fields are {sorted(profile.to_dict())}")

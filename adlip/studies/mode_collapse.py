"""The Lipschitz GAN's mode collapse, measured (issue 17): which change to the thesis's DCGAN brings it on.

The thesis (sections 5.1.2 and 6) found every Lipschitz DCGAN it trained for AnoGAN collapsed to
one image, and blamed the batch normalisation that deel-lip's layers leave out, without testing
it. This study trains six GANs on one normal class with the same latent prior (256-d standard
normal), the same number of epochs over the same images and the same seed, and measures each
generator after every epoch with the three measures of :mod:`adlip.metrics_gan` (diversity ratio,
normal-class share of a classifier, coverage):

1. ``standard``: the thesis's DCGAN with batch norm (AnoGAN's standard networks), the reference.
1b. ``standard-no-bn``: the same DCGAN with no batch norm in either network (``batch_norm=False``):
   the thesis's explanation tested on the networks it was made about, with nothing else changed.
2. ``lipschitz``: the thesis's Lipschitz DCGAN (AnoGAN ``lipschitz=K``): deel-lip layers, spectral
   normalisation, ReLU in the generator and leaky ReLU in the discriminator, no batch norm.
3. ``lipschitz-groupsort2``: the same networks with GroupSort2, a gradient-norm-preserving
   activation, in place of every ReLU and leaky ReLU (``activation="groupsort2"``).
4. ``lipschitz-generator``: the K-Lipschitz generator of 2 against the standard discriminator,
   batch norm included (``discriminator="standard"``): if batch norm in the discriminator is what
   keeps the standard GAN diverse, this one does not collapse.
5. ``wgan``: the Lipschitz f-AnoGAN's GAN stage: the same K-Lipschitz generator against a
   1-Lipschitz GroupSort2 critic trained on the Wasserstein (Kantorovich-Rubinstein) objective,
   with f-AnoGAN's own settings (Adam 1e-4, betas (0, 0.9), batch 64, 5 critic updates per
   generator update). The DCGANs keep AnoGAN's (Adam 2e-4, beta_1 0.5, batch 128).

An epoch passes every training image through the discriminator or critic once, for all six.
One record per (variant, seed) in ``results/mode-collapse/<profile>/``, holding the measures per
epoch and at the end, the training losses, and 16 samples from the first latent vectors of the
measured batch as grey levels (``round((x + 1) * 127.5)``, integers 0..255), so the chapter can
draw the samples from committed records.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from adlip import metrics_gan
from adlip.data import CLASS_NAMES, load_dataset, one_vs_rest, scale_images
from adlip.detectors import anogan, fanogan
from adlip.detectors.base import Schedule, predict_in_batches
from adlip.records import _jsonable, provenance
from adlip.studies.base import Study, StudyBudget, TaskRun
from adlip.studies.wording import plural, size

STUDY = "mode-collapse"
K = 1.0                 # the thesis's chosen K for the MNIST AnoGAN (experiment 2), every Lipschitz network's
MEASURE_SEED = 4242     # the latent batch every variant is measured on (the same for every variant and seed)
REAL_SEED = 1234        # the subset of the class's test images the samples are compared with
GRID_IMAGES = 16        # samples kept in a record


@dataclass(frozen=True)
class Variant:
    """One GAN of the study: its label, how it is trained (an AnoGAN's DCGAN or a WGAN) and its options."""

    label: str
    objective: str                  # "dcgan" (AnoGAN's training) or "wgan" (f-AnoGAN's GAN stage)
    options: tuple = ()             # detector arguments, as (name, value) pairs
    description: str = ""

    def params(self) -> dict:
        return dict(self.options)


VARIANTS = {
    "standard": Variant("standard DCGAN (batch norm)", "dcgan", (),
                        "the thesis's DCGAN with batch norm; AnoGAN's standard networks"),
    "standard-no-bn": Variant("standard DCGAN, no batch norm", "dcgan", (("batch_norm", False),),
                              "the thesis's standard DCGAN with every batch norm layer left out, in both networks"),
    "lipschitz": Variant("Lipschitz DCGAN (thesis)", "dcgan", (("lipschitz", K),),
                         "deel-lip layers with spectral normalisation, ReLU / leaky ReLU, no batch norm"),
    "lipschitz-groupsort2": Variant("Lipschitz DCGAN, GroupSort2", "dcgan",
                                    (("lipschitz", K), ("activation", "groupsort2")),
                                    "as the thesis's Lipschitz DCGAN, with GroupSort2 in both networks"),
    "lipschitz-generator": Variant("Lipschitz generator, standard discriminator", "dcgan",
                                   (("lipschitz", K), ("discriminator", "standard")),
                                   "the thesis's Lipschitz generator against its standard, batch-normalised "
                                   "discriminator"),
    "wgan": Variant("WGAN, 1-Lipschitz critic", "wgan", (("lipschitz", K),),
                    "the Lipschitz f-AnoGAN's GAN stage: the Lipschitz generator against a 1-Lipschitz "
                    "GroupSort2 critic on the Kantorovich-Rubinstein loss"),
}


@dataclass(frozen=True)
class ModeCollapseBudget(StudyBudget):
    """What one run costs: training images, GAN epochs, the measured samples and the classifier."""

    seeds: tuple = (0,)
    train_size: int | None = None     # training images of the normal class (None: all)
    epochs: int = 20                  # GAN epochs, every variant (AnoGAN's 20 on MNIST under full)
    samples: int = 500                # generated images measured per epoch (a fixed latent batch)
    real_images: int = 500            # real test images of the normal class they are compared with
    classifier_train_size: int | None = None
    classifier_epochs: int = 3

    PER_PROFILE: ClassVar[dict] = {
        "smoke": dict(train_size=128, epochs=1, samples=64, real_images=64, classifier_epochs=1),
        # Measured: the thesis's Lipschitz DCGAN at 4 epochs took 219 s on one thread of this 2-core
        # CPU (about 46 s per epoch on the class's 5923 images, 27 s for the classifier, building
        # and measuring), so 6 epochs is about 5 minutes per variant.
        "quick": dict(epochs=6),
        "full": dict(epochs=20),
    }

    @classmethod
    def from_profile(cls, profile) -> dict:
        return dict(seeds=tuple(profile.seeds))

    def caption(self) -> str:
        wgan_batch, critic_steps = fanogan.BATCH_SIZE, fanogan.FAnoGAN().critic_steps
        return (f"Budget ({self.profile} profile): MNIST normal class 0, {size(self.train_size)} training images of "
                f"the class, {plural(self.epochs, 'GAN epoch')} per variant (the thesis trained "
                f"{anogan.EPOCHS['mnist']}); K = {K:g} for every Lipschitz generator and discriminator (the WGAN's "
                f"critic is 1-Lipschitz), spectral normalisation in all of them but the critic (Björck, f-AnoGAN's "
                f"default); DCGANs at Adam {anogan.LEARNING_RATE:g} (beta_1 "
                f"{anogan.ADAM_BETA_1:g}), batch 128; the WGAN at Adam {fanogan.GAN_LEARNING_RATE:g}, betas "
                f"{fanogan.GAN_BETAS}, batch {wgan_batch}, {critic_steps} critic updates per generator update. "
                f"Measures on {self.samples} images from one fixed batch of latent vectors against {self.real_images} real test "
                f"images of the class; the classifier is a small CNN trained for "
                f"{plural(self.classifier_epochs, 'epoch')} on {size(self.classifier_train_size)} MNIST training "
                f"images; seeds {', '.join(map(str, self.seeds))}.")


@dataclass(frozen=True)
class ModeCollapseRun(TaskRun):
    """One GAN of the study on one task and seed."""

    variant: str = "standard"

    PREFIX = STUDY

    def __post_init__(self):
        super().__post_init__()
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown mode-collapse variant {self.variant!r}; choose one of {list(VARIANTS)}")

    @property
    def run_id(self) -> str:
        return f"{self.PREFIX}-{self.dataset}-c{self.normal_class}-{self.variant}-s{self.seed}"

    @property
    def budget(self) -> ModeCollapseBudget:
        return ModeCollapseBudget.resolve(self.profile)


def grid(profile: str) -> list:
    """Every variant on MNIST class 0, for each seed of the profile."""
    budget = ModeCollapseBudget.resolve(profile)
    return [ModeCollapseRun("mnist", 0, seed, budget.profile, variant)
            for seed in budget.seeds for variant in VARIANTS]


# -- measuring -----------------------------------------------------------------------------------

def measured_latents(n: int, latent_dim: int = 256) -> np.ndarray:
    """The fixed batch of prior draws every generator is measured on (its first rows give the grid)."""
    return np.random.default_rng(MEASURE_SEED).standard_normal((n, latent_dim)).astype(np.float32)


def real_class_images(dataset: str, normal_class: int, n: int) -> np.ndarray:
    """``n`` test images of the normal class (a seeded subset), scaled to [-1, 1] as the GANs' outputs."""
    (_, _), (x_test, y_test) = load_dataset(dataset)
    images = x_test[y_test.reshape(-1) == normal_class]
    if n < len(images):
        images = images[np.sort(np.random.default_rng(REAL_SEED).choice(len(images), n, replace=False))]
    return scale_images(images, "tanh")[0]


def generate(generator, latents) -> np.ndarray:
    return predict_in_batches(lambda z: generator(z, training=False), latents, 500)


class EpochMonitor:
    """The three measures of a generator, as ``AnoGAN.epoch_monitor`` calls it after every epoch."""

    KEYS = ("diversity_ratio", "normal_share", "coverage")

    def __init__(self, latents, real, classifier, normal_class: int):
        self.latents, self.real, self.classifier, self.normal_class = latents, real, classifier, normal_class

    def measures(self, generator) -> tuple:
        """(measures, generated images) of ``generator`` in inference mode."""
        generated = generate(generator, self.latents)
        measures = metrics_gan.collapse_measures(generated, self.real, self.classifier.predict, self.normal_class)
        return measures, generated

    def __call__(self, generator, epoch) -> dict:
        measures, _ = self.measures(generator)
        return {f"measured_{key}": measures[key] for key in self.KEYS}


def train_wgan_stage(x, lipschitz: float, epochs: int, seed: int, monitor=None, dataset: str = "mnist"):
    """The Lipschitz f-AnoGAN's GAN stage alone (``FAnoGAN.fit_gan``), with ``monitor`` called after every epoch.

    The same networks, optimizers, update steps and per-epoch diversity tracking as ``FAnoGAN.fit``
    runs before its encoder phase; the encoder is neither built nor trained. Returns the f-AnoGAN
    detector holding ``generator_``, ``critic_``, ``schedule_`` and ``data_diversity_``, and the history.
    """
    detector = fanogan.FAnoGAN(dataset=dataset, lipschitz=lipschitz, seed=seed, verbose=0,
                               schedule=Schedule(((epochs, fanogan.GAN_LEARNING_RATE),), fanogan.BATCH_SIZE, 0.0))
    detector.epoch_monitor = monitor
    detector.fit_gan(x)
    return detector, detector.history_


def _train(spec: ModeCollapseRun, x, budget: ModeCollapseBudget, monitor):
    """Train the spec's GAN; returns (detector, generator, discriminator or critic, history)."""
    variant = VARIANTS[spec.variant]
    if variant.objective == "wgan":
        detector, history = train_wgan_stage(x, variant.params()["lipschitz"], budget.epochs, spec.seed, monitor,
                                             spec.dataset)
        return detector, detector.generator_, detector.critic_, history
    schedule = Schedule(((budget.epochs, anogan.LEARNING_RATE),), batch_size=128, weight_decay=0.0)
    detector = anogan.AnoGAN(dataset=spec.dataset, seed=spec.seed, schedule=schedule, verbose=0,
                             orthogonalization="spectral", latent_steps=1, search_batch_size=16, train_score_size=16,
                             **variant.params())
    detector.epoch_monitor = monitor
    detector.fit(x)   # scores 16 training images with a 1-step search: the study uses the GAN only
    return detector, detector.generator_, detector.discriminator_, detector.history_


def grey_levels(images) -> list:
    """Images in [-1, 1] as nested lists of integer grey levels 0..255 (channel axis dropped if single)."""
    levels = np.clip(np.rint((np.asarray(images, np.float64) + 1.0) * 127.5), 0, 255).astype(int)
    if levels.ndim == 4 and levels.shape[-1] == 1:
        levels = levels[..., 0]
    return levels.tolist()


def run_mode_collapse(spec: ModeCollapseRun) -> dict:
    """Train one variant and measure it after every epoch and at the end; its record."""
    started = time.perf_counter()
    budget = spec.budget
    variant = VARIANTS[spec.variant]
    classifier = metrics_gan.digit_classifier(spec.dataset, budget.classifier_train_size, budget.classifier_epochs)
    split = one_vs_rest(spec.dataset, spec.normal_class, scaling="tanh", train_size=budget.train_size,
                        test_size=1, seed=REAL_SEED)
    real = real_class_images(spec.dataset, spec.normal_class, budget.real_images)
    monitor = EpochMonitor(measured_latents(budget.samples), real, classifier, spec.normal_class)
    detector, generator, discriminator, history = _train(spec, split.x_train, budget, monitor)
    final, generated = monitor.measures(generator)
    per_epoch = {key: [float(v) for v in history[f"measured_{key}"]] for key in EpochMonitor.KEYS}
    per_epoch["detector_diversity_ratio"] = [float(v) for v in history["diversity_ratio"]]
    losses = {key: [float(v) for v in values] for key, values in history.items() if not key.startswith("measured_")}
    return dict(
        run_id=spec.run_id, study=STUDY, profile=budget.profile, dataset=spec.dataset,
        normal_class=int(spec.normal_class), class_name=CLASS_NAMES[spec.dataset][spec.normal_class],
        seed=int(spec.seed), variant=spec.variant, label=variant.label, objective=variant.objective,
        description=variant.description, lipschitz=variant.params().get("lipschitz"),
        detector=detector.family, detector_params=_jsonable(detector.get_params()),
        generator=_architecture_name(detector, "generator"),
        discriminator=_architecture_name(detector, "critic" if variant.objective == "wgan" else "discriminator"),
        budget=budget.to_dict(), n_train=len(split.x_train), n_real=len(real), n_samples=budget.samples,
        classifier=classifier.describe(), expected_coverage=metrics_gan.expected_coverage(len(real), budget.samples),
        collapse_threshold=anogan.COLLAPSE_RATIO, per_epoch=per_epoch, final=final, collapsed=final["collapsed"],
        samples=dict(encoding="grey levels round((x + 1) * 127.5), 0..255",
                     latent_rows=f"rows 0..{GRID_IMAGES - 1} of the measured latent batch (seed {MEASURE_SEED})",
                     grey_levels=grey_levels(generated[:GRID_IMAGES])),
        history=losses, train_seconds=float(sum(history["seconds"])), seconds=time.perf_counter() - started,
        status="ok", **provenance())


def _architecture_name(detector, family: str) -> str:
    return detector.architecture(family).name


MODE_COLLAPSE = Study(
    name=STUDY, title="The Lipschitz GAN's mode collapse: batch norm, GroupSort2, a standard discriminator, a WGAN",
    grid=grid, run=run_mode_collapse, record_file=lambda spec: f"{spec.run_id}.json",
    budget=ModeCollapseBudget.resolve)


def records(profile: str, results_dir="results", run=None) -> list:
    """The study's records at ``profile`` (:meth:`~adlip.studies.base.Study.records`)."""
    return MODE_COLLAPSE.records(profile, results_dir, run=run)


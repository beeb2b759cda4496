"""The SpectralConv2D decoder question (thesis section 4.1), one explanation per variant.

The thesis first gave its Lipschitz DCAE a convolutional decoder of deel-lip ``SpectralConv2D``
layers, found blurred reconstructions, and switched to a dense decoder. Each :class:`Variant` here
changes one thing about that convolutional decoder (its constant K, how K is set, batch norm, the
activation, the training budget, how the convolutions are normalised) and :func:`run_variant`
trains it on one normal class and measures what the question needs: reconstruction error,
sharpness, ROC-AUC, and how much of its Lipschitz budget the decoder really has (the product of
its layers' measured operator norms, against the K it was given).

:func:`run_study` runs the variants and keeps one JSON record per variant in a folder, so a rerun
skips finished variants and an interrupted study loses only the variant in flight. Book chapter 19
reads the committed records.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from adlip import architectures, data, metrics
from adlip.detectors.dcae import DCAE
from adlip.profiles import get_profile
from adlip.studies.base import Study

SHOWN_IMAGES = 8   # normal test images whose reconstructions each record keeps
# The study's constant. At experiment 2's K = 2 no Lipschitz DCAE reconstructs anything at all (its
# output barely varies: experiment 1's records show it), so the decoders are compared at K = 100,
# where the thesis's dense decoder reconstructs well.
STUDY_K = 100.0


@dataclass(frozen=True)
class Variant:
    """One Lipschitz DCAE of the study; every field not named keeps the thesis's choice.

    ``decoder`` is an ``architectures.DECODERS`` entry; ``lipschitz`` the constant K;
    ``thesis_build`` builds the network the way deel-lip's
    ``Sequential(k_coef_lip=K)`` does when it is given an input shape (the pitfall in
    ``REFERENCE.md``); ``batch_norm`` puts batch norm after every decoder convolution but the last;
    ``activation`` replaces the leaky ReLUs (``"groupsort2"``); ``epochs_factor`` multiplies the
    profile's training budget.
    """

    name: str
    explanation: str
    decoder: str = "spectralconv"
    lipschitz: float = STUDY_K
    thesis_build: bool = False
    batch_norm: bool = False
    activation: str | None = None
    epochs_factor: float = 1.0


VARIANTS = (
    Variant("dense", "the thesis's dense decoder, for reference", decoder="dense"),
    Variant("spectralconv", "the convolutional decoder with deel-lip SpectralConv2D (the effect)"),
    Variant("spectralconv-k1000", "the same at K = 1000: can a larger K make up for the correction factor?",
            lipschitz=1000.0),
    Variant("pitfall", "K set through deel-lip's Sequential(k_coef_lip=K) built with an input shape",
            thesis_build=True),
    Variant("batchnorm", "batch norm after each decoder convolution (no longer Lipschitz)", batch_norm=True),
    Variant("groupsort2", "GroupSort2 instead of leaky ReLU (gradient norm preserving)", activation="groupsort2"),
    Variant("budget-x4", "four times the training epochs", epochs_factor=4.0),
    Variant("operatorconv", "convolutions normalised by their operator norm, no correction factor",
            decoder="operatorconv"),
    Variant("operatorconv-x4", "the same, four times the training epochs", decoder="operatorconv",
            epochs_factor=4.0),
)
VARIANTS_BY_NAME = {variant.name: variant for variant in VARIANTS}


def get_variant(name) -> Variant:
    if isinstance(name, Variant):
        return name
    if name not in VARIANTS_BY_NAME:
        raise ValueError(f"unknown variant {name!r}; choose one of {sorted(VARIANTS_BY_NAME)}")
    return VARIANTS_BY_NAME[name]


def with_decoder_batch_norm(arch: architectures.Architecture) -> architectures.Architecture:
    """``arch`` with a batch norm row after every decoder convolution except the last."""
    depth = arch.encoder_depth
    decoder = list(arch.layers[depth:])
    convs = [i for i, row in enumerate(decoder) if row.kind in architectures.LIPSCHITZ_KINDS]
    rows = []
    for i, row in enumerate(decoder):
        rows.append(row)
        if i in convs[:-1]:
            rows.append(architectures.Layer("BatchNorm", output_shape=row.output_shape))
    return replace(arch, name=arch.name + " + batch norm", layers=arch.layers[:depth] + tuple(rows))


def build_like_thesis(arch: architectures.Architecture, lipschitz: float, seed: int = 0):
    """``arch`` as one flat deel-lip ``Sequential(k_coef_lip=lipschitz)`` built from an input shape.

    This is how the thesis's code set K. deel-lip then shares K over its layers, but every
    ``SpectralDense`` has already traced its call with the factor 1, so only the convolutions get
    their share (see ``REFERENCE.md``); ``architectures.build`` avoids this by giving each layer its
    factor in its constructor.
    """
    import tensorflow as tf
    from deel.lip.model import Sequential as LipschitzSequential

    tf.keras.utils.set_random_seed(seed)
    factory = architectures._LayerFactory(arch, 1.0, "bjorck", seed)
    layers, shape = [tf.keras.layers.InputLayer(input_shape=arch.input_shape)], arch.input_shape
    for row in arch.layers:
        layers.append(factory.make(row, shape))
        shape = row.output_shape
    with warnings.catch_warnings():   # deel-lip warns of every layer it does not know as 1-Lipschitz
        warnings.simplefilter("ignore", UserWarning)
        model = LipschitzSequential(layers, k_coef_lip=float(lipschitz), name="thesis_build")
    architectures.refresh_lipschitz_kernels(model)
    return model


class StudyDCAE(DCAE):
    """A Lipschitz DCAE with the study's two network changes as parameters, so that ``clone``,
    ``save`` and ``load`` keep them: ``decoder_batch_norm`` puts batch norm after every decoder
    convolution but the last, ``thesis_build`` builds the network the way deel-lip's
    ``Sequential(k_coef_lip=K)`` does when it is given an input shape."""

    def __init__(self, dataset="mnist", lipschitz=STUDY_K, seed=0, schedule=None, epochs_scale=1.0,
                 batch_size=None, verbose=1, contamination=0.1, orthogonalization="bjorck", activation=None,
                 pooling=None, decoder="spectralconv", decoder_batch_norm=False, thesis_build=False):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination, orthogonalization=orthogonalization,
                         activation=activation, pooling=pooling, decoder=decoder)
        self.decoder_batch_norm = decoder_batch_norm
        self.thesis_build = thesis_build

    @property
    def architecture(self) -> architectures.Architecture:
        arch = super().architecture
        return with_decoder_batch_norm(arch) if self.decoder_batch_norm else arch

    def _build_network(self):
        if self.thesis_build:
            return build_like_thesis(self.architecture, self.lipschitz, self.seed)
        return super()._build_network()


def make_detector(variant, dataset="mnist", profile="quick", seed=0, verbose=0) -> StudyDCAE:
    """The untrained detector for ``variant`` under ``profile``'s budget."""
    variant = get_variant(variant)
    return StudyDCAE(dataset=dataset, lipschitz=variant.lipschitz, seed=seed, verbose=verbose, decoder=variant.decoder,
                     activation=variant.activation, decoder_batch_norm=variant.batch_norm,
                     thesis_build=variant.thesis_build,
                     epochs_scale=get_profile(profile).epochs_scale * variant.epochs_factor)


def decoder_constant(model, arch: architectures.Architecture, seed: int = 0) -> float:
    """Upper bound on the decoder's Lipschitz constant: the product of its layers' measured constants.

    The decoder is the nested ``decoder`` model of :func:`architectures.build` or, in a flat model
    (:func:`build_like_thesis`), the layers after the encoder's ``encoder_depth``.
    """
    names = [layer.name for layer in model.layers]
    if "decoder" in names:
        return metrics.lipschitz_upper_bound(model.get_layer("decoder"), seed).value
    constants = metrics.lipschitz_upper_bound(model, seed).layers
    return float(np.prod([c for _, _, c in constants[arch.encoder_depth:]]))   # one constant per row


def nominal_decoder_constant(arch: architectures.Architecture, lipschitz: float) -> float:
    """What the decoder is allowed: K's share for its Lipschitz layers, times the sigmoid's 1/4."""
    decoder_rows = arch.layers[arch.encoder_depth:]
    share = sum(row.kind in architectures.LIPSCHITZ_KINDS for row in decoder_rows) / arch.lipschitz_layer_count
    return float(lipschitz) ** share * 0.25


def edge_energy(images: np.ndarray) -> np.ndarray:
    """Per image, the summed squared differences between neighbouring pixels (low when blurred)."""
    images = np.asarray(images, dtype=np.float64)
    return (np.square(np.diff(images, axis=1)).sum(axis=(1, 2, 3))
            + np.square(np.diff(images, axis=2)).sum(axis=(1, 2, 3)))


def run_variant(variant, dataset="mnist", normal_class=0, profile="quick", seed=0, verbose=0) -> dict:
    """Train one variant on one normal class and measure it; returns a JSON-ready record."""
    from adlip.records import provenance

    variant = get_variant(variant)
    budget = get_profile(profile)
    split = data.one_vs_rest(dataset, normal_class, train_size=budget.train_size, test_size=budget.test_size,
                             seed=1234)
    detector = make_detector(variant, dataset, profile, seed, verbose).fit(split.x_train)
    arch, model = detector.architecture, detector.autoencoder_
    normal = split.x_test[split.y_test == 0]
    reconstructions = detector.reconstruct(normal)
    scores = detector.decision_function(split.x_test)
    shown = np.arange(min(SHOWN_IMAGES, len(normal)))
    ratio = edge_energy(reconstructions) / np.maximum(edge_energy(normal), 1e-12)
    nominal = nominal_decoder_constant(arch, detector.lipschitz)
    realised = decoder_constant(model, arch, seed)
    return dict(
        variant=asdict(variant), dataset=dataset, normal_class=normal_class, profile=profile, seed=seed,
        budget=dict(train_images=len(split.x_train), test_images=len(split.x_test),
                    epochs=detector.schedule_.total_epochs, epochs_scale=detector.epochs_scale),
        lipschitz=detector.lipschitz, architecture=arch.name,
        auc=metrics.roc_auc(split.y_test, scores),
        train_mse=float(detector.history_["mse"][-1]),
        test_mse=float(np.mean(np.square(normal - reconstructions))),
        edge_energy_ratio=float(np.median(ratio)),
        decoder_constant=realised, decoder_nominal=nominal, decoder_share=realised / nominal,
        autoencoder_upper_bound=metrics.lipschitz_upper_bound(model, seed).value,
        train_seconds=detector.train_seconds_,
        loss=[float(v) for v in detector.history_["mse"]],
        shown_indices=shown.tolist(),
        reconstructions=np.round(reconstructions[shown], 3).tolist(),
        **provenance())


def record_file(out_dir, variant, dataset="mnist", normal_class=0, seed=0) -> Path:
    return Path(out_dir) / f"{get_variant(variant).name}-{dataset}-c{normal_class}-s{seed}.json"


@dataclass(frozen=True)
class DecoderRun:
    """One run of the study: a variant trained on one normal class under a profile's budget."""

    variant: str
    profile: str = "quick"
    dataset: str = "mnist"
    normal_class: int = 0
    seed: int = 0

    def __post_init__(self):
        get_variant(self.variant)
        get_profile(self.profile)
        data.check_dataset_name(self.dataset)
        data._check_class(self.dataset, self.normal_class)

    @property
    def run_id(self) -> str:
        return record_file(".", self.variant, self.dataset, self.normal_class, self.seed).stem


def study_grid(profile: str, variants=VARIANTS, dataset="mnist", normal_class=0, seed=0) -> list:
    """The study's runs: every variant on one normal class (class 0 of MNIST by default)."""
    return [DecoderRun(get_variant(v).name, get_profile(profile).name, dataset, normal_class, seed) for v in variants]


def _run(spec: DecoderRun) -> dict:
    return run_variant(spec.variant, spec.dataset, spec.normal_class, spec.profile, spec.seed)


DECODERS = Study(name="decoders", title="The SpectralConv2D decoder question, one variant per explanation",
                 grid=study_grid, run=_run, record_file=lambda spec: f"{spec.run_id}.json", budget=get_profile)


def run_study(out_dir, variants=VARIANTS, dataset="mnist", normal_class=0, profile="quick", seed=0,
              progress=True) -> list:
    """Run every variant whose record is missing from ``out_dir``; return all records, in order.

    Records are written atomically as each variant finishes, so an interrupted study resumes where
    it stopped; a record of another profile in the same file is an error, not silently reused.
    """
    specs = study_grid(profile, variants, dataset, normal_class, seed)
    folder = Path(out_dir)
    for spec in specs:
        path = folder / DECODERS.record_file(spec)
        if path.is_file() and json.loads(path.read_text())["profile"] != spec.profile:
            raise ValueError(f"{path} was made under profile {json.loads(path.read_text())['profile']!r}, not "
                             f"{spec.profile!r}; give another out_dir or remove the file")
    DECODERS.run_missing(profile, specs=specs, out_dir=folder, progress=progress)
    return [json.loads((folder / DECODERS.record_file(spec)).read_text()) for spec in specs]


def study_records(profile: str, results_dir="results", run=None, dataset="mnist", normal_class=0, seed=0,
                  progress=False) -> list:
    """The records book chapter 19 renders: ``results_dir/decoders/<profile>/``, one per variant.

    ``run=None`` trains missing variants only under the ``smoke`` profile (CI runs the whole path
    in a couple of minutes) and otherwise reads the committed records; ``run=True`` always completes
    the study first, ``run=False`` never does.
    """
    return DECODERS.records(profile, results_dir, run=run, progress=progress,
                            specs=study_grid(profile, VARIANTS, dataset, normal_class, seed))


def summary_rows(records) -> list:
    """One table row per record: what changed, and what it did."""
    rows = []
    for r in records:
        rows.append([r["variant"]["name"], r["variant"]["explanation"], f"{r['lipschitz']:g}",
                     f"{r['train_mse']:.4f}", f"{r['edge_energy_ratio']:.3f}", f"{100 * r['auc']:.1f}",
                     f"{r['decoder_constant']:.3g}", f"{r['decoder_nominal']:.3g}",
                     "n/a" if r["variant"]["batch_norm"] else f"{r['decoder_share']:.0%}"])
    return rows


SUMMARY_HEADER = ["variant", "what changes", "K", "train MSE", "edge energy (recon / input)", "ROC-AUC (%)",
                  "decoder constant (measured)", "decoder budget", "budget used"]

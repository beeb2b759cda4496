"""Training and scoring throughput of the thesis's detectors, standard vs Lipschitz.

Training: images per second of DCAE and Deep SVDD (one-class, without its DCAE pretraining) on
MNIST- and CIFAR-10-shaped inputs, measured over a few epochs after one warm-up epoch (which
absorbs graph tracing). Scoring: images per second of a trained Lipschitz DCAE's inference, as
trained (deel-lip layers) and after ``export_vanilla`` (plain Conv2D / Dense layers).

Throughput does not depend on pixel values, so the inputs are uniform noise: no data set needed.

    python benchmarks/bench_training.py            # 600 images, 2 timed epochs
    python benchmarks/bench_training.py --quick    # 200 images, 1 timed epoch
"""
import argparse
import time

import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

import numpy as np

from adlip.architectures import export_vanilla
from adlip.data import INPUT_SHAPES
from adlip.detectors import DCAE, DeepSVDD, Schedule
from adlip.detectors.base import predict_in_batches

LIPSCHITZ_K = 2.0


def images(dataset: str, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n,) + INPUT_SHAPES[dataset]).astype(np.float32)


def make(kind: str, dataset: str, lipschitz, epochs: int):
    """A detector that trains ``epochs`` timed epochs after one warm-up epoch, at batch 200."""
    schedule = Schedule(((1 + epochs, 1e-4),), batch_size=200, weight_decay=1e-6)
    common = dict(dataset=dataset, lipschitz=lipschitz, schedule=schedule, verbose=0)
    return DCAE(**common) if kind == "dcae" else DeepSVDD(pretrain=False, **common)


def training_throughput(kind: str, dataset: str, lipschitz, n: int, epochs: int):
    """(images per second after the warm-up epoch, the fitted detector)."""
    detector = make(kind, dataset, lipschitz, epochs).fit(images(dataset, n))
    timed = detector.history_["seconds"][1:]
    return n * len(timed) / sum(timed), detector


def scoring_throughput(model, x: np.ndarray, repeats: int = 3) -> float:
    """Images per second of inference-mode calls in batches of 1000, best of ``repeats``."""
    predict_in_batches(lambda batch: model(batch, training=False), x[:1000])   # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        predict_in_batches(lambda batch: model(batch, training=False), x)
        best = min(best, time.perf_counter() - started)
    return len(x) / best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 images, 1 timed epoch")
    parser.add_argument("--images", type=int, default=None, help="training images (default 600, quick 200)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs (default 2, quick 1)")
    args = parser.parse_args(argv)
    n = args.images or (200 if args.quick else 600)
    epochs = args.epochs or (1 if args.quick else 2)

    print(f"Training throughput (images/s, batch 200, {n} images, {epochs} timed epoch(s) after a warm-up; "
          f"Lipschitz K = {LIPSCHITZ_K:g}, Björck)")
    print("| data set | detector | standard | Lipschitz | Lipschitz / standard |")
    print("|---|---|---|---|---|")
    trained = {}
    for dataset in ("mnist", "cifar10"):
        for kind in ("dcae", "deepsvdd"):
            standard, _ = training_throughput(kind, dataset, None, n, epochs)
            lipschitz, detector = training_throughput(kind, dataset, LIPSCHITZ_K, n, epochs)
            trained[(kind, dataset)] = detector
            print(f"| {dataset} | {kind} | {standard:.0f} | {lipschitz:.0f} | {lipschitz / standard:.2f} |", flush=True)

    print("\nScoring throughput of a trained Lipschitz DCAE (images/s, batches of 1000)")
    print("| data set | as trained (deel-lip) | vanilla export | speed-up | max output difference |")
    print("|---|---|---|---|---|")
    for dataset in ("mnist", "cifar10"):
        model = trained[("dcae", dataset)].autoencoder_
        exported = export_vanilla(model)
        x = images(dataset, 2000 if args.quick else 5000, seed=1)
        as_trained, vanilla = scoring_throughput(model, x), scoring_throughput(exported, x)
        difference = float(np.abs(model(x[:500], training=False).numpy() - exported(x[:500]).numpy()).max())
        print(f"| {dataset} | {as_trained:.0f} | {vanilla:.0f} | {vanilla / as_trained:.2f} | {difference:.1e} |",
              flush=True)


if __name__ == "__main__":
    main()

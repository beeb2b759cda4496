"""How much faster does f-AnoGAN score than AnoGAN? One encoder pass against a latent search.

Trains a standard AnoGAN (DCGAN) and a standard f-AnoGAN (WGAN-GP, then the izi_f encoder) briefly on
MNIST class 0 (the timing does not depend on how well they are trained: both score through the same
generator architecture), then scores the same ``--images`` MNIST test images with each: AnoGAN by
its batched latent search (``--steps`` Adam steps, all images as one batch), f-AnoGAN by one
forward pass through encoder, generator and critic. Each scorer is called once on two images first,
so that tracing is not timed. Prints images per second for both, the ratio, and the load average
(on a shared machine it explains slow figures).

    python benchmarks/bench_fanogan_scoring.py [--images 200] [--steps 500] [--train-images 1000]
"""
import argparse
import os
import time

import adlip  # noqa: F401  (before TensorFlow)

from adlip.data import one_vs_rest
from adlip.detectors import AnoGAN, FAnoGAN

MNIST_TEST_IMAGES = 10_000


def timed(score, x):
    score(x[:2])   # warm-up: traces the compiled scorer
    start = time.perf_counter()
    score(x)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="MNIST test images each detector scores")
    parser.add_argument("--steps", type=int, default=500, help="AnoGAN's latent-search steps per image")
    parser.add_argument("--train-images", type=int, default=1000, help="normal training images (class 0)")
    parser.add_argument("--epochs", type=int, default=1, help="GAN (and encoder) epochs before timing")
    args = parser.parse_args()
    if args.images < 3 or args.steps < 1 or args.train_images < 2 or args.epochs < 1:
        parser.error("need --images >= 3, --steps >= 1, --train-images >= 2 and --epochs >= 1")

    split = one_vs_rest("mnist", 0, scaling="tanh", train_size=args.train_images, test_size=args.images, seed=0)
    x = split.x_test
    scale = args.epochs / 20   # both detectors' MNIST schedules have 20 epochs per phase
    anogan = AnoGAN(epochs_scale=scale, latent_steps=args.steps, search_batch_size=len(x), train_score_size=2,
                    verbose=0)
    fanogan = FAnoGAN(epochs_scale=scale, verbose=0)
    for name, detector in (("AnoGAN", anogan), ("f-AnoGAN", fanogan)):
        start = time.perf_counter()
        detector.fit(split.x_train)
        print(f"trained {name} for {args.epochs} epoch(s) per phase on {len(split.x_train)} images "
              f"in {time.perf_counter() - start:.0f} s")

    search_seconds = timed(anogan.decision_function, x)
    encoder_seconds = timed(fanogan.decision_function, x)
    print(f"\n{len(x)} MNIST test images; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"{'scoring':<34}{'seconds':>10}{'images/s':>12}{'10,000 MNIST test images':>27}")
    for name, seconds in ((f"AnoGAN, {args.steps}-step latent search", search_seconds),
                          ("f-AnoGAN, one encoder pass", encoder_seconds)):
        total = MNIST_TEST_IMAGES * seconds / len(x)
        print(f"{name:<34}{seconds:>10.3f}{len(x) / seconds:>12.1f}{total:>25.0f} s")
    print(f"\nf-AnoGAN scores {search_seconds / encoder_seconds:,.0f}x as many images per second as AnoGAN")


if __name__ == "__main__":
    main()

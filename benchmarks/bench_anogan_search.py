"""How fast is AnoGAN's latent search? A whole batch of images at once against one image at a time.

Trains the thesis's standard MNIST DCGAN briefly (the timing does not depend on how well it is
trained), then runs the same latent search, ``--steps`` Adam steps per image, twice: on all
``--images`` MNIST test images as one batch, and image by image (batch size 1, the thesis's way)
on the first ``--single-images`` of them. Both use the same compiled search graph, so the
difference is batching alone. Prints images per second, the agreement of the two searches' scores,
and the time both would need for the 10,000 MNIST test images (the thesis: about two weeks, one
image at a time, for the MNIST test set). The load average is printed too: on a shared machine
it explains slow figures.

    python benchmarks/bench_anogan_search.py [--images 200] [--steps 500] [--single-images 20]
"""
import argparse
import os
import time

import adlip  # noqa: F401  (before TensorFlow)
import numpy as np

from adlip.data import one_vs_rest
from adlip.detectors.anogan import AnoGAN

MNIST_TEST_IMAGES = 10_000


def timed_search(detector, x, steps, batch_size):
    start = time.perf_counter()
    scores = detector.search(x, steps=steps, batch_size=batch_size)["score"]
    return scores, time.perf_counter() - start


def hours(seconds):
    return f"{seconds / 3600:.1f} h"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="MNIST test images searched as one batch")
    parser.add_argument("--steps", type=int, default=500, help="latent-search steps per image")
    parser.add_argument("--single-images", type=int, default=20,
                        help="of those, how many to search one at a time (the slow way)")
    parser.add_argument("--train-images", type=int, default=1000, help="normal training images (class 0)")
    parser.add_argument("--epochs", type=int, default=1, help="DCGAN training epochs before timing")
    args = parser.parse_args()
    if not 1 <= args.single_images <= args.images:
        parser.error("--single-images must be between 1 and --images")

    split = one_vs_rest("mnist", 0, scaling="tanh", train_size=args.train_images, test_size=args.images, seed=0)
    detector = AnoGAN(epochs_scale=args.epochs / 20, latent_steps=args.steps, train_score_size=1, verbose=0)
    start = time.perf_counter()
    detector.fit(split.x_train)
    print(f"trained the standard MNIST DCGAN for {args.epochs} epoch(s) on {len(split.x_train)} images "
          f"in {time.perf_counter() - start:.0f} s")
    x = split.x_test
    detector.search(x[:2], steps=1)  # warm-up: the first call traces the search graph

    batched, batched_seconds = timed_search(detector, x, args.steps, batch_size=len(x))
    single, single_seconds = timed_search(detector, x[:args.single_images], args.steps, batch_size=1)
    agreement = np.max(np.abs(single - batched[:args.single_images]) / np.abs(batched[:args.single_images]))

    rows = [("batched", len(x), batched_seconds), ("one at a time", args.single_images, single_seconds)]
    print(f"\n{args.steps} latent steps per image; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs\n")
    print(f"{'search':<15}{'images':>8}{'seconds':>10}{'images/s':>10}{'10,000 MNIST test images':>27}")
    for name, n, seconds in rows:
        print(f"{name:<15}{n:>8}{seconds:>10.1f}{n / seconds:>10.2f}{hours(MNIST_TEST_IMAGES * seconds / n):>27}")
    speedup = (len(x) / batched_seconds) / (args.single_images / single_seconds)
    print(f"\nspeed-up of the batched search: {speedup:.1f}x; largest relative score difference between "
          f"the two on the same images: {agreement:.1e}")


if __name__ == "__main__":
    main()

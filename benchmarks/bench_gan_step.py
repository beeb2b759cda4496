"""Seconds per AnoGAN training step on MNIST: standard, Lipschitz with spectral normalisation (what
the profiles run) and Lipschitz with Björck orthonormalisation (the thesis's, the ``bjorck`` grid).

One step is one batch of 128 images through the thesis's DCGAN: both networks updated from one
generated batch (:func:`adlip.detectors.anogan._make_gan_step`). The median over the timed steps,
after one warm-up step that absorbs graph tracing, is scaled to a full MNIST run (a class's 5923
training images in batches of 128 for 20 epochs). Step time does not depend on pixel values, so
the inputs are uniform noise: no data set needed. The load average is printed beside the figures:
quote them only from an otherwise idle machine.

    python benchmarks/bench_gan_step.py               # 3 timed steps per variant
    python benchmarks/bench_gan_step.py --steps 10 --only spectral --threads 1   # as a sweep worker
"""
import argparse
import math
import os
import statistics
import time

import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

import numpy as np
import tensorflow as tf

from adlip.detectors.anogan import ADAM_BETA_1, LEARNING_RATE, AnoGAN, _make_gan_step
from adlip.experiments import chosen_constant

BATCH = 128
MNIST_CLASS_IMAGES = 5923   # the training images of MNIST class 0
GAN_EPOCHS = 20
K = chosen_constant("mnist", "anogan")   # experiment 2's; the step time does not depend on it
VARIANTS = {"standard": dict(lipschitz=None), "spectral": dict(lipschitz=K, orthogonalization="spectral"),
            "bjorck": dict(lipschitz=K, orthogonalization="bjorck")}


def step_seconds(variant: str, steps: int) -> list:
    """Wall seconds of each of ``steps`` training steps after a warm-up step."""
    detector = AnoGAN(dataset="mnist", **VARIANTS[variant])
    generator, discriminator = detector._build("generator", 0), detector._build("discriminator", 1)
    optimizers = [tf.keras.optimizers.Adam(LEARNING_RATE, beta_1=ADAM_BETA_1) for _ in range(2)]
    step = _make_gan_step(generator, discriminator, *optimizers, detector.latent_dim, 0, detector.input_shape)
    batch = np.random.default_rng(0).uniform(-1, 1, (BATCH,) + detector.input_shape).astype(np.float32)
    float(step(batch)["loss"])   # warm-up: tracing
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        float(step(batch)["loss"])
        seconds.append(time.perf_counter() - started)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant (default 3)")
    parser.add_argument("--only", action="append", choices=sorted(VARIANTS), help="only this variant (repeatable)")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow intra-op threads (default 0: all cores; a sweep worker uses 1)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.threads < 0:
        parser.error("--steps must be at least 1 and --threads at least 0")
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    steps_per_run = math.ceil(MNIST_CLASS_IMAGES / BATCH) * GAN_EPOCHS
    print(f"load average before: {os.getloadavg()[0]:.2f}; TensorFlow intra-op threads: "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'}")
    print(f"{'variant':<10} {'s/step':>8} {'hours per full MNIST run (' + str(steps_per_run) + ' steps)':>40}")
    for variant in args.only or VARIANTS:
        seconds = statistics.median(step_seconds(variant, args.steps))
        print(f"{variant:<10} {seconds:8.3f} {seconds * steps_per_run / 3600:40.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

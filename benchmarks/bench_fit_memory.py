"""Resident memory after each of several AnoGAN fits in one process: what a loop over fits keeps.

Each fit builds new networks and a new traced training step; the previous detector is deleted,
garbage-collected and Keras's session cleared before the memory is read. On TensorFlow 2.21 the
memory of every network trained by a traced step with an optimizer stays with the process after
its Python objects are gone (eager training does not keep it), so the figure grows by about the
size of the networks and their optimizer state per fit: small for the standard DCGAN, most of a
gigabyte for the Lipschitz one, whose generator holds 94 M values. This is why sweeps run every
run in a process of its own, and why ``make test`` runs its GAN tests apart from the chapters'.

Memory does not depend on load, so the figures can be taken beside other work; the images are
uniform noise (the networks' sizes, not the pixels, set the memory).

    python benchmarks/bench_fit_memory.py                  # standard and Lipschitz, 4 fits each
    python benchmarks/bench_fit_memory.py --fits 6 --only lipschitz
"""
import argparse
import gc

import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

import numpy as np
import tensorflow as tf

from adlip.detectors.anogan import AnoGAN

VARIANTS = {"standard": None, "lipschitz": 1.0}


def resident_gb() -> float:
    """This process's resident set size (Linux), in GB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e6
    raise RuntimeError("no VmRSS in /proc/self/status: this benchmark needs Linux")


def one_fit(images, lipschitz) -> None:
    """One short AnoGAN fit (one epoch, a few search steps), deleted and collected afterwards."""
    detector = AnoGAN(lipschitz=lipschitz, orthogonalization="spectral", epochs_scale=1.0,
                      schedule=dict(phases=[[1, 2e-4]], batch_size=32), train_score_size=8,
                      latent_steps=5, verbose=0).fit(images)
    detector.decision_function(images[:8])
    del detector
    gc.collect()
    tf.keras.backend.clear_session()
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fits", type=int, default=4, help="fits per variant (default 4)")
    parser.add_argument("--only", choices=sorted(VARIANTS), action="append", help="only this variant (repeatable)")
    args = parser.parse_args()
    if args.fits < 2:
        parser.error("--fits must be at least 2: the growth is the difference between fits")
    images = np.random.default_rng(0).uniform(-1, 1, (256, 28, 28, 1)).astype("float32")
    for name in args.only or list(VARIANTS):
        after = []
        for _ in range(args.fits):
            one_fit(images, VARIANTS[name])
            after.append(resident_gb())
        growth = (after[-1] - after[0]) / (len(after) - 1)
        print(f"{name:9s} resident after each fit: {', '.join(f'{gb:.2f}' for gb in after)} GB; "
              f"{growth:+.2f} GB per fit after the first")


if __name__ == "__main__":
    main()

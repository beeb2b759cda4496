"""Processes or threads? How a sweep should share the cores among its runs.

A sweep runs many independent trainings. On ``C`` cores it can run one at a time with ``C``
TensorFlow threads, or ``C`` at a time with one thread each. This script measures both on the same
work (training the thesis's MNIST detectors on uniform noise: throughput does not depend on pixel
values) and prints the machine's total training images per second for each, and their ratio.
``adlip.experiments.parallelism`` picks its default from these figures.

    python benchmarks/bench_parallelism.py                 # DCAE and Deep SVDD, standard and Lipschitz
    python benchmarks/bench_parallelism.py --images 600 --epochs 2
"""
import argparse
import json
import os
import subprocess
import sys
import time

CASES = [("dcae", None), ("dcae", 2.0), ("deepsvdd", None), ("deepsvdd", 2.0)]


def worker(kind: str, lipschitz, images: int, epochs: int, threads: int) -> float:
    """Images per second of one training run in this process, with ``threads`` TensorFlow threads."""
    import adlip  # noqa: F401  (before TensorFlow)
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from adlip.detectors import DCAE, DeepSVDD, Schedule

    schedule = Schedule(((1 + epochs, 1e-4),), batch_size=200, weight_decay=1e-6)
    x = np.random.default_rng(0).uniform(0, 1, (images, 28, 28, 1)).astype(np.float32)
    common = dict(lipschitz=lipschitz, schedule=schedule, verbose=0)
    detector = DCAE(**common) if kind == "dcae" else DeepSVDD(pretrain=False, **common)
    timed = detector.fit(x).history_["seconds"][1:]          # the first epoch traces the graph
    return images * len(timed) / sum(timed)


def launch(kind, lipschitz, images, epochs, threads):
    arguments = json.dumps([kind, lipschitz, images, epochs, threads])
    return subprocess.Popen([sys.executable, __file__, "--worker", arguments], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def total_rate(kind, lipschitz, images, epochs, processes, threads) -> float:
    """Summed images per second of ``processes`` simultaneous runs with ``threads`` threads each."""
    running = [launch(kind, lipschitz, images, epochs, threads) for _ in range(processes)]
    rates = []
    for process in running:
        output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"a benchmark worker failed with exit code {process.returncode}")
        rates.append(float(output.strip().splitlines()[-1]))
    return sum(rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="training images per run")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(worker(*json.loads(args.worker)))
        return
    cores = os.cpu_count() or 1
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}; {args.images} MNIST-shaped "
          f"images, {args.epochs} timed epochs per run, batch 200")
    print(f"| detector | 1 process x {cores} threads (images/s) | {cores} processes x 1 thread (images/s) "
          f"| ratio |")
    print("|---|---|---|---|")
    started = time.perf_counter()
    for kind, lipschitz in CASES:
        one = total_rate(kind, lipschitz, args.images, args.epochs, 1, cores)
        many = total_rate(kind, lipschitz, args.images, args.epochs, cores, 1)
        label = f"{kind} {'standard' if lipschitz is None else f'K={lipschitz:g}'}"
        print(f"| {label} | {one:.0f} | {many:.0f} | {many / one:.2f} |", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""How fast is the random-pair Lipschitz bound? Vectorised blocks against one pair at a time.

Measures pairs per second of ``adlip.metrics.lipschitz_lower_bound`` (the network runs once per
input, pairs are scored a block at a time) against ``naive_lipschitz_lower_bound`` (two network
calls per pair, the obvious loop), on an MNIST-sized convolutional network and MNIST-shaped inputs.
The vectorised figure includes the forward pass over all inputs.

    python benchmarks/bench_lipschitz_bound.py [--inputs 10000] [--pairs 10000000] [--naive-pairs 300]
"""
import argparse
import time

import adlip  # noqa: F401  (before TensorFlow)
import numpy as np
import tensorflow as tf

from adlip import metrics


def mnist_sized_network(seed=0):
    """A small MNIST encoder (two 5x5 convolutions, pooling, a 32-unit dense layer)."""
    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        layers.Conv2D(8, 5, padding="same", use_bias=False), layers.LeakyReLU(0.1), layers.MaxPooling2D(),
        layers.Conv2D(4, 5, padding="same", use_bias=False), layers.LeakyReLU(0.1), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(32, use_bias=False)])
    model.build((None, 28, 28, 1))
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="test inputs to draw pairs from")
    parser.add_argument("--pairs", type=int, default=10_000_000, help="pairs for the vectorised bound")
    parser.add_argument("--naive-pairs", type=int, default=300, help="pairs for the naive loop")
    args = parser.parse_args()

    model = mnist_sized_network()
    x = np.random.default_rng(0).random((args.inputs, 28, 28, 1)).astype(np.float32)
    metrics.lipschitz_lower_bound(model, x[:600], pairs_per_round=1000, rounds=1)  # warm-up (tracing)
    metrics.naive_lipschitz_lower_bound(model, x, pairs=5)

    start = time.perf_counter()
    fast = metrics.lipschitz_lower_bound(model, x, rounds=10, pairs_per_round=args.pairs // 10)
    fast_seconds = time.perf_counter() - start
    start = time.perf_counter()
    naive = metrics.naive_lipschitz_lower_bound(model, x, pairs=args.naive_pairs)
    naive_seconds = time.perf_counter() - start

    fast_rate, naive_rate = fast.pairs / fast_seconds, args.naive_pairs / naive_seconds
    print(f"{'method':<12}{'pairs':>12}{'seconds':>10}{'pairs/s':>14}{'bound':>10}")
    print(f"{'vectorised':<12}{fast.pairs:>12}{fast_seconds:>10.2f}{fast_rate:>14.0f}{fast.value:>10.4f}")
    print(f"{'naive loop':<12}{args.naive_pairs:>12}{naive_seconds:>10.2f}{naive_rate:>14.0f}{naive:>10.4f}")
    print(f"speed-up: {fast_rate / naive_rate:.0f}x")


if __name__ == "__main__":
    main()

"""How close to this CPU's limit does adlip train and search, and did a change make it faster?

For each thesis network on MNIST (DCAE, Deep SVDD, the DCGAN; standard and Lipschitz) it measures
training images per second after a warm-up epoch, and the AnoGAN latent search's images per
second. Each figure is also given as a share of the machine's attainable floating-point rate,
measured in the same run as the rate of a large float32 matrix product: a network's training
costs about three times its forward pass (forward, and the two products of the backward pass),
counted layer by layer from its convolutions and dense layers.

With ``--against DIR`` every measurement is also made with the adlip of another checkout (say the
previous commit: ``git worktree add /tmp/adlip-old HEAD~1``), alternating the two in one run, and
the ratio new / old is printed.

    python benchmarks/bench_throughput.py
    python benchmarks/bench_throughput.py --against /tmp/adlip-old --threads 1
"""
import argparse
import json
import os
import subprocess
import sys
import time

CASES = [("dcae", None), ("dcae", 2.0), ("deepsvdd", None), ("deepsvdd", 50.0), ("gan", None), ("gan", 50.0),
         ("search", None), ("search", 50.0)]


def forward_flops(model) -> float:
    """Multiply-adds x 2 of one image through the convolutions and dense layers of ``model``."""
    import tensorflow as tf

    total = 0.0
    for layer in _flat_layers(model):
        if isinstance(layer, tf.keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input_shape
            kh, kw = layer.kernel_size
            total += 2.0 * h * w * kh * kw * c_in * layer.filters
        elif isinstance(layer, tf.keras.layers.Conv2D):
            _, h, w, _ = layer.output_shape
            kh, kw = layer.kernel_size
            total += 2.0 * h * w * kh * kw * layer.input_shape[-1] * layer.filters
        elif isinstance(layer, tf.keras.layers.Dense):
            total += 2.0 * layer.input_shape[-1] * layer.units
    return total


def _flat_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _flat_layers(layer)
        else:
            yield layer


def peak_flops(size: int = 2048, repeats: int = 10) -> float:
    """Floating-point operations per second of a float32 (size x size) matrix product, best of ``repeats``."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    product = tf.function(lambda a: tf.matmul(a, a))
    product(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        product(a).numpy()
        best = min(best, time.perf_counter() - started)
    return 2.0 * size ** 3 / best


def measure(kind: str, lipschitz, images: int, epochs: int) -> dict:
    """Images per second and floating-point operations per image of one case, in this process."""
    import numpy as np

    from adlip.detectors import DCAE, AnoGAN, DeepSVDD, Schedule

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (images, 28, 28, 1)).astype(np.float32)
    if kind == "search":
        detector = AnoGAN(lipschitz=lipschitz, epochs_scale=0.05, orthogonalization="spectral",
                          latent_steps=1, train_score_size=1, verbose=0).fit(x[:256] * 2 - 1)
        detector.search(x[:8] * 2 - 1, steps=2)       # traces the search graph
        steps, started = 100, time.perf_counter()
        detector.search(x * 2 - 1, steps=steps, batch_size=len(x))
        seconds = time.perf_counter() - started
        # per step: the generator and the discriminator's feature layers forward, then backward to
        # their inputs only (no weight gradients): about twice their forward cost
        flops = steps * 2.0 * (forward_flops(detector.generator_) + forward_flops(detector.discriminator_))
        return dict(rate=len(x) / seconds, flops_per_image=flops)
    schedule = Schedule(((1 + epochs, 1e-4),), batch_size=128 if kind == "gan" else 200, weight_decay=1e-6)
    common = dict(lipschitz=lipschitz, schedule=schedule, verbose=0)
    if kind == "dcae":
        detector = DCAE(**common).fit(x)
        flops = 3.0 * forward_flops(detector.autoencoder_)
    elif kind == "deepsvdd":
        detector = DeepSVDD(pretrain=False, **common).fit(x)
        flops = 3.0 * forward_flops(detector.network_)
    else:
        detector = AnoGAN(orthogonalization="spectral", latent_steps=1, train_score_size=1, **common).fit(x * 2 - 1)
        # per real image: the generator once, the discriminator on a real and a generated batch
        flops = 3.0 * (forward_flops(detector.generator_) + 2 * forward_flops(detector.discriminator_))
    timed = detector.history_["seconds"][1:]
    return dict(rate=images * len(timed) / sum(timed), flops_per_image=flops)


def worker(arguments: str) -> None:
    kind, lipschitz, images, epochs, threads = json.loads(arguments)
    import adlip  # noqa: F401  (before TensorFlow)
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    result = measure(kind, lipschitz, images, epochs) if kind != "peak" else dict(rate=peak_flops())
    print(json.dumps(result))


def run(checkout, kind, lipschitz, images, epochs, threads) -> dict:
    """One measurement in a fresh process, with the adlip of ``checkout`` (None: this one)."""
    environment = dict(os.environ)
    if checkout:
        environment["PYTHONPATH"] = os.pathsep.join([str(checkout), environment.get("PYTHONPATH", "")])
    arguments = json.dumps([kind, lipschitz, images, epochs, threads])
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", arguments], env=environment,
                            capture_output=True, text=True, cwd=checkout or os.getcwd())
    if result.returncode != 0:
        raise RuntimeError(f"measurement {kind} {lipschitz} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="training images (search: images searched)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: TensorFlow's default)")
    parser.add_argument("--against", metavar="DIR", help="another adlip checkout to compare with")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return
    peak = run(None, "peak", None, 0, 0, args.threads)["rate"]
    print(f"{os.cpu_count()} cores, {args.threads or 'default'} TensorFlow threads; load average "
          f"{os.getloadavg()[0]:.2f}; attainable rate (2048 x 2048 float32 matmul): {peak / 1e9:.0f} GFLOP/s")
    header = "| network | images/s | GFLOP per image | share of the matmul rate |"
    rule = "|---|---|---|---|"
    if args.against:
        header += " previous code: images/s | new / previous |"
        rule += "---|---|"
    print(header + "\n" + rule)
    for kind, lipschitz in CASES:
        new = run(None, kind, lipschitz, args.images if kind != "search" else 200, args.epochs, args.threads)
        label = f"{'AnoGAN search' if kind == 'search' else kind} {'standard' if lipschitz is None else f'K={lipschitz:g}'}"
        line = (f"| {label} | {new['rate']:.1f} | {new['flops_per_image'] / 1e9:.3f} "
                f"| {new['rate'] * new['flops_per_image'] / peak:.1%} |")
        if args.against:
            old = run(args.against, kind, lipschitz, args.images if kind != "search" else 200, args.epochs,
                      args.threads)
            line += f" {old['rate']:.1f} | {new['rate'] / old['rate']:.2f} |"
        print(line, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

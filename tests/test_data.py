"""adlip.data: where data sets are found, the one-vs-rest protocol, preprocessing, bad input."""
import gzip
import os

import numpy as np
import pytest

from adlip import data

REAL_DATA = os.environ.get("ADLIP_DATA_DIR")
needs_real_data = pytest.mark.skipif(
    not (REAL_DATA and os.path.isfile(os.path.join(REAL_DATA, "mnist.npz"))),
    reason="set ADLIP_DATA_DIR to a folder with mnist.npz and cifar10.npz to check real preprocessing")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test may reach tf.keras.datasets (the network); each test starts with an empty cache."""
    def refuse(name):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(data, "_from_keras", refuse)
    monkeypatch.setattr(data, "_CACHE", {})
    monkeypatch.delenv("ADLIP_DATA_DIR", raising=False)


def fake_mnist(fill=0, n_train=60, n_test=40, seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    x_train[:, 0, 0] = fill  # marks which folder the arrays came from
    return dict(x_train=x_train, y_train=np.arange(n_train, dtype=np.uint8) % 10,
                x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                y_test=np.arange(n_test, dtype=np.uint8) % 10)


def write_npz(folder, name, arrays):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / f"{name}.npz", **arrays)
    return folder


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_data_dir_argument_comes_before_environment(tmp_path, monkeypatch):
    argument = write_npz(tmp_path / "arg", "mnist", fake_mnist(fill=1))
    monkeypatch.setenv("ADLIP_DATA_DIR", str(write_npz(tmp_path / "env", "mnist", fake_mnist(fill=2))))
    (x_train, _), _ = data.load_dataset("mnist", data_dir=argument)
    assert x_train[0, 0, 0] == 1


def test_environment_variable_is_used_without_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("ADLIP_DATA_DIR", str(write_npz(tmp_path / "env", "mnist", fake_mnist(fill=2))))
    (x_train, y_train), (x_test, y_test) = data.load_dataset("mnist")
    assert x_train[0, 0, 0] == 2
    assert x_train.shape == (60, 28, 28) and x_test.shape == (40, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.shape == (60,) and y_test.shape == (40,)


def test_missing_argument_folder_falls_through_to_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ADLIP_DATA_DIR", str(write_npz(tmp_path / "env", "mnist", fake_mnist(fill=3))))
    (x_train, _), _ = data.load_dataset("mnist", data_dir=tmp_path / "empty")
    assert x_train[0, 0, 0] == 3


def test_keras_is_the_last_resort(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(data, "_from_keras", lambda name: calls.append(name) or fake_mnist(fill=4))
    (x_train, _), _ = data.load_dataset("mnist", data_dir=tmp_path / "empty")
    assert calls == ["mnist"] and x_train[0, 0, 0] == 4


def test_fashion_mnist_from_idx_files(tmp_path):
    arrays = fake_mnist(fill=5)
    for key, filename in data._IDX_FILES.items():
        write_idx(tmp_path / filename, arrays[key])
    (x_train, y_train), (x_test, _) = data.load_dataset("fashion_mnist", data_dir=tmp_path)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    assert x_test.shape == (40, 28, 28)


def test_nothing_found_lists_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("ADLIP_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(ValueError) as error:
        data.load_dataset("mnist", data_dir=tmp_path / "arg")
    message = str(error.value)
    for expected in ("data_dir argument", "ADLIP_DATA_DIR", "tf.keras.datasets", "mnist.npz"):
        assert expected in message


@pytest.mark.parametrize("damage, complaint", [
    (lambda a: a.pop("y_test"), "missing keys"),
    (lambda a: a.update(x_train=a["x_train"][:, :20]), "shape"),
    (lambda a: a.update(x_test=a["x_test"].astype(np.float32)), "uint8"),
    (lambda a: a.update(y_train=a["y_train"][:5]), "labels"),
])
def test_damaged_file_is_a_clear_error(tmp_path, damage, complaint):
    arrays = fake_mnist()
    damage(arrays)
    write_npz(tmp_path, "mnist", arrays)
    with pytest.raises(ValueError, match=complaint):
        data.load_dataset("mnist", data_dir=tmp_path)


def test_pickled_file_is_refused(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.array([object()]), **{
        k: v for k, v in fake_mnist().items() if k != "x_train"})
    with pytest.raises(ValueError):
        data.load_dataset("mnist", data_dir=tmp_path)


@pytest.mark.parametrize("call, complaint", [
    (lambda d: data.load_dataset("svhn", data_dir=d), "unknown data set"),
    (lambda d: data.one_vs_rest("mnist", 10, data_dir=d), "normal_class"),
    (lambda d: data.one_vs_rest("mnist", -1, data_dir=d), "normal_class"),
    (lambda d: data.one_vs_rest("mnist", 2.5, data_dir=d), "normal_class"),
    (lambda d: data.one_vs_rest("mnist", 0, scaling="zscore", data_dir=d), "scaling"),
    (lambda d: data.one_vs_rest("mnist", 0, exact_test_only=True, data_dir=d), "test_is_lossless"),
    (lambda d: data.one_vs_rest("mnist", 0, test_size=0, data_dir=d), "positive"),
])
def test_bad_arguments_are_clear_errors(tmp_path, call, complaint):
    write_npz(tmp_path, "mnist", fake_mnist())
    with pytest.raises(ValueError, match=complaint):
        call(tmp_path)


def test_one_vs_rest_labels_and_shapes(tmp_path):
    arrays = fake_mnist()
    write_npz(tmp_path, "mnist", arrays)
    split = data.one_vs_rest("mnist", 3, data_dir=tmp_path)
    assert split.x_train.shape == (6, 28, 28, 1) and split.x_train.dtype == np.float32
    assert split.x_test.shape == (40, 28, 28, 1)
    np.testing.assert_array_equal(split.y_test, (arrays["y_test"] != 3).astype(int))
    assert split.info["n_anomalies"] == int(split.y_test.sum()) == 36
    assert split.x_train.min() >= 0 and split.x_train.max() <= 1 + 1e-6


def test_class_names_select_classes(tmp_path):
    write_npz(tmp_path, "mnist", fake_mnist())
    assert data.one_vs_rest("mnist", "7", data_dir=tmp_path).info["normal_class"] == 7


def test_test_subset_is_seeded_and_preprocessing_ignores_it(tmp_path):
    write_npz(tmp_path, "mnist", fake_mnist(n_test=200))
    full = data.one_vs_rest("mnist", 0, data_dir=tmp_path)
    first = data.one_vs_rest("mnist", 0, test_size=50, seed=1234, data_dir=tmp_path)
    again = data.one_vs_rest("mnist", 0, test_size=50, seed=1234, data_dir=tmp_path)
    other = data.one_vs_rest("mnist", 0, test_size=50, seed=7, data_dir=tmp_path)
    np.testing.assert_array_equal(first.info["test_indices"], again.info["test_indices"])
    assert not np.array_equal(first.info["test_indices"], other.info["test_indices"])
    np.testing.assert_allclose(first.x_test, full.x_test[first.info["test_indices"]])
    assert len(first.x_test) == 50 and first.info["gcn_min"] == full.info["gcn_min"]


def test_train_subset(tmp_path):
    write_npz(tmp_path, "mnist", fake_mnist(n_train=600))
    assert len(data.one_vs_rest("mnist", 0, train_size=20, data_dir=tmp_path).x_train) == 20


def test_exact_test_images_only(tmp_path):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8),
                  y_train=np.arange(30, dtype=np.uint8) % 10,
                  x_test=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
                  y_test=np.arange(20, dtype=np.uint8) % 10,
                  test_is_lossless=np.arange(20) < 8)
    write_npz(tmp_path, "cifar10", arrays)
    split = data.one_vs_rest("cifar10", "airplane", exact_test_only=True, data_dir=tmp_path)
    assert split.x_test.shape == (8, 32, 32, 3) and split.info["class_name"] == "airplane"


def test_scalings_ranges(tmp_path):
    write_npz(tmp_path, "mnist", fake_mnist())
    tanh = data.one_vs_rest("mnist", 0, scaling="tanh", data_dir=tmp_path)
    unit = data.one_vs_rest("mnist", 0, scaling="unit", data_dir=tmp_path)
    assert tanh.x_test.min() >= -1 and tanh.x_test.max() <= 1 and tanh.x_test.min() < -0.9
    assert unit.x_test.min() >= 0 and unit.x_test.max() <= 1


def test_global_contrast_normalization_is_scale_and_shift_invariant():
    rng = np.random.default_rng(0)
    x = rng.random((5, 28, 28))
    np.testing.assert_allclose(data.global_contrast_normalization(x),
                               data.global_contrast_normalization(3.0 * x + 7.0), atol=1e-9)
    normalised = data.global_contrast_normalization(x)
    np.testing.assert_allclose(normalised.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(np.abs(normalised).mean(axis=1), 1, atol=1e-9)


# Published per-class (min, max) after L1 global contrast normalisation (Ruff et al.'s code).
PUBLISHED_GCN_MIN_MAX = {
    "mnist": [(-0.8827, 9.0015), (-0.6661, 20.1081), (-0.7820, 11.6651), (-0.7646, 12.8951),
              (-0.7254, 12.6832), (-0.7699, 13.1033), (-0.7784, 10.4578), (-0.7130, 12.0578),
              (-0.8280, 10.5815), (-0.7370, 10.6970)],
    "cifar10": [(-28.9408, 13.8030), (-6.6818, 9.1581), (-34.9245, 14.4193), (-10.5992, 11.0932),
                (-11.9450, 10.6280), (-9.6920, 8.9483), (-9.1749, 13.8470), (-6.8767, 12.2824),
                (-15.6035, 15.2465), (-6.1329, 8.0461)],
}


@needs_real_data
@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_gcn_reproduces_published_min_max(name, monkeypatch):
    monkeypatch.setenv("ADLIP_DATA_DIR", REAL_DATA)
    for normal_class, (low, high) in enumerate(PUBLISHED_GCN_MIN_MAX[name]):
        info = data.one_vs_rest(name, normal_class, test_size=10).info
        assert round(info["gcn_min"], 3) == pytest.approx(round(low, 3), abs=1.1e-3)
        assert round(info["gcn_max"], 3) == pytest.approx(round(high, 3), abs=1.1e-3)


@needs_real_data
def test_real_mnist_protocol(monkeypatch):
    monkeypatch.setenv("ADLIP_DATA_DIR", REAL_DATA)
    split = data.one_vs_rest("mnist", 0)
    assert split.x_train.shape == (5923, 28, 28, 1)
    assert split.x_test.shape == (10000, 28, 28, 1) and split.y_test.sum() == 10000 - 980
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1

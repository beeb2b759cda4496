"""A saved Lipschitz detector loads in a fresh Python process (where deel-lip is not yet imported)."""
import subprocess
from pathlib import Path
import sys

import numpy as np

from adlip.detectors import DCAE

LOAD_AND_SCORE = """
import sys, numpy as np
import adlip
from adlip.detectors import load
detector = load(sys.argv[1])
np.save(sys.argv[3], detector.decision_function(np.load(sys.argv[2])))
"""


def test_lipschitz_detector_loads_in_a_fresh_process(tmp_path):
    x = np.random.default_rng(0).random((32, 28, 28, 1)).astype("float32")
    detector = DCAE(lipschitz=2.0, epochs_scale=0.003, verbose=0).fit(x)
    detector.save(tmp_path / "model")
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run([sys.executable, "-c", LOAD_AND_SCORE, str(tmp_path / "model"),
                             str(tmp_path / "x.npy"), str(tmp_path / "scores.npy")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "scores.npy"), detector.decision_function(x))


# ------------------------------------------------------------------- loading never runs code

import json  # noqa: E402

import pytest  # noqa: E402

from adlip.detectors import load  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small fitted standard DCAE saved to a folder (copied by each test before it is tampered with)."""
    x = np.random.default_rng(1).random((32, 28, 28, 1)).astype("float32")
    folder = tmp_path_factory.mktemp("saved") / "dcae"
    DCAE(epochs_scale=0.003, batch_size=16, verbose=0).fit(x).save(folder)
    return folder


def copy_of(saved, tmp_path):
    import shutil

    return Path(shutil.copytree(saved, tmp_path / "copy"))


def edit_state(folder, change):
    path = folder / "detector.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def code_running_model(marker):
    """A Keras model with a Lambda layer that writes ``marker`` when it runs."""
    import tensorflow as tf

    def touch(x, marker=str(marker)):
        open(marker, "w").close()
        return x

    inputs = tf.keras.Input((28, 28, 1))
    return tf.keras.Model(inputs, tf.keras.layers.Lambda(touch)(inputs))


def test_a_legacy_network_file_under_a_keras_name_is_refused_and_runs_nothing(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    marker = tmp_path / "code-ran"
    model = code_running_model(marker)
    marker.unlink(missing_ok=True)                  # building the model above ran the Lambda once
    model.save(tmp_path / "legacy.h5")              # HDF5: the Lambda's bytecode travels in the file
    (tmp_path / "legacy.h5").replace(folder / "autoencoder.keras")
    with pytest.raises(ValueError, match="not a native .keras archive"):
        load(folder)
    assert not marker.exists()


def test_a_native_archive_with_a_code_layer_is_refused_by_safe_mode(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    marker = tmp_path / "code-ran"
    model = code_running_model(marker)
    marker.unlink(missing_ok=True)
    model.save(folder / "autoencoder.keras")
    with pytest.raises(ValueError, match="could not be loaded safely"):
        load(folder)
    assert not marker.exists()


@pytest.mark.parametrize("filename", ["../outside.keras", "/etc/passwd.keras", "sub/autoencoder.keras",
                                      "autoencoder.h5", ".."])
def test_network_paths_outside_the_folder_are_refused(saved, tmp_path, filename):
    folder = copy_of(saved, tmp_path)
    (tmp_path / "outside.keras").write_bytes((folder / "autoencoder.keras").read_bytes())
    edit_state(folder, lambda d: d["networks"].update(autoencoder_=filename))
    with pytest.raises(ValueError, match="plain .keras file names"):
        load(folder)


def test_a_symlink_out_of_the_folder_is_refused(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    (tmp_path / "elsewhere.keras").write_bytes((folder / "autoencoder.keras").read_bytes())
    (folder / "autoencoder.keras").unlink()
    (folder / "autoencoder.keras").symlink_to(tmp_path / "elsewhere.keras")
    with pytest.raises(ValueError, match="outside the detector's folder"):
        load(folder)


def test_a_foreign_class_or_module_is_never_imported(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    edit_state(folder, lambda d: d.update({"class": "Popen", "module": "subprocess"}))
    with pytest.raises(ValueError, match="not one of adlip's detectors"):
        load(folder)
    folder = copy_of(saved, tmp_path / "again")
    edit_state(folder, lambda d: d.update(module="os"))     # the module field is never read
    assert type(load(folder)) is DCAE


def test_unknown_parameters_and_state_are_refused(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    edit_state(folder, lambda d: d["params"].update(command="rm -rf /"))
    with pytest.raises(ValueError, match="unknown parameters"):
        load(folder)
    folder = copy_of(saved, tmp_path / "again")
    edit_state(folder, lambda d: d["state"].update(_latent_search="x"))
    with pytest.raises(ValueError, match="not fitted state"):
        load(folder)


@pytest.mark.parametrize("victim", ["detector.json", "autoencoder.keras"])
def test_truncated_files_give_an_error_naming_the_file(saved, tmp_path, victim):
    folder = copy_of(saved, tmp_path)
    data = (folder / victim).read_bytes()
    (folder / victim).write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=victim.replace(".", r"\.")):
        load(folder)


def test_a_damaged_pretraining_cache_entry_is_rebuilt(tmp_path):
    from adlip.detectors import DeepSVDD

    x = np.random.default_rng(2).random((32, 28, 28, 1)).astype("float32")
    params = dict(epochs_scale=0.003, batch_size=16, verbose=0, pretrain_cache_dir=str(tmp_path / "cache"))
    first = DeepSVDD(**params).fit(x)
    (entry,) = (tmp_path / "cache").iterdir()
    network = entry / "autoencoder.keras"
    network.write_bytes(network.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="damaged pretraining cache entry"):
        again = DeepSVDD(**params).fit(x)
    np.testing.assert_array_equal(again.decision_function(x), first.decision_function(x))
    DCAE.load(entry)            # the entry was rebuilt whole


# -- the classical baselines: parameters and training images, refitted on load -------------------

def _fitted_baseline(tmp_path):
    from adlip.detectors import OneClassSVMDetector

    x = np.random.default_rng(1).normal(size=(60, 28, 28, 1))
    detector = OneClassSVMDetector(nu=0.2, pca_variance=0.9).fit(x)
    return detector, x, detector.save(tmp_path / "ocsvm")


def test_a_saved_baseline_holds_no_pickle_and_loads_identically(tmp_path):
    from adlip.detectors import load

    detector, x, folder = _fitted_baseline(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["detector.json", "training.npz"]
    with np.load(folder / "training.npz", allow_pickle=False) as saved:   # plain arrays only
        assert saved["x"].shape == (60, 28, 28, 1)
    loaded = load(folder)
    assert loaded.get_params() == detector.get_params()
    np.testing.assert_array_equal(loaded.decision_function(x[:7]), detector.decision_function(x[:7]))


def test_a_baseline_whose_training_images_changed_is_refused(tmp_path):
    import pytest

    from adlip.detectors import load

    _, x, folder = _fitted_baseline(tmp_path)
    np.savez_compressed(folder / "training.npz", x=x[::-1] + 0.5)
    with pytest.raises(ValueError, match="other training scores"):
        load(folder)


def test_a_baseline_training_file_with_a_pickle_is_refused(tmp_path):
    import pytest

    from adlip.detectors import load

    _, _, folder = _fitted_baseline(tmp_path)
    np.savez(folder / "training.npz", x=np.array([{"not": "an array"}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        load(folder)

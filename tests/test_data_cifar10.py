import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from fakedata import cifar_batch, write_cifar10
from harness.data import DataError, load_dataset


@pytest.mark.parametrize("tarball", [False, True])
def test_loads_directory_and_tarball(tmp_path, tarball):
    write_cifar10(tmp_path, per_batch=40, tarball=tarball)
    d = load_dataset("cifar10", tmp_path)
    assert d.x_train.shape == (200, 3072) and d.x_train.dtype == np.uint8
    assert d.y_train.shape == (200,) and d.x_test.shape == (40, 3072)
    assert d.image_shape == (3, 32, 32) and d.classes[0] == "airplane"
    assert "structure only" in d.verified


def test_batches_directory_itself_can_be_named(tmp_path):
    write_cifar10(tmp_path, per_batch=10)
    assert len(load_dataset("cifar10", tmp_path / "cifar-10-batches-py").x_test) == 10


class Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    write_cifar10(tmp_path, per_batch=10)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(
        pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(DataError, match="refusing to load"):
        load_dataset("cifar10", tmp_path)
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")


def test_wrong_shape_is_a_clear_error(tmp_path):
    write_cifar10(tmp_path, per_batch=10)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(
        {b"data": np.zeros((10, 100), np.uint8), b"labels": [0] * 10}, protocol=2))
    with pytest.raises(DataError, match=r"test_batch: b'data' must be a uint8 array"):
        load_dataset("cifar10", tmp_path)


def test_truncated_tarball_is_a_clear_error(tmp_path):
    write_cifar10(tmp_path, per_batch=10, tarball=True)
    tar = tmp_path / "cifar-10-python.tar.gz"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    with pytest.raises(DataError, match="damaged or truncated tarball"):
        load_dataset("cifar10", tmp_path)


def test_tarball_missing_a_batch(tmp_path):
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        blob = cifar_batch(5, 0)
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(DataError, match="lacks .*data_batch_2"):
        load_dataset("cifar10", tmp_path)


def test_missing_cifar_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="cifar-10-python.tar.gz.*--data-dir"):
        load_dataset("cifar10", tmp_path / "nothing")

import gzip
import os

import numpy as np
import pytest

from conftest import real_fashion_mnist
from fakedata import write_fashion_mnist
from harness.data import DataError, fashion_mnist, load_dataset
from harness.data.idx import encode_idx, parse_idx


@pytest.mark.parametrize("gz", [True, False])
def test_loads_generated_files(tmp_path, gz):
    write_fashion_mnist(tmp_path, n_train=50, n_test=20, gz=gz)
    d = load_dataset("fashion-mnist", tmp_path)
    assert d.x_train.shape == (50, 784) and d.x_train.dtype == np.uint8
    assert d.y_train.shape == (50,) and d.y_train.dtype == np.int64
    assert d.x_test.shape == (20, 784) and d.y_test.shape == (20,)
    assert d.image_shape == (28, 28) and d.num_classes == 10
    assert d.verified.startswith("structure only")


def test_idx_round_trip():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(encode_idx(a), "a"), a)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-100], "truncated"),
    (lambda raw: raw[:10], "cut short|truncated"),
    (lambda raw: raw + b"\0\0", "unexpected bytes"),
    (lambda raw: b"\x00\x00\x0d\x03" + raw[4:], "not an IDX file"),
    (lambda raw: b"", "too short"),
])
def test_damaged_idx_is_a_clear_error(fmnist_dir, damage, message):
    path = fmnist_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(damage(gzip.decompress(path.read_bytes()))))
    with pytest.raises(DataError, match=message) as info:
        load_dataset("fashion-mnist", fmnist_dir)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_truncated_gzip_is_a_clear_error(fmnist_dir):
    path = fmnist_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(DataError, match="gzip stream is damaged"):
        load_dataset("fashion-mnist", fmnist_dir)


def test_corrupt_gzip_is_a_clear_error(fmnist_dir):
    path = fmnist_dir / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-6] ^= 0xFF  # inside the CRC32 trailer
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="t10k-labels"):
        load_dataset("fashion-mnist", fmnist_dir)


def test_label_count_must_match_images(fmnist_dir):
    (fmnist_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(encode_idx(np.zeros(7, np.uint8))))
    with pytest.raises(DataError, match="200 images but .* 7 labels"):
        load_dataset("fashion-mnist", fmnist_dir)


def test_labels_out_of_range(fmnist_dir):
    (fmnist_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(encode_idx(np.full(200, 10, np.uint8))))
    with pytest.raises(DataError, match="out of range"):
        load_dataset("fashion-mnist", fmnist_dir)


def _pretend_official(monkeypatch, directory, tamper: str | None = None):
    """Treat the generated files' sizes as the official ones, with their real checksums."""
    import hashlib
    counts, sums = {}, {}
    for key, base in fashion_mnist.FILES.items():
        raw = gzip.decompress((directory / f"{base}.gz").read_bytes())
        counts[key] = len(parse_idx(raw, base))
        sums[base] = hashlib.sha256(raw).hexdigest()
    if tamper:
        sums[tamper] = "0" * 64
    monkeypatch.setattr(fashion_mnist, "OFFICIAL_COUNT", counts)
    monkeypatch.setattr(fashion_mnist, "SHA256", sums)


def test_official_sizes_are_checked_against_checksums(fmnist_dir, monkeypatch):
    _pretend_official(monkeypatch, fmnist_dir)
    assert load_dataset("fashion-mnist", fmnist_dir).verified.startswith("sha256")


def test_checksum_mismatch_is_never_used(fmnist_dir, monkeypatch):
    _pretend_official(monkeypatch, fmnist_dir, tamper="train-labels-idx1-ubyte")
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("fashion-mnist", fmnist_dir)


def test_checksums_are_of_decompressed_bytes(fmnist_dir, monkeypatch):
    """Re-gzipping (as Debian did) changes the .gz bytes but must not fail verification."""
    _pretend_official(monkeypatch, fmnist_dir)
    path = fmnist_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=7))
    assert load_dataset("fashion-mnist", fmnist_dir).verified.startswith("sha256")


def test_missing_dataset_names_both_ways_to_get_it(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist")
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "harness data get fashion-mnist" in message
    assert "user cache" in message


def test_search_order_env_then_cache(tmp_path, monkeypatch):
    cache_copy = write_fashion_mnist(tmp_path / "cache" / "fashion-mnist", n_train=30)
    assert load_dataset("fashion-mnist").source == cache_copy
    env_copy = write_fashion_mnist(tmp_path / "envdata", n_train=40)
    monkeypatch.setenv("HARNESS_DATA", str(env_copy))
    assert len(load_dataset("fashion-mnist").x_train) == 40


def test_explicit_dir_is_the_only_place_looked(tmp_path):
    write_fashion_mnist(tmp_path / "cache" / "fashion-mnist")
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("fashion-mnist", tmp_path / "elsewhere")


def test_subdirectory_named_after_the_dataset_is_found(tmp_path):
    write_fashion_mnist(tmp_path / "data" / "fashion-mnist", n_train=30)
    assert len(load_dataset("fashion-mnist", tmp_path / "data").x_train) == 30


def test_second_load_comes_from_the_cache(fmnist_dir, monkeypatch):
    first = load_dataset("fashion-mnist", fmnist_dir)

    def no_parsing(files):
        raise AssertionError("parsed again although the cache is current")

    monkeypatch.setattr(fashion_mnist, "parse", no_parsing)
    second = load_dataset("fashion-mnist", fmnist_dir)
    assert np.array_equal(first.x_train, second.x_train)
    assert second.verified == first.verified


def test_cache_is_invalidated_when_the_source_changes(tmp_path):
    write_fashion_mnist(tmp_path / "d", n_train=30)
    assert len(load_dataset("fashion-mnist", tmp_path / "d").x_train) == 30
    write_fashion_mnist(tmp_path / "d", n_train=45)
    path = tmp_path / "d" / "train-images-idx3-ubyte.gz"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert len(load_dataset("fashion-mnist", tmp_path / "d").x_train) == 45


def test_a_damaged_cache_is_rebuilt(fmnist_dir, tmp_path):
    load_dataset("fashion-mnist", fmnist_dir)
    for npy in (tmp_path / "cache").rglob("x_train.npy"):
        npy.write_bytes(b"garbage")
    assert load_dataset("fashion-mnist", fmnist_dir).x_train.shape == (600, 784)


@pytest.mark.realdata
def test_real_fashion_mnist():
    d = load_dataset("fashion-mnist", real_fashion_mnist())
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.verified == "sha256 of the decompressed official files"
    assert np.bincount(d.y_test).tolist() == [1000] * 10


def test_a_poisoned_cache_is_detected_and_not_used(fmnist_dir, tmp_path):
    """A well-formed .npy with other labels (say, all the test labels set to 0, so that a
    constant prediction scores 100 %) fails its checksum and is rebuilt from the source."""
    honest = load_dataset("fashion-mnist", fmnist_dir).y_test
    for npy in (tmp_path / "cache").rglob("y_test.npy"):
        np.save(npy, np.zeros_like(honest))
    with pytest.warns(UserWarning, match="does not match its checksums"):
        again = load_dataset("fashion-mnist", fmnist_dir)
    assert np.array_equal(again.y_test, honest)

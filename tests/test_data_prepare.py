import numpy as np
import pytest

from harness.data import to_unit, train_val_split
from reference.preprocess import Standardizer


def test_split_is_deterministic_disjoint_and_complete():
    x = np.arange(100)[:, None].repeat(3, axis=1)
    y = np.arange(100)
    a, b = train_val_split(x, y, 20, seed=5), train_val_split(x, y, 20, seed=5)
    assert np.array_equal(a.y_val, b.y_val) and np.array_equal(a.x_train, b.x_train)
    assert len(a.y_val) == 20 and len(a.y_train) == 80
    assert sorted(np.concatenate([a.y_train, a.y_val]).tolist()) == list(range(100))
    assert np.array_equal(a.x_val[:, 0], a.y_val)  # rows stay paired with their labels
    assert not np.array_equal(train_val_split(x, y, 20, seed=6).y_val, a.y_val)


def test_split_rejects_impossible_sizes():
    with pytest.raises(ValueError):
        train_val_split(np.zeros((5, 2)), np.zeros(5), 5)


def test_to_unit_scales_to_unit_interval():
    x = to_unit(np.array([[0, 255, 51]], np.uint8))
    assert x.dtype == np.float32 and np.allclose(x, [[0, 1, 0.2]])


def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(3, 2, (500, 4)).astype(np.float32)
    s = Standardizer.fit(train)
    z = s(train)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-5) and np.allclose(z.std(axis=0), 1, atol=1e-3)
    other = s(np.full((2, 4), 3.0, np.float32))
    assert np.allclose(other, (3 - s.mean) / s.std)


def test_constant_features_are_not_blown_up():
    x = np.zeros((10, 3), np.float32)
    assert np.all(np.isfinite(Standardizer.fit(x)(x + 1)))

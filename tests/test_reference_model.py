import numpy as np
import pytest

from reference.activations import ACTIVATIONS
from reference.model import MLP, l2_penalty


def numerical_grads(model: MLP, X, y, reg, h=1e-5):
    grads = {}
    for name, p in model.params.items():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            plus = model.loss(X, y, reg)
            p[i] = old - h
            minus = model.loss(X, y, reg)
            p[i] = old
            g[i] = (plus - minus) / (2 * h)
        grads[name] = g
    return grads


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_backprop_matches_central_differences(activation, reg):
    rng = np.random.default_rng(0)
    model = MLP(12, [9, 7], 4, activation, seed=3, dtype=np.float64)
    X, y = rng.standard_normal((6, 12)), rng.integers(0, 4, 6)
    loss, grads = model.loss_and_grads(X, y, reg)
    assert loss == pytest.approx(model.loss(X, y, reg))
    numeric = numerical_grads(model, X, y, reg)
    assert set(grads) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    for name, g in grads.items():
        n = numeric[name]
        err = np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n))
        assert err < 1e-7, f"{activation} {name}: relative error {err:.2e}"


def test_shapes_and_hidden_sizes():
    for hidden in ([], [5], [6, 4], [8, 6, 4]):
        m = MLP(10, hidden, 3)
        sizes = [10, *hidden, 3]
        for i in range(1, len(sizes)):
            assert m.params[f"W{i}"].shape == (sizes[i - 1], sizes[i])
            assert m.params[f"b{i}"].shape == (sizes[i],)
        X = np.zeros((7, 10), np.float32)
        assert m.forward(X).shape == (7, 3) and m.predict(X).shape == (7,)


def test_l2_convention_is_half_lambda_weights_only():
    m = MLP(3, [2], 2, dtype=np.float64)
    for v in m.params.values():
        v[...] = 1.0
    assert l2_penalty(m.params, 0.1) == pytest.approx(0.5 * 0.1 * (6 + 4))


def test_cross_entropy_is_stable_for_huge_logits():
    m = MLP(2, [], 2, dtype=np.float64)
    m.params["W1"][...] = [[1e4, -1e4], [0, 0]]
    loss = m.loss(np.array([[1.0, 0.0]]), np.array([1]))
    assert np.isfinite(loss) and loss == pytest.approx(2e4)


def test_loss_and_grads_leave_parameters_unchanged():
    m = MLP(5, [4], 3, dtype=np.float64)
    before = {k: v.copy() for k, v in m.params.items()}
    m.loss_and_grads(np.ones((2, 5)), np.array([0, 2]), 0.1)
    assert all(np.array_equal(before[k], m.params[k]) for k in before)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(3, [2], 2, "swish")

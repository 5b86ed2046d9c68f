"""Hooks by convention: what a plugin may leave out because the harness can read it off the model.

An adapter should only translate, and most of a hand-written one is bookkeeping the harness can do
itself: finding the parameters (``harness_get_params`` / ``harness_set_params``) and forwarding
``forward`` and ``predict`` to methods of the same name. For each of these four hooks a plugin
does not implement, the worker registers the default below; a hook the plugin implements is
always the plugin's own. The defaults run in the submission's process, like any hook.

Where a model keeps its parameters, looked for in this order (the first place that holds them):

- a dict with keys ``W1, b1, W2, ...`` (or ``w1``; ``W0`` numbering too), or such a dict as one of
  the model's attributes or entries (``model.params``, ``model["params"]``);
- arrays as attributes ``W1, b1, ...`` of an object;
- a list of arrays (``[W1, b1, W2, b2, ...]`` or ``[W1, W2, ..., b1, b2, ...]``), itself or as an
  attribute or entry;
- a list of layer objects with a weight and a bias (``W``/``b``, ``weight``/``bias``,
  ``weights``/``biases``, ``w``/``b``, ``kernel``/``bias``), activation layers between them.

Several places holding parameters (the weights and a momentum buffer of the same shape) are
told apart by name (``params``, ``weights``, ``layers`` ... win); if that does not settle it,
the plugin declares ``"params": "NAME"`` in ``harness_info``. Weights stored ``(out, in)`` are
recognised from their shapes (consecutive layers chain one way only) and transposed; biases
stored ``(1, out)`` are flattened on the way out and reshaped on the way in; values set keep the
model's dtype.
"""

from __future__ import annotations

import re
import types
from typing import Any, Callable

import numpy as np

from harness.hookspecs import hookimpl

CONVENTIONAL = ("harness_get_params", "harness_set_params", "harness_forward",
                "harness_predict")
PREFERRED_NAMES = ("params", "parameters", "weights", "layers", "w", "p", "theta", "net",
                   "model", "dense")
LAYER_ATTRS = (("W", "b"), ("weight", "bias"), ("weights", "biases"), ("w", "b"),
               ("kernel", "bias"))
_KEY = re.compile(r"^([WwBb])(\d)$")


class ConventionError(Exception):
    """The model does not follow the convention: the message says what to write instead."""


class _Slot:
    """One parameter as the model stores it: read it, write it (same place, shape, dtype)."""

    def __init__(self, get: Callable[[], Any], put: Callable[[Any], None]) -> None:
        self.get, self.put = get, put


def _item(container, key) -> _Slot:
    def put(value):
        container[key] = value
    return _Slot(lambda: container[key], put)


def _attr(obj, name) -> _Slot:
    return _Slot(lambda: getattr(obj, name), lambda value: setattr(obj, name, value))


def _is_array(v) -> bool:
    return isinstance(v, np.ndarray) and v.ndim in (1, 2) and v.dtype.kind == "f"


def _is_bias(v) -> bool:
    return v.ndim == 1 or 1 in v.shape


def _from_keys(names, lookup: Callable[[str], _Slot]) -> list[tuple[str, _Slot]] | None:
    """``W1, b1, ...`` (or 0-based, or lower case) among ``names``, in layer order."""
    found: dict[tuple[str, int], str] = {}
    for n in names:
        m = _KEY.match(str(n))
        if m:
            found[(m.group(1).upper(), int(m.group(2)))] = n
    layers = sorted(i for kind, i in found if kind == "W")
    if len(layers) < 2 or layers != list(range(layers[0], layers[0] + len(layers))):
        return None
    out = []
    for i in layers:
        out.append((f"W{i - layers[0] + 1}", lookup(found[("W", i)])))
        if ("B", i) in found:
            out.append((f"b{i - layers[0] + 1}", lookup(found[("B", i)])))
    return out


def _from_list(items: list) -> list[tuple[str, _Slot]] | None:
    """A list of weight and bias arrays, interleaved or weights first."""
    if len(items) < 2 or not all(_is_array(v) for v in items):
        return None
    weights = [i for i, v in enumerate(items) if not _is_bias(v)]
    biases = [i for i, v in enumerate(items) if _is_bias(v)]
    if biases and len(biases) != len(weights):
        return None
    out = [(f"W{k}", _item(items, i)) for k, i in enumerate(weights, start=1)]
    out += [(f"b{k}", _item(items, i)) for k, i in enumerate(biases, start=1)]
    return sorted(out, key=lambda p: (int(p[0][1:]), p[0][0] == "b"))


def _from_layers(items: list) -> list[tuple[str, _Slot]] | None:
    """A list of layer objects, those with a weight (and a bias) in order; layers without one
    (an activation, a dropout) between them."""
    if any(isinstance(v, (np.ndarray, dict, list, tuple)) for v in items):
        return None
    for w, b in LAYER_ATTRS:
        dense = [v for v in items if _is_array(getattr(v, w, None))]
        if len(dense) >= 2:
            out = []
            for k, layer in enumerate(dense, start=1):
                out.append((f"W{k}", _attr(layer, w)))
                if _is_array(getattr(layer, b, None)):
                    out.append((f"b{k}", _attr(layer, b)))
            return out
    return None


def _direct(value) -> list[tuple[str, _Slot]] | None:
    """Parameters held by ``value`` itself (not by one of its members)."""
    if isinstance(value, dict):
        arrays = [k for k, v in value.items() if _is_array(v)]
        return _from_keys(arrays, lambda k: _item(value, k))
    if isinstance(value, list):
        return _from_list(value) or _from_layers(value)
    if isinstance(value, tuple):
        return None  # a tuple cannot be written back to
    arrays = [k for k, v in vars(value).items() if _is_array(v)] \
        if hasattr(value, "__dict__") else []
    return _from_keys(arrays, lambda k: _attr(value, k))


def _members(model) -> list[tuple[str, Any]]:
    if isinstance(model, dict):
        return [(str(k), v) for k, v in model.items()]
    if isinstance(model, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(model)]
    return list(vars(model).items()) if hasattr(model, "__dict__") else []


def parameter_slots(model, declared: str | None = None) -> list[tuple[str, _Slot]]:
    """The model's parameters, canonical name → where the model stores it."""
    if declared is None:
        own = _direct(model)
        if own:
            return own
    members = [(name, slots) for name, value in _members(model)
               if (declared is None or name == declared) and (slots := _direct(value))]
    if len(members) > 1:
        preferred = [m for m in members if m[0].lower() in PREFERRED_NAMES]
        members = preferred if len(preferred) == 1 else members
    kind = type(model).__name__
    if not members:
        where = f"in its member {declared!r}" if declared else \
            "as W1, b1, ... keys or attributes, a list of arrays or a list of layers"
        raise ConventionError(f"harness_plugin.py has no harness_get_params / "
                              f"harness_set_params, and the model (a {kind}) keeps no "
                              f"parameters {where}: write those two hooks")
    if len(members) > 1:
        names = ", ".join(repr(n) for n, _ in members)
        raise ConventionError(f"the model (a {kind}) holds arrays shaped like parameters in "
                              f"{names}: declare which are the parameters, e.g. "
                              f"\"params\": {members[0][0]!r} in harness_info, or write "
                              "harness_get_params / harness_set_params")
    return members[0][1]


def _out_in(weights: list[np.ndarray]) -> bool:
    """Whether weights are stored ``(out, in)``: consecutive layers chain ``W[i].shape[0] ==
    W[i+1].shape[1]`` and not the canonical way."""
    pairs = list(zip(weights, weights[1:]))
    canonical = all(a.shape[1] == b.shape[0] for a, b in pairs)
    return not canonical and all(a.shape[0] == b.shape[1] for a, b in pairs)


def _stored(model, declared: str | None) -> tuple[list[tuple[str, _Slot]], dict, bool]:
    """Where the model keeps each parameter, the arrays as stored, and whether its weights are
    stored ``(out, in)``."""
    slots = parameter_slots(model, declared)
    stored = {name: np.asarray(slot.get()) for name, slot in slots}
    return slots, stored, _out_in([v for k, v in stored.items() if k.startswith("W")])


def get_params(model, declared: str | None = None) -> dict[str, np.ndarray]:
    """The canonical ``{"W1": (in, out), "b1": (out,), ...}`` view of the model's parameters."""
    _, stored, flip = _stored(model, declared)
    return {k: (v.T if flip else v) if k.startswith("W") else v.reshape(-1)
            for k, v in stored.items()}


def set_params(model, params: dict, declared: str | None = None) -> None:
    """Write canonical ``params`` into the model where, and as, it keeps them."""
    slots, stored, flip = _stored(model, declared)
    for name, slot in slots:
        old, new = stored[name], np.asarray(params[name])
        new = new.T if flip and name.startswith("W") else new
        slot.put(np.array(new.reshape(old.shape), dtype=old.dtype))


def _as_model_computes(model, declared: str | None, x: np.ndarray) -> np.ndarray:
    """``x`` in the dtype of the model's parameters (a float32 model gets float32 inputs), or
    as it is when they cannot be found."""
    try:
        _, stored, _ = _stored(model, declared)
    except ConventionError:
        return x
    return x.astype(next(iter(stored.values())).dtype, copy=False)


def _own_method(model, name: str):
    """The model's own ``name`` method, None for a plain container or a model without it."""
    method = getattr(model, name, None)
    return None if isinstance(model, (dict, list, tuple)) or not callable(method) else method


def defaults(missing, declared_params: Callable[[], str | None], hook) -> types.SimpleNamespace:
    """A plugin holding the conventional default of each hook in ``missing``.
    ``declared_params()`` is the ``params`` declaration, if any; ``hook`` the plugin manager's
    hook relay (predict goes through whichever forward is in use)."""

    @hookimpl
    def harness_get_params(model):
        return get_params(model, declared_params())

    @hookimpl
    def harness_set_params(model, params):
        set_params(model, params, declared_params())

    @hookimpl
    def harness_forward(model, x):
        forward = _own_method(model, "forward")
        if forward is None:
            raise ConventionError(f"harness_plugin.py has no harness_forward, and the model (a "
                                  f"{type(model).__name__}) has no forward(x) method to call "
                                  "by convention: write harness_forward")
        out = forward(_as_model_computes(model, declared_params(), x))
        return out[0] if isinstance(out, tuple) else out

    @hookimpl
    def harness_predict(model, x):
        predict = _own_method(model, "predict")
        if predict is not None:
            return predict(_as_model_computes(model, declared_params(), x))
        return np.asarray(hook.harness_forward(model=model, x=x)).argmax(axis=1)

    offered = {f.__name__: f for f in (harness_get_params, harness_set_params,
                                       harness_forward, harness_predict)}
    return types.SimpleNamespace(**{name: offered[name] for name in missing})

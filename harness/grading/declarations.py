"""What a submission declares about itself (``harness_info``), read once and validated.

Declarations let the contract fit the layouts students really write instead of forcing an
adapter to rewrite their code. Each one changes what the checks *expect*, never what they
accept as correct:

========================  ===================================  =================================
key                       values (default first)               for a submission whose ...
========================  ===================================  =================================
``name``                  any string                           student name or id, for the class
``hidden_layers``         2, or any of 1 to 8                  network has one hidden layer,
                                                               or more than two
``equal_hidden_sizes``    False, True                          ``Net(input, hidden, output)``
                                                               takes one size for every layer
``activations``           the rubric's list, or a list         model supports only some
``forward_returns``       "logits", "probabilities",           forward ends in softmax
                          "log_probabilities"                  (or log-softmax)
``l2``                    "loss", "optimizer"                  L2 is weight decay in the step
``momentum``              False, True                          optimizer has momentum
``biases``                True, False                          network has no bias terms
``leaky_relu_slope``      0.01, a float                        leaky ReLU has another slope
``data``                  "arrays", "files"                    training reads dataset files
                                                               with its own loader
``params``                found by convention, or a name       model keeps its parameters in
                                                               one of several members (see
                                                               :mod:`harness.conventions`)
========================  ===================================  =================================

Unknown keys and bad values are not fatal: they are kept as ``problems`` (with the closest valid
key suggested) and shown to the student, and the default is used.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
FORWARD_RETURNS = ("logits", "probabilities", "log_probabilities")
L2_PLACES = ("loss", "optimizer")
DATA_MODES = ("arrays", "files")
HIDDEN_LAYERS = (2, 1, 3, 4, 5, 6, 7, 8)
KEYS = ("name", "hidden_layers", "equal_hidden_sizes", "activations", "forward_returns", "l2",
        "momentum", "biases", "leaky_relu_slope", "data", "params")


@dataclass(frozen=True)
class Declarations:
    """The validated declarations (see the module docstring for each field)."""

    name: str = ""
    hidden_layers: int = 2
    equal_hidden_sizes: bool = False
    activations: tuple[str, ...] | None = None
    forward_returns: str = "logits"
    l2: str = "loss"
    momentum: bool = False
    biases: bool = True
    leaky_relu_slope: float = 0.01
    data: str = "arrays"
    params: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)

    def hidden(self, sizes) -> list[int]:
        """``sizes`` in the shape this network takes: cut or extended (the last size repeated)
        to its depth, and one size for every layer when it takes one (``[256, 128]`` →
        ``[256]``, ``[256, 128, 128]`` or ``[256, 256]``)."""
        sizes = [int(s) for s in sizes]
        sizes = (sizes + sizes[-1:] * self.hidden_layers)[: self.hidden_layers]
        return [sizes[0]] * len(sizes) if self.equal_hidden_sizes else sizes

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in KEYS}
        d["activations"] = list(self.activations) if self.activations else None
        d["problems"] = list(self.problems)
        return d


def _closest(key: str, options) -> str:
    match = difflib.get_close_matches(key, options, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


def parse(info) -> Declarations:
    """Declarations from what ``harness_info`` returned (anything: it is untrusted)."""
    if info is None:
        return Declarations()
    if not isinstance(info, dict):
        return Declarations(problems=(f"harness_info returned {type(info).__name__}, not a "
                                      "dict; its declarations were ignored",))
    problems: list[str] = []
    values: dict = {}

    def choice(key, options):
        value = info[key]
        if value in options:
            values[key] = value
        else:
            problems.append(f"{key}={value!r} is not one of {', '.join(map(repr, options))}"
                            f"{_closest(str(value), options)}; using {options[0]!r}")

    for key in info:
        if key not in KEYS:
            problems.append(f"unknown declaration {key!r}{_closest(str(key), KEYS)}; ignored")
    if "name" in info:
        values["name"] = str(info["name"])[:200]
    if "hidden_layers" in info:
        if isinstance(info["hidden_layers"], bool):  # True == 1 to Python, not to a student
            problems.append(f"hidden_layers={info['hidden_layers']!r} is not a number of "
                            "layers; using 2")
        else:
            choice("hidden_layers", HIDDEN_LAYERS)
    for key in ("equal_hidden_sizes", "momentum"):
        if key in info:
            choice(key, (False, True))
    if "biases" in info:
        choice("biases", (True, False))
    if "forward_returns" in info:
        choice("forward_returns", FORWARD_RETURNS)
    if "l2" in info:
        choice("l2", L2_PLACES)
    if "data" in info:
        choice("data", DATA_MODES)
    if "params" in info:
        if isinstance(info["params"], str) and info["params"]:
            values["params"] = info["params"][:200]
        else:
            problems.append(f"params={info['params']!r} should name the member holding the "
                            "parameters, e.g. 'weights'; ignored")
    if "leaky_relu_slope" in info:
        slope = info["leaky_relu_slope"]
        if isinstance(slope, (int, float)) and 0 <= slope < 1:
            values["leaky_relu_slope"] = float(slope)
        else:
            problems.append(f"leaky_relu_slope={slope!r} is not a number in [0, 1); using 0.01")
    if "activations" in info:
        acts = info["activations"]
        if isinstance(acts, (list, tuple)) and acts and all(isinstance(a, str) for a in acts):
            unknown = [a for a in acts if a not in ACTIVATIONS]
            for a in unknown:
                problems.append(f"activation {a!r} is not one the harness knows"
                                f"{_closest(a, ACTIVATIONS)}; ignored")
            known = tuple(dict.fromkeys(a for a in acts if a in ACTIVATIONS))
            values["activations"] = known or None
        else:
            problems.append(f"activations={acts!r} should be a list of names such as "
                            f"{list(ACTIVATIONS[:2])}; ignored")
    return Declarations(**values, problems=tuple(problems))

"""The reference's training curves under the same grading budget, for the report's overlay.

The reference is our own, trusted code, so it runs in the harness process. Curves are cached in
the user cache, keyed by everything that shapes them: the data, the configuration and the number
of epochs. The run is never cut short by a clock, so a cached curve never depends on the load.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from harness import __version__
from harness.data.locate import cache_root
from harness.present.progress import say

from .context import GradeData, Settings


def reference_history(data: GradeData, settings: Settings) -> list[dict]:
    from reference.train import TrainConfig, train

    content = hashlib.sha1(data.y_train.tobytes() + data.x_val[:256].tobytes()).hexdigest()
    key_src = json.dumps([__version__, data.name, content, len(data.x_train), len(data.x_val),
                          settings.train_config, settings.train_budget["epochs"]],
                         sort_keys=True)
    path = cache_root() / "reference-curves" / f"{hashlib.sha1(key_src.encode()).hexdigest()}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    c, b = settings.train_config, settings.train_budget
    say(f"harness: training the reference for the report's comparison curves ({b['epochs']} "
        "epochs, once per dataset and budget; cached after this)")
    config = TrainConfig(hidden_sizes=tuple(c["hidden_sizes"]), activation=c["activation"],
                         lr=c["lr"], lr_decay=c["lr_decay"], decay_rate=c["decay_rate"],
                         step_every=c["step_every"], momentum=c["momentum"],
                         batch_size=c["batch_size"], reg=c["reg"], seed=c["seed"],
                         epochs=b["epochs"], max_seconds=None)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(data.x_train, data.y_train, data.x_val, data.y_val,
                       data.num_classes, config, Path(tmp) / "ref.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.history))
    except OSError:
        pass
    return result.history

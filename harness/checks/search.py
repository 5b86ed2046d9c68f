"""Search: a record for every combination of a small grid, and the best chosen by validation
accuracy."""

from __future__ import annotations

import itertools

from . import Check, Outcome, checkimpl


def _key(lr, hidden, reg) -> tuple:
    return (round(float(lr), 12), tuple(int(h) for h in hidden), round(float(reg), 12))


class SearchCheck(Check):
    name = "search"
    title = "Hyperparameter search over lr, hidden size and L2"
    part = "search"
    order = 70
    quick = False
    requires = ("harness_search",)

    def run(self, ctx) -> Outcome:
        s, data = ctx.settings, ctx.data
        grid = {**s.search_grid,
                "hidden_sizes": [ctx.hidden(h) for h in s.search_grid["hidden_sizes"]]}
        n_train, n_val = s.search_size
        out_dir = ctx.scratch / "search"
        out_dir.mkdir(parents=True, exist_ok=True)
        result = ctx.call("harness_search", timeout=s.search_timeout,
                          x_train=data.x_train[:n_train], y_train=data.y_train[:n_train],
                          x_val=data.x_val[:n_val], y_val=data.y_val[:n_val], grid=grid,
                          base_config={**s.train_config, "num_classes": data.num_classes},
                          budget=s.search_budget, out_dir=str(out_dir))
        expected = {_key(*c) for c in itertools.product(grid["lr"], grid["hidden_sizes"],
                                                         grid["reg"])}
        try:
            trials = list(result["trials"])
            got = {_key(t["lr"], t["hidden_sizes"], t["reg"]): float(t["val_acc"])
                   for t in trials}
            best = result["best"]
            best_key = _key(best["lr"], best["hidden_sizes"], best["reg"])
        except (TypeError, KeyError, ValueError) as exc:
            return Outcome(False, "harness_search must return {'trials': [{'lr', "
                           "'hidden_sizes', 'reg', 'val_acc'}, ...], 'best': {...}}; "
                           f"got something else ({type(exc).__name__}: {exc})")
        ctx.artifacts["search"] = {"grid": grid, "trials": trials, "best": best}
        details = {"grid": grid, "trials": len(trials), "best": best}
        problems, fraction = [], 1.0
        missing = expected - set(got)
        if missing:
            problems.append(f"{len(missing)} of {len(expected)} grid combinations have no "
                            f"record, e.g. lr={sorted(missing)[0][0]}, hidden="
                            f"{list(sorted(missing)[0][1])}, reg={sorted(missing)[0][2]}")
            fraction -= 0.5
        top = max(got.values()) if got else None
        if best_key not in got or got[best_key] != top:
            problems.append("the reported best is not the trial with the highest val_acc")
            fraction -= 0.5
        if problems:
            return Outcome(False, "; ".join(problems), fraction=max(fraction, 0), details=details)
        return Outcome(True, f"{len(trials)} trials recorded; best lr={best['lr']}, hidden="
                       f"{list(best['hidden_sizes'])}, reg={best['reg']} (val accuracy "
                       f"{top:.4f})", details=details)


@checkimpl
def harness_checks():
    return [SearchCheck()]

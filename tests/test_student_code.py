"""Submissions in the shapes real student code takes are graded right: correct work in every
legitimate layout passes, and each bug from real code gets the right verdict and diagnosis."""

from pathlib import Path

import pytest

from test_grading import FIXTURES, check, graded

STUDENT = Path(__file__).resolve().parent / "fixtures" / "student"


def failed(res: dict) -> list[str]:
    return [c["name"] for c in res["checks"] if not c["passed"]]


def test_softmax_weight_decay_equal_sizes_float32_directory_checkpoint(data_dir, out_root):
    """forward returns probabilities, L2 is weight decay in the step, one hidden size, two
    activations, float32 everywhere, log(p + 1e-7), a directory of .npy files, per-step
    learning rates, tqdm imported, a search script writing CSV: all correct."""
    res = graded(str(STUDENT / "softmax_decay"), data_dir, out_root)
    assert failed(res) == []
    assert "forward returns probabilities" in check(res, "contract")["message"]
    assert "L2 lives in the optimizer" in check(res, "loss")["message"]
    assert "computed in float32" in check(res, "gradient")["message"]
    assert "weight decay λ·θ in the step, as declared" in check(res, "optimizer")["message"]
    cases = check(res, "contract")["details"]["cases"]
    assert {tuple(c["hidden_sizes"]) for c in cases} == {(24, 24), (40, 40)}
    assert {c["activation"] for c in cases} == {"relu", "sigmoid"}
    assert "the harness took the best" in check(res, "search")["message"]
    assert res["declarations"]["forward_returns"] == "probabilities"


def test_script_with_its_own_file_loader_and_one_hidden_layer(data_dir, out_root):
    """Reads IDX files with its own loader (validation in the place of the test files), its
    own standardization, log-softmax forward, np.save appending .npy, JSON dict of trials; no
    learning rate in its history: the schedule is said to be unverified, not charged."""
    res = graded(str(STUDENT / "file_loader"), data_dir, out_root)
    assert failed(res) == []
    assert "the learning-rate schedule is not verified" in check(res, "optimizer")["message"]
    assert check(res, "optimizer")["score"] == 10
    assert check(res, "training")["details"]["data"] == "files"
    assert check(res, "accuracy")["details"]["test_accuracy"] > 0.5


@pytest.mark.parametrize("fixture, failing, message", [
    ("reload_assumes_relu", "checkpoint", "the activation is not read from the checkpoint"),
    ("best_by_val_loss", "checkpoint", "the epoch with the lowest validation loss"),
    ("momentum_always", "optimizer", "carries momentum ≈ 0.9 although the harness asked for "
     "none"),
    ("saved_before_training", "checkpoint", "holds an untrained model"),
    ("windows_path", "checkpoint", "the run wrote 'C:\\\\Users\\\\student\\\\hw1\\\\best_model.npz' "
     "elsewhere instead"),
    ("learned_nothing", "training", "the model learned nothing"),
    ("adam_eps_sqrt", "optimizer", "like Adam or RMSProp"),
    ("one_case_raises", "contract", "building with activation=tanh failed: harness_build_model "
     "raised NotImplementedError"),
])
def test_real_bugs_get_the_right_verdict(fixture, failing, message, data_dir, out_root):
    res = graded(fixture, data_dir, out_root, quick=True)
    got = check(res, failing)
    assert not got["passed"] and message in got["message"], got["message"]
    assert failed(res) == [failing] or fixture in ("learned_nothing", "one_case_raises")


def test_one_unsupported_activation_costs_only_its_share(data_dir, out_root):
    res = graded("one_case_raises", data_dir, out_root, quick=True)
    contract, gradient = check(res, "contract"), check(res, "gradient")
    assert contract["score"] == pytest.approx(10 * 4 / 6, abs=0.01)
    assert gradient["score"] == pytest.approx(20 * 4 / 6, abs=0.01)
    assert check(res, "loss")["passed"] and check(res, "training")["passed"]


def test_missing_checkpoint_is_said_once_where_it_is(data_dir, out_root):
    res = graded("windows_path", data_dir, out_root)
    assert check(res, "test")["message"] == "no checkpoint was saved (see the checkpoint check)"
    assert check(res, "accuracy")["message"] == check(res, "test")["message"]


@pytest.mark.parametrize("fixture", ["eps_in_log", "float32_only", "policy_unused",
                                     "three_hidden_layers", "no_relu", "own_cosine_schedule"])
def test_legitimate_variants_pass(fixture, data_dir, out_root):
    res = graded(fixture, data_dir, out_root, quick=True)
    assert failed(res) == [], [(c["name"], c["message"]) for c in res["checks"]]


def test_epsilon_in_the_log_is_named_not_failed(data_dir, out_root):
    res = graded("eps_in_log", data_dir, out_root, quick=True)
    assert "an epsilon of 1e-07 inside the log (fine)" in check(res, "loss")["message"]


def test_policy_gates_on_what_runs_and_reports_the_rest(data_dir, out_root):
    res = graded("policy_unused", data_dir, out_root, quick=True)
    policy = check(res, "policy")
    assert policy["passed"] and res["gated_by"] == []
    noted = " ".join(policy["details"]["noted"])
    assert "optional import of cupy at backend.py:2" in noted
    assert "vendor/torch_baseline.py:1, code the plugin never runs" in noted
    assert "tests/test_against_torch.py:1" in noted


def test_nan_from_the_test_part_fails(data_dir, out_root):
    res = graded("nan_test", data_dir, out_root)
    assert "returned nan, not an accuracy" in check(res, "test")["message"]


def test_search_with_other_sizes_says_so(data_dir, out_root):
    res = graded("search_other_sizes", data_dir, out_root)
    msg = check(res, "search")["message"]
    assert "8 of 8 grid combinations have no record" in msg
    assert "4 record(s) are for combinations not in the grid, e.g. lr=0.05, hidden=[100]" in msg


def test_missing_module_is_one_load_error_and_policy_still_runs(data_dir, out_root):
    res = graded("missing_dep", data_dir, out_root, quick=True)
    assert "imports 'harness_fixture_progressbar', which is not installed" in \
        res["load_error"]["message"]
    assert "not among the packages this course allows" in res["load_error"]["message"]
    assert check(res, "contract")["message"].startswith("not graded: harness_plugin.py did not")
    assert check(res, "policy")["passed"]


def test_a_mistyped_declaration_is_shown_with_the_closest_key(tmp_path, data_dir):
    from harness.grading.pipeline import grade
    from harness.present.summary import summary_text
    sub = tmp_path / "typo"
    sub.mkdir()
    (sub / "harness_plugin.py").write_text(
        "from reference.harness_plugin import *  # noqa: F401,F403\n"
        "from harness.hookspecs import hookimpl\n\n\n@hookimpl\ndef harness_info():\n"
        "    return {'forward_return': 'logits', 'momentum': True}\n")
    res = grade(sub, data_dir=str(data_dir), quick=True, out=tmp_path / "out",
                rubric_path=STUDENT.parent / "rubric_synthetic.toml")
    said = "unknown declaration 'forward_return' (did you mean 'forward_returns'?); ignored"
    assert res["declarations"]["problems"] == [said]
    assert f"harness_info: {said}" in summary_text(res)
    assert said.replace("'", "&#39;") in (tmp_path / "out" / "report.html").read_text()


def test_a_schedule_of_its_own_is_named_not_charged(data_dir, out_root):
    res = graded("own_cosine_schedule", data_dir, out_root)
    message = check(res, "optimizer")["message"]
    assert check(res, "optimizer")["passed"], message
    assert "decays by its own schedule (cosine, 0.1 → 0 over 10 epochs" in message


def test_backprop_fused_with_the_update_connects_through_one_training_step(data_dir, out_root):
    """An MLP whose train_step does forward, backward and the update in one pass (weight decay
    inside it, weights in a dict, a step schedule, one .npy per tensor): the adapter calls the
    student's step through harness_train_step and re-states nothing; every check passes."""
    res = graded(str(STUDENT / "fused_update"), data_dir, out_root)
    assert failed(res) == [], [(c["name"], c["message"]) for c in res["checks"]
                               if not c["passed"]]
    assert res["missing_hooks"] == []
    assert "the training step is plain SGD" in check(res, "optimizer")["message"]
    assert "step" in check(res, "optimizer")["message"]  # its own step schedule, named


@pytest.mark.parametrize("fixture, message", [
    ("fused_momentum", "the step keeps state between calls (momentum?)"),
    ("fused_ignores_lr", "the training step ignores the lr it is given"),
])
def test_a_fused_training_step_is_charged_once_where_its_bug_lives(fixture, message, data_dir,
                                                                    out_root):
    """A training step that keeps momentum or ignores its lr: the optimizer check charges it;
    the loss and gradient checks, reading the gradient from the same step, do not."""
    res = graded(fixture, data_dir, out_root, quick=True)
    assert failed(res) == ["optimizer"]
    assert message in check(res, "optimizer")["message"]


def test_a_model_that_is_a_plain_dict_is_held_by_reference(data_dir, out_root):
    """Functions over a dict of weights, the dict itself the model: set_params and the SGD step
    change it in place, and every later hook sees those changes (a copy per call lost them:
    contract, loss, gradient and optimizer all failed on correct code)."""
    res = graded(str(STUDENT / "dict_model"), data_dir, out_root, quick=True)
    assert failed(res) == [], [(c["name"], c["message"]) for c in res["checks"]
                               if not c["passed"]]
    assert "two steps are SGD" in check(res, "optimizer")["message"]


def test_a_framework_imported_only_to_download_the_data_is_noted_not_gated(data_dir, out_root):
    """torchvision's datasets and transforms, torch's DataLoader and Keras's dataset imported at
    the top of a data module the plugin imports: the plugin loads (inert stand-ins), every check
    passes, and the policy check names each import for the instructor."""
    res = graded("torchvision_data", data_dir, out_root, quick=True)
    assert res["load_error"] is None and failed(res) == []
    policy = check(res, "policy")["message"]
    assert "data loaders aside" in policy
    for module in ("torchvision", "torch.utils.data", "tensorflow"):
        assert f"{module} imported at data_utils.py" in policy


def test_with_the_policy_gate_off_a_framework_import_no_longer_stops_the_plugin(
        data_dir, tmp_path):
    """gate = false means the plugin loads: an unguarded `import torch` used beyond data
    becomes a stand-in, the policy check fails without zeroing the grade, the rest is graded."""
    from harness.grading.pipeline import grade
    sub = tmp_path / "torch_seed"
    sub.mkdir()
    (sub / "harness_plugin.py").write_text(
        "import torch\nfrom reference.harness_plugin import *  # noqa\ntorch.manual_seed(0)\n")
    rubric = tmp_path / "gate_off.toml"
    rubric.write_text((FIXTURES.parent / "rubric_synthetic.toml").read_text().replace(
        "gate = true", "gate = false"))
    off = grade(sub, data_dir=str(data_dir), rubric_path=str(rubric), quick=True,
                out=tmp_path / "off", report=False)
    assert off["load_error"] is None and failed(off) == ["policy"]
    assert "torch imported at harness_plugin.py:1" in check(off, "policy")["message"]
    assert off["score"] == off["max_score"] and not off["gated_by"]
    on = grade(sub, data_dir=str(data_dir), rubric_path=str(FIXTURES.parent / "rubric_synthetic.toml"),
               quick=True, out=tmp_path / "on", report=False)
    assert on["score"] == 0 and on["gated_by"] == ["policy"]


def test_a_checkpoint_that_does_not_load_is_explained_once_with_what_was_saved(data_dir,
                                                                                 tmp_path):
    """The weights saved to the working directory, only a config file in the checkpoint
    directory: the checkpoint check names both; test and accuracy point at it, and their
    advice is to fix the checkpoint first (not to tune the learning rate)."""
    from harness.grading.pipeline import grade
    from harness.present.advice import fix_first
    sub = tmp_path / "weights_in_cwd"
    sub.mkdir()
    (sub / "harness_plugin.py").write_text(
        "import json, os\n"
        "import reference.harness_plugin as ref\n"
        "from reference.harness_plugin import *  # noqa\n"
        "from harness.hookspecs import hookimpl\n\n\n"
        "@hookimpl\n"
        "def harness_train(x_train, y_train, x_val, y_val, config, budget, checkpoint_dir):\n"
        "    with open(os.path.join(checkpoint_dir, 'config.json'), 'w') as f:\n"
        "        json.dump({'hidden': config['hidden_sizes']}, f)\n"
        "    return ref.harness_train(x_train, y_train, x_val, y_val, config, budget,\n"
        "                             'model_weights.npz')\n\n\n"
        "@hookimpl\n"
        "def harness_load_checkpoint(checkpoint_dir):\n"
        "    return ref.harness_load_checkpoint(os.path.join(checkpoint_dir, 'weights.npz'))\n")
    res = grade(sub, data_dir=str(data_dir), out=tmp_path / "out", report=False,
                rubric_path=str(FIXTURES.parent / "rubric_synthetic.toml"))
    said = check(res, "checkpoint")["message"]
    assert said.startswith("loading the checkpoint failed:")
    assert "the checkpoint directory holds config.json" in said
    assert "the run also wrote 'model_weights.npz' outside it" in said
    for name in ("test", "accuracy"):
        assert "see the checkpoint check" in check(res, name)["message"]
        assert "KeyError" not in check(res, name)["message"]
    advice = {i["check"]: i["try"] for i in fix_first(res)}
    assert advice["accuracy"].startswith("fix what the checkpoint check reports first")

"""The style × bug matrix (tests/corpus.py): every clean style passes every check; every bug
operator, applied by machine to every style that can have it, is charged by the check that owns
it with its own diagnosis, and by no other check of the model part."""

import pytest

from corpus import OPERATORS, STYLES, grade_cell, operators_in

RUBRIC_NAME = "rubric_synthetic.toml"
CELLS = [(label, None) for label in STYLES] + [
    (label, op) for label, style in STYLES.items() for op in OPERATORS
    if op in operators_in(style)]


@pytest.mark.parametrize("style, operator", CELLS,
                         ids=[f"{STYLES[s].name}-{o or 'clean'}" for s, o in CELLS])
def test_cell(style, operator, data_dir, tmp_path):
    from corpus import ROOT
    rubric = str(ROOT / "tests" / "fixtures" / RUBRIC_NAME)
    assert grade_cell(STYLES[style], operator, data_dir, tmp_path, rubric) is None


def test_the_corpus_is_as_wide_as_it_claims():
    assert len(OPERATORS) >= 15
    assert all(operators_in(style) for style in STYLES.values())


def test_every_bug_model_names_a_fixture_that_exists_and_says_its_message():
    """A model's ``fixture``: a corpus operator whose expected verdict is the model's message,
    or a submission in the repository."""
    from corpus import ROOT

    from harness.checks.diagnoses import gradient, loss, optimizer, schedule
    models = [*gradient.MODELS, *loss.DATA_MODELS, *loss.PENALTY_MODELS, *optimizer.STEP_MODELS,
              *schedule.SCHEDULE_MODELS]
    with_fixture = [m for m in models if m.fixture]
    assert len(with_fixture) >= 20
    for m in with_fixture:
        if m.fixture.startswith("corpus:"):
            owner, says = OPERATORS[m.fixture.removeprefix("corpus:")]
            # a frozen step names the tensors; a schedule's words follow "does not decay: "
            assert says in m.message or owner == "optimizer" and (
                says == "b1" or m in schedule.SCHEDULE_MODELS), m.name
        else:
            assert (ROOT / m.fixture / "harness_plugin.py").is_file(), m.name

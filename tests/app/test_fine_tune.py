"""Fine-tune page: the gate and its real reason, the override that stays visible, the real
number of epochs, the prediction before launch, one run at a time."""

from __future__ import annotations

from advisor import Answers, estimate
from tests.app.conftest import app_state, go
from tests.app.helpers import JUSTIFYING, answer, choose_demo, upload_small_demo
from ui.training import OVERRIDE_WARNING


def _validated(at):
    choose_demo(go(at, "data"))
    at.button(key="validate").click().run()
    assert not at.exception
    return go(at, "fine_tune")


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning] + [e.value for e in at.error]


def test_gate_blocks_fine_tuning_when_the_verdict_says_no(app):
    assert not estimate(Answers()).fine_tune_justified  # the defaults do not justify it
    at = _validated(app())
    assert at.button(key="ft_launch").disabled
    assert not at.checkbox(key="gate_override").value
    assert any("not recommended" in w and "Launching is locked" in w for w in _warnings(at))


def test_override_unlocks_and_stays_visible(app):
    at = _validated(app())
    at.checkbox(key="gate_override").check().run()
    assert not at.exception
    assert not at.button(key="ft_launch").disabled
    assert any(OVERRIDE_WARNING in w for w in _warnings(at))
    # Unlocked: the page no longer says it is locked, and still says why it is not advised.
    assert not any("Launching is locked" in w for w in _warnings(at)), _warnings(at)
    assert any("unlocked by your override" in w and "not recommended" in w for w in _warnings(at))


def test_the_gate_names_the_budget_when_the_budget_is_the_reason(app):
    """A justified case but for a $5,000 budget: the page names the budget, not 'your answers'
    in general."""
    at = app()
    answer(at, {**JUSTIFYING, "total_budget_usd": 5000.0})
    at = _validated(at)
    assert at.button(key="ft_launch").disabled
    gate = next(w for w in _warnings(at) if "Launching is locked" in w)
    assert "budget of $5,000" in gate.replace("\\", ""), gate
    assert "not justified by your answers" not in gate


def test_advanced_says_how_many_epochs_max_steps_really_make(app):
    """The demo's 1,600 training tickets, 60 steps of 32: 1.2 epochs, not the 3 in the box."""
    at = app()
    answer(at, JUSTIFYING)
    at = _validated(at)
    captions = [c.value for c in at.caption]
    assert any("This run: 60 steps of 32 = 1.2 epochs" in c for c in captions), captions
    at.number_input(key="ft_max_steps").set_value(0).run()
    assert not any("This run:" in c.value for c in at.caption)  # no cap: the epochs box rules


def test_launch_is_disabled_while_a_run_is_going(app):
    """Real trainer subprocess: right after Launch the button is disabled (a second click
    would only queue a duplicate) until the run is cancelled."""
    from ui.state import current_project
    from ui.training import manager

    at = app()
    go(at, "data")
    upload_small_demo(at)
    go(at, "fine_tune")
    at.checkbox(key="gate_override").check().run()
    at.button(key="ft_launch").click().run()
    assert not at.exception, at.exception
    run_id = app_state(at).selected_run
    jobs = manager(str(current_project(app_state(at)).runs_dir))
    try:
        assert jobs.status(run_id)["state"] in ("queued", "running")
        assert at.button(key="ft_launch").disabled
        assert any(f"Run {run_id} is going" in c.value for c in at.caption)
    finally:
        jobs.cancel(run_id, grace_s=30, wait=True)
    at.run()
    assert not at.button(key="ft_launch").disabled  # free again once it stopped


def test_justified_verdict_unlocks_and_shows_the_prediction(app):
    at = app()
    answer(at, JUSTIFYING)
    at = _validated(at)
    assert not at.button(key="ft_launch").disabled
    assert "gate_override" not in [c.key for c in at.checkbox]
    labels = [m.label for m in at.metric]
    for label in ("Predicted training time", "Predicted memory", "Predicted compute cost"):
        assert label in labels
    seconds = next(m.value for m in at.metric if m.label == "Predicted training time")
    assert seconds.endswith(" s") and float(seconds[:-2].replace(",", "")) > 0


def test_bad_settings_are_explained(app):
    at = app()
    answer(at, JUSTIFYING)
    at = _validated(at)
    at.number_input(key="ft_epochs").set_value(0.0).run()
    assert not at.exception
    assert any("epochs" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="ft_launch").disabled


def test_without_data_the_page_points_to_the_data_page(app):
    at = app("fine_tune")
    assert at.button(key="ft_launch").disabled
    assert any("validate the data first" in i.value for i in at.info)

"""Fine-tune page: the gate, the override that stays visible, the prediction before launch."""

from __future__ import annotations

from advisor import Answers, estimate
from tests.app.conftest import go
from tests.app.helpers import JUSTIFYING, answer, choose_demo
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
    assert any("not justified" in w for w in _warnings(at))


def test_override_unlocks_and_stays_visible(app):
    at = _validated(app())
    at.checkbox(key="gate_override").check().run()
    assert not at.exception
    assert not at.button(key="ft_launch").disabled
    assert any(OVERRIDE_WARNING in w for w in _warnings(at))


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

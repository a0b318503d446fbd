"""Cancel and resume a running trial from the Fine-tune page (real trainer subprocess; slow)."""

from __future__ import annotations

import time

import pytest

from tests.app.conftest import app_state, charts, go, shown_errors, unescape
from tests.app.helpers import upload_small_demo

pytestmark = pytest.mark.slow


def _runs_dir(at) -> str:
    from ui.state import current_project

    return str(current_project(app_state(at)).runs_dir)


def _wait(at, run_id: str, states: set[str], timeout_s: float, need_step: bool = False) -> dict:
    from ui.training import manager

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        status = manager(_runs_dir(at)).status(run_id)
        if status["state"] in states and (not need_step or status.get("step", 0) > 0):
            return status
        time.sleep(1.0)
    pytest.fail(f"run {run_id} never reached {states}: {status}")


def test_cancel_then_resume_from_the_page(app):
    at = app()
    go(at, "data")
    upload_small_demo(at)
    go(at, "fine_tune")
    at.checkbox(key="gate_override").check().run()
    at.number_input(key="ft_epochs").set_value(20.0).run()  # 32 steps an epoch at batch 8
    at.number_input(key="ft_max_steps").set_value(400).run()
    at.number_input(key="ft_batch_size").set_value(8).run()
    at.button(key="ft_launch").click().run()
    run_id = app_state(at).selected_run
    _wait(at, run_id, {"running"}, 300, need_step=True)
    at.button(key=f"cancel_{run_id}").click().run()
    cancelled = _wait(at, run_id, {"cancelled"}, 300)
    assert cancelled["step"] > 0
    ckpt = cancelled["checkpoint_step"]
    assert cancelled["step"] == ckpt  # status and checkpoint agree
    # The view stays on the run; the cancel is shown as information with Resume, no command.
    assert app_state(at).selected_run == run_id and at.selectbox(key="ft_run").value == run_id
    infos = [unescape(i.value) for i in at.info]
    assert any(i.startswith(f"Cancelled at step {ckpt} of 400") for i in infos), infos
    assert not [e for e in shown_errors(at) if "Cancelled" in e or "python -m" in e]
    assert len(charts(at)) == 1
    assert not at.button(key=f"resume_{run_id}").disabled
    at.button(key=f"resume_{run_id}").click().run()
    # The job is queued again from the page, the view stays on it, and it trains to the end.
    from ui.training import manager

    assert manager(_runs_dir(at)).status(run_id)["state"] in ("queued", "running", "completed")
    assert at.selectbox(key="ft_run").value == run_id
    done = _wait(at, run_id, {"completed", "interrupted", "failed"}, 600)
    assert done["state"] == "completed", done  # the resumed worker trains to the end
    assert done["step"] == 400
    at.run()
    assert at.selectbox(key="ft_run").value == run_id
    # Only the override warning (the gate was overridden above) is left on the page.
    assert [e for e in shown_errors(at) if not e.startswith("Trained against")] == []

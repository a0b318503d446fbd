"""Cancel and resume a running trial from the Fine-tune page (real trainer subprocess; slow)."""

from __future__ import annotations

import time

import pytest

from tests.app.conftest import app_state, go
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
    at.number_input(key="ft_max_steps").set_value(400).run()
    at.number_input(key="ft_batch_size").set_value(8).run()
    at.button(key="ft_launch").click().run()
    run_id = app_state(at).selected_run
    _wait(at, run_id, {"running"}, 300, need_step=True)
    at.button(key=f"cancel_{run_id}").click().run()
    cancelled = _wait(at, run_id, {"cancelled"}, 300)
    assert cancelled["step"] > 0
    assert not at.button(key=f"resume_{run_id}").disabled
    at.button(key=f"resume_{run_id}").click().run()
    resumed = _wait(at, run_id, {"running", "completed"}, 300)
    assert resumed["state"] in ("running", "completed")
    at.button(key=f"cancel_{run_id}").click().run()  # leave nothing running behind
    _wait(at, run_id, {"cancelled", "completed"}, 300)

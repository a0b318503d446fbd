"""The Fine-tune page's "where to run" choice: remembered per project, priced at the chosen GPU,
and an unreachable cluster refused in one line (no Ray head needed)."""

from __future__ import annotations

import json

from tests.app.conftest import app, errors, go, workspace_dir  # noqa: F401 (fixtures)
from tests.app.helpers import JUSTIFYING, answer, choose_demo
from trainer.remote.head import free_ports


def _fine_tune(at):
    choose_demo(go(at, "data"))
    at.button(key="validate").click().run()
    assert not at.exception, at.exception
    at = go(at, "fine_tune")
    # This test is about where the run goes, not the advisor's gate (tests/app test that): when
    # the verdict locks Launch, take the visible override.
    for box in at.checkbox:
        if box.key == "gate_override" and not box.value:
            box.check().run()
    return at


def _cost(at) -> str:
    return next(m.value for m in at.metric if m.label == "Predicted compute cost")


def test_cluster_choice_is_remembered_priced_and_checked(app, workspace_dir):  # noqa: F811
    at = app()
    answer(at, JUSTIFYING)
    at = _fine_tune(at)
    assert at.radio(key="ft_where").value == "This machine"
    on_cpu = _cost(at)
    at.radio(key="ft_where").set_value("Ray cluster").run()
    (port,) = free_ports(1)
    at.text_input(key="ft_cluster_address").set_value(f"http://127.0.0.1:{port}").run()
    at.selectbox(key="ft_cluster_gpu_type").set_value("H100-80GB").run()
    assert not at.exception, at.exception
    assert _cost(at) != on_cpu  # priced at the H100's $/h, not this machine's
    saved = json.loads(next(workspace_dir.glob("*/cluster.json")).read_text())
    assert (saved["address"], saved["gpus"], saved["gpu_type"]) == (
        f"http://127.0.0.1:{port}",
        1,
        "H100-80GB",
    )
    at.button(key="ft_launch").click().run()
    assert not at.exception, at.exception
    assert any("no Ray dashboard answers at" in e for e in errors(at)), errors(at)
    assert not [p for p in workspace_dir.glob("*/runs/*") if p.is_dir()]  # nothing submitted

    again = go(app(), "fine_tune")  # a new session (a restart): the project remembers
    assert again.radio(key="ft_where").value == "Ray cluster"
    assert again.text_input(key="ft_cluster_address").value == f"http://127.0.0.1:{port}"
    again.radio(key="ft_where").set_value("This machine").run()
    assert json.loads(next(workspace_dir.glob("*/cluster.json")).read_text()) == {}

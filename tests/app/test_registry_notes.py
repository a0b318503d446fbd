"""A damaged job registry (`runs/registry.sqlite`) is set aside and rebuilt by trainer.registry;
the app says so in one warning line on the Runs and Fine-tune pages, never a traceback."""

from __future__ import annotations

from tests.app.conftest import app_state, errors, go
from ui.workspace import Workspace


def _registry_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "registry.sqlite" in w.value]


def test_a_rebuilt_registry_is_said_once_on_runs_and_fine_tune(app, workspace_dir):
    at = app()  # the project exists; nothing has opened its job registry yet
    runs_dir = Workspace(workspace_dir).project(app_state(at).project).runs_dir
    runs_dir.mkdir(parents=True, exist_ok=True)
    (runs_dir / "registry.sqlite").write_bytes(b"this is not a SQLite database\n" * 200)

    go(at, "runs")
    lines = _registry_warnings(at)
    assert len(lines) == 1, lines
    assert "was damaged" in lines[0] and "rebuilt from 0 run folder(s)" in lines[0]
    assert "registry.sqlite.damaged-" in lines[0] and "\n" not in lines[0]
    assert not at.exception and not errors(at)
    assert list(runs_dir.glob("registry.sqlite.damaged-*"))  # the damaged file kept aside

    go(at, "fine_tune")
    assert len(_registry_warnings(at)) == 1

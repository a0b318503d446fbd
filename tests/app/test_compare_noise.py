"""The Compare page on a trial whose lead over the best cheap baseline is within noise: the
verdict stays the small classifier, one line says why and how many rows would settle it, and
the Costs and Questionnaire pages give the same verdict (from the saved comparison)."""

from __future__ import annotations

import json

from tests.app.conftest import go
from tests.comparison.test_evidence import ROUTER, project, write_case
from ui.verdict import headline_text


def _lay_out(workspace_dir, tmp_path, gain: int, loss: int) -> None:
    """The project folder as the app leaves it after a baseline and a completed trial."""
    root = project(tmp_path, write_case(tmp_path / "case", gain, loss))
    target = workspace_dir / "default"
    target.parent.mkdir(parents=True, exist_ok=True)
    root.rename(target)
    choice = {"train": "t.csv", "text_col": "text", "label_col": "label", "split_id": "s1",
              "task": "classification", "split_task": "classification"}  # fmt: skip
    (target / "data.json").write_text(json.dumps(choice))
    (target / "answers.json").write_text(json.dumps(ROUTER))
    run = target / "runs" / "run-1"
    (run / "status.json").write_text(json.dumps({"state": "completed", "created_at": 1.0}))


def test_a_lead_within_noise_keeps_the_classifier_on_every_page(app, workspace_dir, tmp_path):
    _lay_out(workspace_dir, tmp_path, gain=22, loss=12)  # 0.90 against 0.85, p = 0.12
    at = app("compare")
    assert not at.exception, at.exception
    saved = json.loads((workspace_dir / "default" / "comparison.json").read_text())
    report = saved["report"]
    assert report["recommendation"] == "classifier" and report["noise"]["held"]
    heading = at.subheader[0].value
    assert heading == headline_text(report)
    lines = [m.value for m in at.markdown if "Noise check:" in m.value]
    assert len(lines) == 1  # one line on the page
    text = lines[0].replace("\\", "")
    assert "within noise" in text and f"about {report['noise']['rows_needed']:,} rows" in text
    for page in ("costs", "questionnaire"):
        go(at, page)
        assert any(s.value == heading for s in at.subheader), page

"""The whole flow through session state, on a small slice of the demo data, with the real
embedder, FAISS and a real (tiny) trainer job: upload -> baseline -> fine-tune -> compare -> runs,
then a server restart (a new session on the same workspace) that still shows everything."""

from __future__ import annotations

import json

from tests.app.conftest import ENTRY, TIMEOUT, app_state, errors, go
from tests.app.helpers import poll, upload_small_demo
from ui.training import OVERRIDE_WARNING


def _dataframes_text(at) -> str:
    return " ".join(df.value.to_string() for df in at.dataframe)


def test_upload_baseline_fine_tune_compare_runs(app, workspace_dir):
    """With the default answers the gate is closed: this trial runs on an explicit override,
    whose warning must then appear on every result."""
    at = app()
    go(at, "data")
    upload_small_demo(at)
    assert not errors(at), errors(at)
    split_id = app_state(at).data.split_id
    assert split_id

    at.button(key="run_baseline").click().run()
    poll(at, lambda a: "RAG baseline (kNN retrieval)" in _dataframes_text(a), 120, "baseline")
    project = workspace_dir / "default"
    assert (project / "results" / f"baseline-{split_id}" / "predictions.csv").exists()

    go(at, "fine_tune")
    assert at.button(key="ft_launch").disabled
    at.checkbox(key="gate_override").check().run()
    at.number_input(key="ft_max_steps").set_value(3).run()
    at.number_input(key="ft_batch_size").set_value(16).run()
    at.button(key="ft_launch").click().run()
    assert [e for e in errors(at) if e != OVERRIDE_WARNING] == []
    run_id = app_state(at).selected_run
    config = json.loads((project / "runs" / run_id / "config.json").read_text())
    assert config["gate_override"] is True and config["split_dir"] == str(project / "splits")
    poll(at, lambda a: any(m.label == "Held-out accuracy" for m in a.metric), 180, "fine-tune")

    assert any(OVERRIDE_WARNING in w.value for w in at.warning)
    run_dir = project / "runs" / run_id
    final = json.loads((run_dir / "metrics.json").read_text())
    # Answer speed measured as the baseline's is (batch of held-out texts, then one at a time).
    assert final["items_per_s"] > 0 and final["latency_ms_per_item"] > 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3]  # a point every step
    assert any("eval_loss" in r for r in rows)  # held-out loss beside the training loss
    assert (run_dir / "prediction.json").exists()  # the prediction made before launch, kept

    go(at, "compare")
    assert not errors(at), errors(at)
    assert any(OVERRIDE_WARNING in w.value for w in at.warning)
    heading = at.subheader[0].value
    assert "RAG baseline" in heading and "fine-tune" in heading
    assert "McNemar" in " ".join(m.value for m in at.markdown)
    downloads = [e for e in at.main if getattr(e, "type", "") == "download_button"]
    assert len(downloads) == 2

    go(at, "runs")
    assert run_id in _dataframes_text(at)
    assert "completed" in _dataframes_text(at)
    assert any(OVERRIDE_WARNING in w.value for w in at.warning)

    # A restart: a new session on the same workspace finds the runs and results on disk.
    from streamlit.testing.v1 import AppTest

    again = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()
    go(again, "runs")
    assert run_id in _dataframes_text(again)
    go(again, "compare")
    assert not errors(again)
    assert again.subheader[0].value == heading

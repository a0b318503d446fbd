"""The whole flow through session state, on a small slice of the demo data, with the real
embedder, FAISS and a real (tiny) trainer job: upload -> baseline -> fine-tune -> compare -> runs,
then a server restart (a new session on the same workspace) that still shows everything."""

from __future__ import annotations

import json
import subprocess
import sys

from advisor.text import IN_TEXT, usd
from tests.app.conftest import ENTRY, REPO, TIMEOUT, app_state, errors, go
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
    assert heading.startswith("Verdict: ")  # the verdict first, the override banner after it
    text = " ".join(m.value for m in at.markdown)
    assert "RAG baseline" in text and "fine-tune" in text  # the measured conclusion
    assert "McNemar" in text
    # Issue 16: the classifier option with its measured accuracy and cost, RAG by proxy.
    comp = json.loads((project / "comparison.json").read_text())
    report = comp["report"]
    best = comp["best_baseline"]
    cls = report["options"]["classifier"]
    assert cls["accuracy_source"] == "measured" and not cls["proxy"]
    assert cls["accuracy"]["expected"] == round(comp["measured_accuracy"]["classifier"], 3)
    assert comp["measured_accuracy"]["classifier"] == next(
        s["score"] for s in comp["systems"] if s["key"] == best
    )
    assert report["options"]["rag"]["proxy"] is True
    options = next(d.value for d in at.dataframe if "Accuracy (source)" in d.value.columns)
    row = options[options["Option"] == "Small classifier"].iloc[0]
    assert "(measured)" in row["Accuracy (source)"]
    assert row["Set-up"] == usd(cls["setup_usd"]["expected"])
    assert "(measured, proxy)" in options[options["Option"] == "RAG"].iloc[0]["Accuracy (source)"]
    labels = [m.label for m in at.metric]
    assert all(len(label) <= 20 for label in labels), labels  # tiles are not cut
    # The memo (from the saved comparison, as a script makes it) agrees with every page.
    memo = subprocess.run([sys.executable, "-m", "advisor", "memo", "--project", str(project)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert memo.returncode == 0, memo.stderr
    first = next(x for x in memo.stdout.splitlines() if x.startswith("**Recommendation"))
    assert first.startswith(f"**Recommendation: {IN_TEXT[report['recommendation']]}")
    for page in ("costs", "questionnaire"):
        go(at, page)
        assert any(s.value == heading for s in at.subheader), page
    go(at, "compare")
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

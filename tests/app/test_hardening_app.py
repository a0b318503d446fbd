"""The app side of issue 11: uploads are immutable, user strings never render as Markdown (no
image fetched, no live link), the page makes no outside request for its icon, and the baseline
can be cancelled and stays within a memory bound."""

from __future__ import annotations

import ast
import json
import re

import pandas as pd
import pytest
from streamlit.commands.page_config import _get_favicon_string

from tests.app.conftest import REPO, errors, go
from tests.app.helpers import poll
from tests.conftest import DEMO_TICKETS
from ui.safe import plain
from ui.workspace import Workspace

BEACON = "![x](http://127.0.0.1:9/beacon.png)"
LINK = "[x](http://127.0.0.1:9/link)"
# Markdown that would still act: an image or link opener, or a bare URL scheme, not escaped.
LIVE = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\((?<!\\)|https?://|(?<!\\):red\[")


def test_uploads_are_immutable_and_names_do_not_collide(tmp_path):
    project = Workspace(tmp_path).project("p")
    first = project.save_upload("a b.csv", b"text,label\nx,1\n")
    paths = {first, project.save_upload("a_b.csv", b"text,label\nx,1\n")}
    paths.add(project.save_upload("a\x00b.csv", b"text,label\nx,1\n"))
    assert len(paths) == 3 and all(p.parent == project.uploads_dir for p in paths)
    again = project.save_upload("a b.csv", b"text,label\nx,1\n")
    assert again == first  # the same file uploaded again is the same upload
    changed = project.save_upload("a b.csv", b"text,label\ny,2\n")
    assert changed != first and first.read_bytes() == b"text,label\nx,1\n"  # never overwritten
    assert set(project.uploads()) == paths | {changed}


def test_plain_escapes_markdown_that_would_fetch_or_link():
    for text in (BEACON, LINK, "see http://127.0.0.1:9/x and :red[alert] :material/home:"):
        out = plain(text)
        assert not LIVE.search(out), out
        assert out.replace("\\", "") == text  # shown verbatim once the escapes are read


def _labelled_csv(labels: list[str]) -> bytes:
    rows = [f"example text number {i} about {y.strip()[:3]},{y}" for i, y in enumerate(labels)]
    return ("text,label\n" + "\n".join(rows) + "\n").encode()


def _markdown_bodies(at) -> list[str]:
    out = []
    for kind in ("error", "warning", "info", "success", "caption", "markdown"):
        out += [e.value for e in at.get(kind)]
    return out


def test_label_names_are_plain_text_in_messages(app):
    at = app()
    go(at, "data")
    labels = ([BEACON] * 9 + [" " + BEACON] + [LINK] * 10 + ["ok"] * 10) * 2
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    at.file_uploader(key="upload_train").set_value(("evil.csv", _labelled_csv(labels), "text/csv"))
    at.run()
    at.button(key="validate").click().run()
    assert not at.exception, at.exception
    bodies = _markdown_bodies(at)
    merged = [b for b in bodies if "differ only by surrounding spaces" in b]
    assert merged, bodies  # the label reached a message ...
    assert "beacon" in merged[0]
    for body in bodies:  # ... and no message holds live Markdown
        assert not LIVE.search(body), body


def test_data_errors_naming_labels_are_plain_text(app):
    at = app()
    go(at, "data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    train = _labelled_csv(["a", "b"] * 10)
    test = _labelled_csv(["a", LINK, BEACON, "b"])
    at.file_uploader(key="upload_train").set_value(("train.csv", train, "text/csv"))
    at.run()
    at.file_uploader(key="upload_test").set_value(("test.csv", test, "text/csv"))
    at.run()
    at.button(key="validate").click().run()
    assert not at.exception, at.exception
    found = [e for e in errors(at) if "never occur" in e]
    assert found and "beacon" in found[0], errors(at)
    assert not LIVE.search(found[0]), found[0]


def test_page_icon_is_drawn_inline_not_fetched():
    """Streamlit 1.67 fetches ':material/...:' favicons from fonts.gstatic.com; an emoji is an
    inline SVG data URL, so the browser asks no outside host."""
    tree = ast.parse((REPO / "app.py").read_text())
    icon = next(
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "PAGE_ICON" for t in node.targets)
    )
    assert _get_favicon_string(icon).startswith("emoji:")
    for path in [REPO / "app.py", *(REPO / "pages").glob("*.py"), *(REPO / "ui").glob("*.py")]:
        assert 'page_icon=":material' not in path.read_text(), path


def _upload_and_validate(at, data: bytes, name: str = "banking.csv"):
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    at.file_uploader(key="upload_train").set_value((name, data, "text/csv"))
    at.run()
    at.button(key="validate").click().run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    return at


def test_baseline_can_be_cancelled(app, workspace_dir):
    at = app()
    go(at, "data")
    _upload_and_validate(at, DEMO_TICKETS.read_bytes(), "tickets.csv")
    at.button(key="run_baseline").click().run()
    at.button(key="cancel_baseline").click().run()
    poll(at, lambda a: any("was cancelled" in i.value for i in a.info), 180, "the cancel")
    assert not list(workspace_dir.glob("*/results/*/results.json"))  # nothing was saved


@pytest.mark.slow  # a whole (sampled) baseline run: ~30 s quiet, minutes under load
def test_big_data_runs_the_baseline_on_a_sample_and_says_so(app, workspace_dir, monkeypatch):
    """The memory plan in action: with the full baseline's estimate above the limit (scaled
    down here: 1 MB a row; bench/memory.py runs a real 1.5M-row file), the app scores a
    stratified sample and says why."""
    import core.budget

    monkeypatch.setenv("ADVISOR_BASELINE_MEMORY_GB", "1.6")
    monkeypatch.setattr(core.budget, "PER_ROW_BYTES", 1_000_000)
    monkeypatch.setattr(core.budget, "SAMPLE_TRAIN", 150)
    monkeypatch.setattr(core.budget, "SAMPLE_TEST", 50)
    frame = pd.read_csv(DEMO_TICKETS)
    frame = frame[frame["category"].isin(sorted(frame["category"].unique())[:8])]
    at = app()
    go(at, "data")
    _upload_and_validate(at, frame.groupby("category").head(60).to_csv(index=False).encode())
    at.button(key="run_baseline").click().run()
    poll(at, lambda a: list(workspace_dir.glob("*/results/*/results.json")), 600, "results")
    result = json.loads(next(workspace_dir.glob("*/results/*/results.json")).read_text())
    assert result["quick"] and result["n_train"] < 200 and result["n_test"] <= 50
    assert "stratified sample" in result["warnings"][0] and "1.6 GB limit" in result["warnings"][0]
    assert result["memory_plan"]["estimate_gb"] > 1.6
    predictions = next(workspace_dir.glob("*/results/*/predictions.csv")).read_text()
    assert len(predictions.splitlines()) == result["n_test"] + 1
    at.run()
    assert any("stratified sample" in w.value for w in at.warning)

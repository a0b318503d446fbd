"""Shared helpers for the app tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import errors
from ui.data_source import demo_path

# The seed's example (an insurer classifying claims at production volume with private data,
# prompting and RAG tried and not good enough): the advisor justifies fine-tuning.
JUSTIFYING = {
    "task_type": "classification",
    "labeled_examples": 5000,
    "stage": "production",
    "data_change": "yearly",
    "tried_prompting": True,
    "tried_rag": True,
    "needs_private_infra": True,
    "needs_strict_format": True,
    "monthly_volume": 20000,
    "human_minutes_per_item": 4.0,
    "total_budget_usd": 150000.0,
    # issue 16: without a bar the small classifier is the cheaper start (measure first); a bar
    # that only fine-tuning is assumed to meet makes fine-tuning the verdict
    "min_accuracy": 0.85,
}


def answer(at: AppTest, answers: dict[str, Any]) -> AppTest:
    """Set questionnaire widgets (keys q_<field>) one at a time, as a user would."""
    for name, value in answers.items():
        key = f"q_{name}"
        if isinstance(value, bool):
            at.toggle(key=key).set_value(value).run()
        elif isinstance(value, str):
            at.selectbox(key=key).set_value(value).run()
        else:
            at.number_input(key=key).set_value(value).run()
        assert not at.exception, at.exception
    return at


PER_CLASS = 24  # 13 queues x 24 = 312 tickets: a held-out split of ~63, seconds to embed


def small_demo() -> bytes:
    """A stratified slice of the demo CSV, for fast real runs."""
    frame = pd.read_csv(demo_path())
    return frame.groupby("category").head(PER_CLASS).to_csv(index=False).encode()


def choose_demo(at: AppTest) -> AppTest:
    """On the Data page: pick the built-in demo (a new project starts with no data chosen)."""
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[0]).run()
    assert not at.exception, at.exception
    return at


def upload_small_demo(at: AppTest) -> AppTest:
    """On the Data page: choose upload, upload `small_demo()` and validate the split."""
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    at.file_uploader(key="upload_train").set_value(("tickets.csv", small_demo(), "text/csv"))
    at.run()
    at.button(key="validate").click().run()
    return at


def poll(at: AppTest, done: Callable[[AppTest], Any], timeout_s: float, what: str) -> AppTest:
    """Rerun the page (as the fragment's run_every would) until done(at) or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
        time.sleep(1.0)
    pytest.fail(f"{what} did not finish within {timeout_s} s; errors: {errors(at)}")


REALISTIC_ROWS, REALISTIC_LABELS = 2000, 8


def realistic_tickets() -> bytes:
    """A file of realistic size, built the same way every time from the shipped demo generator
    (scripts/make_demo_data.py): 2,000 tickets in the generator's 8 most common queues, with
    its channel and ticket-id columns."""
    import collections
    import csv
    import importlib.util
    import io

    from tests.app.conftest import REPO

    path = REPO / "scripts" / "make_demo_data.py"
    spec = importlib.util.spec_from_file_location("make_demo_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.make_rows(4000, seed=18)
    counts = collections.Counter(r["category"] for r in rows)
    keep = {q for q, _ in counts.most_common(REALISTIC_LABELS)}
    rows = [r for r in rows if r["category"] in keep][:REALISTIC_ROWS]
    assert len(rows) == REALISTIC_ROWS, "the generator gave fewer tickets than asked"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()

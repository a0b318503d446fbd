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

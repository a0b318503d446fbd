"""The first page stays light (issue 18: "a fresh clone's first page took 137 s"): opening the app
(app.py, its sidebar and the questionnaire) and then the Costs page imports none of the ML stack.
torch alone takes seconds to import on a warm machine and far longer on a fresh clone's cold
file cache; those modules belong to the pages and jobs that use them, imported there lazily.

Each check runs the real app.py through AppTest in a fresh interpreter, because the test process
itself has imported whatever earlier tests needed. Not a timing test: bench/first_page.py
measures the time against a blank Streamlit page.

    .venv/bin/python -m pytest tests/app/test_first_page_light.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.app.conftest import ENTRY, REPO, TIMEOUT

# What none of the questionnaire's or the Costs page's work needs. sklearn and scipy are here
# too: the advisor is pure Python, and each of them costs about a second to import on 2 cores.
HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "faiss",
    "ray",
    "peft",
    "accelerate",
    "sklearn",
    "scipy",
)

# Runs in the child: the first page as a browser's first visit runs it, then the Costs page;
# prints the heavy modules loaded after each (JSON on the last line).
CHILD = """
import json, sys
from streamlit.testing.v1 import AppTest
entry, costs, heavy, timeout = sys.argv[1], sys.argv[2], sys.argv[3].split(","), float(sys.argv[4])
loaded = lambda: sorted(m for m in heavy if m in sys.modules)
at = AppTest.from_file(entry, default_timeout=timeout).run()
out = {"first_page": loaded(), "titles": [[t.value for t in at.title]]}
out["errors"] = [str(e.value) for e in at.exception]
at.switch_page(costs).run()
out["costs"] = loaded()
out["titles"].append([t.value for t in at.title])
out["errors"] += [str(e.value) for e in at.exception]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = {**os.environ, "ADVISOR_WORKSPACE": str(tmp_path_factory.mktemp("ws") / "workspace"),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
    env.pop("PYTHONPATH", None)  # only what app.py puts on the path itself
    costs = "../../pages/costs.py"  # relative to ENTRY's folder, as conftest.go() does
    cmd = [sys.executable, "-c", CHILD, str(ENTRY), costs, ",".join(HEAVY), str(TIMEOUT)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_first_page_renders_without_the_ml_stack(loaded: dict) -> None:
    assert not loaded["errors"], loaded["errors"]
    assert loaded["titles"][0] == ["Should you fine-tune?"]  # the questionnaire really ran
    assert loaded["first_page"] == [], f"the first page imported {loaded['first_page']}"


def test_the_costs_page_renders_without_the_ml_stack(loaded: dict) -> None:
    assert loaded["titles"][1] == ["Costs & ROI"]  # the page really ran
    assert loaded["costs"] == [], f"the Costs page imported {loaded['costs']}"

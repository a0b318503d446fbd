"""The browser test's legibility check flags what a user saw at real sizes: a title cut at the
chart's edge ("ısion matrix"), labels shortened or drawn over each other, a missing label."""

from __future__ import annotations

from tests.app.browser import legibility_problems


def _chart(*texts: tuple[str, float, float, float, float], inside: bool = True) -> dict:
    boxes = [dict(zip(("text", "x0", "x1", "y0", "y1"), t, strict=True)) for t in texts]
    return {"drawn": True, "width": 400.0, "height": 300.0, "inside": inside, "texts": boxes}


def test_a_readable_chart_passes():
    chart = _chart(("Confusion matrix", 0, 120, 0, 14), ("bug_report", 10, 80, 40, 52),
                   ("how_to", 10, 60, 60, 72))  # fmt: skip
    assert legibility_problems(chart, ("Confusion matrix", "bug_report", "how_to")) == []


def test_clipped_shortened_overlapping_and_missing_text_is_flagged():
    chart = _chart(("Confusion matrix", -40, 80, 0, 14), ("login_acc…", 10, 80, 40, 52),
                   ("how_to", 10, 60, 45, 57), inside=False)  # fmt: skip
    problems = " | ".join(legibility_problems(chart, ("billing_refund",)))
    for part in ("cut at the edge: 'Confusion matrix'", "shortened: 'login_acc…'",
                 "overlap: 'login_acc…' and 'how_to'", "missing: 'billing_refund'",
                 "wider than its container"):  # fmt: skip
        assert part in problems, problems
    assert legibility_problems({"drawn": False}) == ["not drawn"]

"""Tiny self-contained SVG charts for the decision memo: it must open offline, in a mail client or
a browser without JavaScript, so no vega runtime. Pure Python; the app's colours
(advisor.text.OPTION_COLORS / SYSTEM_COLORS)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from advisor.text import OPTION_COLORS, SYSTEM_COLORS

PALETTE = ("#1f6f8b", "#e07b39", "#5b8c5a", "#8e6bb5", "#c44e52")
W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 170, 20, 30, 40


def _frame(title: str, body: str, height: int = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="12">'
        f'<text x="{W / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>'
        f"{body}</svg>"
    )


def interval_chart(rows: Sequence[Mapping], key: str, title: str) -> str:
    """One line per system: the interval as a bar, the point as a dot.

    rows: {"system", key, f"{key}_ci95": [lo, hi]}.
    """
    rows = [r for r in rows if r.get(f"{key}_ci95")]
    if not rows:
        return ""
    lo = min(r[f"{key}_ci95"][0] for r in rows)
    hi = max(r[f"{key}_ci95"][1] for r in rows)
    pad = max((hi - lo) * 0.1, 0.01)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
    height = TOP + BOTTOM + 36 * len(rows)
    x = lambda v: LEFT + (v - lo) / (hi - lo) * (W - LEFT - RIGHT)  # noqa: E731
    parts = []
    for i, r in enumerate(rows):
        y = TOP + 18 + 36 * i
        c = SYSTEM_COLORS.get(r.get("key", ""), PALETTE[i % len(PALETTE)])
        a, b = r[f"{key}_ci95"]
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{escape(r["system"])}</text>'
            f'<line x1="{x(a):.1f}" x2="{x(b):.1f}" y1="{y}" y2="{y}" stroke="{c}" '
            f'stroke-width="4"/><circle cx="{x(r[key]):.1f}" cy="{y}" r="6" fill="{c}"/>'
            f'<text x="{x(b) + 6:.1f}" y="{y + 4}">{r[key]:.3f}</text>'
        )
    axis_y = height - BOTTOM + 10
    for t in range(5):
        v = lo + (hi - lo) * t / 4
        parts.append(
            f'<text x="{x(v):.1f}" y="{axis_y + 14}" text-anchor="middle">{v:.2f}</text>'
            f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{TOP}" y2="{axis_y}" stroke="#ddd"/>'
        )
    return _frame(title, "".join(parts), height)


def line_chart(
    series: Mapping[str, Sequence[float]],
    names: Mapping[str, str],
    title: str,
    marker: float | None = None,
    ruled_out: Sequence[str] = (),
) -> str:
    """Cumulative cost lines over months; `marker` draws a dashed vertical line (break-even);
    options in `ruled_out` are dashed and say so in the legend."""
    months = list(series["month"])
    keys = [k for k in series if k != "month"]
    if not months or not keys:
        return ""
    top = max(max(series[k]) for k in keys) or 1.0
    x = lambda m: LEFT + m / (max(months) or 1) * (W - LEFT - RIGHT)  # noqa: E731
    y = lambda v: H - BOTTOM - v / top * (H - TOP - BOTTOM)  # noqa: E731
    parts = []
    for i, k in enumerate(keys):
        c = OPTION_COLORS.get(k, PALETTE[i % len(PALETTE)])
        dash = ' stroke-dasharray="6 4"' if k in ruled_out else ""
        pts = " ".join(f"{x(m):.1f},{y(v):.1f}" for m, v in zip(months, series[k]))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        lx = 10 + i * (W - 10) // len(keys)  # legend in one row under the chart
        name = names.get(k, k) + (" (ruled out)" if k in ruled_out else "")
        parts.append(
            f'<rect x="{lx}" y="{H + 4}" width="10" height="10" fill="{c}"/>'
            f'<text x="{lx + 14}" y="{H + 13}">{escape(name)}</text>'
        )
    for t in range(5):
        v = top * t / 4
        parts.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">${v:,.0f}</text>')
    for m in range(0, int(max(months)) + 1, 12):
        parts.append(f'<text x="{x(m):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{m}</text>')
    parts.append(
        f'<text x="{(LEFT + W) / 2}" y="{H - 8}" text-anchor="middle">months from today</text>'
    )
    if marker is not None:
        parts.append(
            f'<line x1="{x(marker):.1f}" x2="{x(marker):.1f}" y1="{TOP}" y2="{H - BOTTOM}" '
            f'stroke="black" stroke-dasharray="4 4"/><text x="{x(marker) + 4:.1f}" y="{TOP + 10}">'
            f"break-even {marker:.1f} months</text>"
        )
    return _frame(title, "".join(parts), H + 24)

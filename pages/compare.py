"""Compare: the cheap baselines and the trial fine-tune on the same held-out split, a paired
McNemar test, latency and cost per 1,000 predictions, trial cost predicted vs actual, and the
verdict recomputed from the measured accuracy (comparison package): the best cheap baseline is the
small classifier option, kNN stands in for RAG as a proxy. Every option with its measured or
assumed accuracy and cost, the swap point, "measure first", and the decision memo (advisor.memo)
to download; the comparison is saved as comparison.json for `python -m advisor memo --project`.
One line says whether the measured lead is within noise (then the verdict keeps the cheaper
set-up) and whether the verdict holds across the 95% intervals (advisor.noise)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import comparison
from advisor import memo
from advisor.text import OPTION_NAMES, evidence_line, usd
from ui import charts, nav, state, training
from ui.safe import plain
from ui.verdict import (
    months_text,
    show_break_even,
    show_headline,
    show_options,
    show_reasons,
)

nav.require_app()

st.title("Compare on the same held-out split")
s = state.get_state()
project = state.current_project()
choice = s.data
results = project.load_baseline(choice.split_id) if choice.ready else None
baseline_csv = project.baseline_predictions(choice.split_id) if results else None
jobs = training.manager(str(project.runs_dir))
completed = [
    r["run_id"]
    for r in jobs.list_runs()
    if r.get("state") == "completed"
    and jobs.final_metrics(r["run_id"])
    and jobs.final_metrics(r["run_id"]).get("split_id", choice.split_id) == choice.split_id
]
if not (results and baseline_csv):
    st.info("Run the RAG baseline first: the comparison needs its held-out predictions.")
    nav.link("data", "Go to Data & baseline")
    st.stop()
if not completed:
    st.info("No completed fine-tune on this split yet: launch a trial fine-tune.")
    nav.link("fine_tune", "Go to Fine-tune")
    st.stop()

default = completed.index(s.selected_run) if s.selected_run in completed else 0
run_id = st.selectbox("Fine-tune run", completed, index=default, key="cmp_run")
run_dir = Path(project.runs_dir) / run_id
config = training.run_config(run_dir)
answers, assumptions = state.answers(), state.assumptions()
try:
    built = comparison.build(
        results,
        baseline_csv,
        training.with_launch_prediction(jobs.final_metrics(run_id), run_dir),
        run_dir / "predictions.csv",
        config,
        answers,
        assumptions,
    )
except (OSError, ValueError) as exc:
    st.error(f"Cannot compare this run with the baseline: {plain(str(exc))}")
    st.stop()
comp = built.to_dict()
report = comp["report"]
try:
    comparison.save_comparison(comp, project.root)
except OSError as exc:  # the page still shows it; only the CLI memo misses the file
    st.warning(plain(f"Could not save comparison.json: {exc}"))

show_headline(report)  # the verdict first; an override banner follows it
training.show_override_banner(config)
st.markdown(f"**{plain(comp['conclusion'])}**")
if evidence_line(report):  # a lead within noise, and whether the verdict holds across the CIs
    st.markdown(plain(evidence_line(report)))
for warning in comp["warnings"]:
    st.warning(plain(warning))
st.subheader("Every option, with what was measured")
show_options(report, key="compare_options")

st.dataframe(pd.DataFrame(comparison.system_table(comp)), hide_index=True, width="stretch")
left, right = st.columns(2)
first, second = comp["metric_labels"]
left.altair_chart(charts.accuracy_with_ci(comp["systems"], "score", first), width="stretch")
right.altair_chart(charts.accuracy_with_ci(comp["systems"], "second", second), width="stretch")

st.markdown("**Paired test on the same items (McNemar)**")
st.dataframe(pd.DataFrame(comparison.paired_table(comp)), hide_index=True, width="stretch")

trial = comp["trial"]
assumed = comp["assumed_report"]
c1, c2, c3, c4 = st.columns(4)
# Short labels (a tile cuts long ones); what each means is in its help.
c1.metric(
    "Training, predicted",
    "—" if trial["predicted_train_s"] is None else f"{trial['predicted_train_s']:,.0f} s",
    help="The advisor's estimate before launch, for this machine.",
)
c2.metric("Training, actual", "—" if trial["train_s"] is None else f"{trial['train_s']:,.0f} s")
c3.metric(
    "Break-even, assumed",
    months_text(assumed["break_even_months"]),
    help=f"{OPTION_NAMES[assumed['recommendation']]} against today's process, with the "
    "assumed accuracy.",
)
c4.metric(
    "Break-even, measured",
    months_text(report["break_even_months"]),
    help=f"{OPTION_NAMES[report['recommendation']]} against today's process, with the "
    "accuracy measured on your data.",
)
st.caption(
    plain(
        f"Trial compute cost on {trial['device']}: predicted {usd(trial['predicted_usd'], 4)}, "
        f"actual {usd(trial['actual_usd'], 4)} (advisor's hourly price for the device). "
        f"{trial.get('note') or ''}"
    )
)
show_break_even(report)
rows = report["break_even"]["rows"]
headline = rows[0] if rows else None
st.altair_chart(
    charts.cumulative_costs(
        report["series"], headline["expected"] if headline else None,
        [o for o, v in report["options"].items() if v["ruled_out_by"]],
        label=headline["label"] if headline else OPTION_NAMES[report["recommendation"]],
        option=headline["option"] if headline else report["recommendation"],
    ),
    width="stretch",
)  # fmt: skip
show_reasons(report)

sections = memo.sections(report, comp, project.name)
st.subheader("Decision memo")
st.caption(plain(f"It opens with one recommendation: {OPTION_NAMES[report['recommendation']]}."))
d1, d2 = st.columns(2)
d1.download_button(
    "Download memo (Markdown)",
    memo.to_markdown(sections),
    file_name=f"decision-memo-{project.name}.md",
    mime="text/markdown",
    key="memo_md",
)
d2.download_button(
    "Download memo (HTML)",
    memo.to_html(sections),
    file_name=f"decision-memo-{project.name}.html",
    mime="text/html",
    key="memo_html",
)

"""Compare: RAG baseline, linear probe and the trial fine-tune on the same held-out split, a paired
McNemar test, latency and cost per 1,000 predictions, trial cost predicted vs actual, break-even
recomputed from the measured accuracy, and the decision memo to download."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from advisor import estimate
from ui import charts, compare, memo, nav, state, training
from ui.verdict import months_text

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
    comp = compare.build(
        results,
        baseline_csv,
        jobs.final_metrics(run_id),
        run_dir / "predictions.csv",
        config,
        answers,
        assumptions,
    )
except (OSError, ValueError) as exc:
    st.error(f"Cannot compare this run with the baseline: {exc}")
    st.stop()

training.show_override_banner(config)
st.subheader(compare.conclusion(comp))
for warning in comp["warnings"]:
    st.warning(warning)

st.dataframe(pd.DataFrame(compare.system_table(comp)), hide_index=True, width="stretch")
left, right = st.columns(2)
first, second = comp["metric_labels"]
left.altair_chart(charts.accuracy_with_ci(comp["systems"], "score", first), width="stretch")
right.altair_chart(charts.accuracy_with_ci(comp["systems"], "second", second), width="stretch")

st.markdown("**Paired test on the same items (McNemar)**")
st.dataframe(pd.DataFrame(compare.paired_table(comp)), hide_index=True, width="stretch")

trial = comp["trial"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Predicted training time",
    "—" if trial["predicted_train_s"] is None else f"{trial['predicted_train_s']:,.0f} s",
)
c2.metric("Actual training time", "—" if trial["train_s"] is None else f"{trial['train_s']:,.0f} s")
c3.metric("Break-even, assumed accuracy", months_text(comp["roi"]["assumed"]["break_even_months"]))
c4.metric(
    "Break-even, measured accuracy", months_text(comp["roi"]["measured"]["break_even_months"])
)
st.caption(
    f"Trial compute cost on {trial['device']}: predicted {memo.usd(trial['predicted_usd'], 4)}, "
    f"actual {memo.usd(trial['actual_usd'], 4)} (advisor's hourly price for the device)."
)
st.altair_chart(
    charts.cumulative_costs(
        comp["roi"]["measured"]["series"], comp["roi"]["measured"]["break_even_months"]
    ),
    width="stretch",
)

report = estimate(answers, assumptions, measured_accuracy=comp["measured_accuracy"]).to_dict()
sections = memo.sections(comp, report, project.name)
st.subheader("Decision memo")
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

"""The launch side of the Fine-tune page: the gate and why it is locked, the run's settings, the
prediction before launch, where to run, and the Launch button (disabled while a run is going).
The facts (config, prediction, real epochs) come from trainer/outlook.py; nothing here imports
torch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from trainer.outlook import compute_usd, config_defaults, effective_epochs, steps_per_epoch
from ui.safe import plain


def gate_reason(report: Mapping[str, Any]) -> str:
    """Why the advisor does not recommend fine-tuning, in its own words: the answers that rule
    it out, else its first year over the budget, else a cheaper option over the horizon."""
    from advisor.text import OPTION_NAMES, usd

    ft = report["options"]["fine_tune"]
    messages = {r["rule"]: r["message"] for r in report.get("reasons", [])}
    ruled = [messages[n] for n in ft.get("ruled_out_by", []) if n in messages]
    if ruled:
        return "ruled out by your answers: " + " ".join(ruled)
    budget = (report.get("budget") or {}).get("total_budget_usd")
    first = (ft.get("first_year_usd") or {}).get("expected")
    if budget is not None and first is not None and first > budget:
        return (
            f"its first-year spend, {usd(first)}, is over your {usd(budget)} budget "
            f"(short by {usd(first - budget)})"
        )
    rec = report["recommendation"]
    if ft.get("why_not", "").startswith("cheapest"):  # measure first: the advisor's own words
        return ft["why_not"]
    months = report.get("horizon_months")
    cost = lambda o: usd(report["options"][o]["horizon_usd"]["expected"])  # noqa: E731
    return (
        f"{OPTION_NAMES.get(rec, rec)} costs less over {months} months "
        f"({cost(rec)} against {cost('fine_tune')} for fine-tuning)"
    )


def gate(report: Mapping[str, Any], verdict: str, warning: str) -> bool:
    """The gate: True when launching is allowed (the verdict is fine-tuning, or the user
    overrode it, which shows `warning` and keeps the reason in view)."""
    if report["fine_tune_justified"]:
        st.success(f"The advisor's verdict: {verdict}. Fine-tuning is justified.")
        return True
    why = plain(gate_reason(report))
    override = bool(st.session_state.get("gate_override"))
    if override:
        st.warning(
            f"Launch unlocked by your override. The advisor's verdict is **{verdict}**; "
            f"fine-tuning is not recommended: {why}.",
            icon=":material/lock_open:",
        )
    else:
        st.warning(
            f"The advisor's verdict is **{verdict}**. Fine-tuning is not recommended: {why}. "
            "Launching is locked.",
            icon=":material/lock:",
        )
    st.checkbox(
        "Override: I want a trial fine-tune anyway, against the advisor's verdict",
        key="gate_override",
        help="Recorded in the run's config; every result of the run carries a warning.",
    )
    if override:
        st.error(warning, icon=":material/warning:")
    return override


def advanced_settings(n_train: int, batch_size: int, max_steps: int) -> dict[str, Any]:
    """Epochs, learning rate and LoRA rank, folded away with their defaults explained; says how
    many passes the run really makes when max steps stops it first."""
    d = config_defaults()
    per_epoch = steps_per_epoch(n_train, batch_size)
    epochs_asked = float(st.session_state.get("ft_epochs", 3.0))
    real = effective_epochs(
        n_train, {"epochs": epochs_asked, "batch_size": batch_size, "max_steps": max_steps}
    )
    capped = bool(max_steps) and real < epochs_asked
    if capped:  # outside the expander, beside the max steps that cause it
        st.caption(
            f"This run: {max_steps:,} steps of {batch_size:,} = {real:.1f} epochs over "
            f"{n_train:,} training examples; max steps stops it before the {epochs_asked:g} "
            "epochs set under Advanced."
        )
    with st.expander("Advanced: epochs, learning rate, LoRA rank"):
        st.caption(
            "The defaults suit a first trial; change them when the loss curve says so (still "
            "falling at the end: more epochs; jumping around: a lower learning rate)."
        )
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input(
            "Epochs",
            value=3.0,
            step=1.0,
            key="ft_epochs",
            help=f"Passes over the training examples. Default 3: one pass is {per_epoch:,} "
            "steps here; small data sets need a few passes, more risks memorising them. "
            "Max steps, when set, stops earlier.",
        )
        lr = c2.number_input(
            "Learning rate",
            value=d.lr,
            step=1e-4,
            format="%.4f",
            key="ft_lr",
            help=f"Step size for the LoRA adapters. Default {d.lr:g}: LoRA adapters start at "
            f"zero and take larger steps than full fine-tuning (about 2e-5); the "
            f"classification head uses {d.head_lr:g}.",
        )
        lora_r = c3.number_input(
            "LoRA rank",
            value=d.lora_r,
            step=4,
            min_value=1,
            key="ft_lora_r",
            help=f"Width of the low-rank adapters. Default {d.lora_r}: enough for a narrow "
            "task; 4-8 trains fewer weights, 32-64 learns more at a higher cost.",
        )
    return {"epochs": epochs, "lr": lr, "lora_r": int(lora_r)}


def show_prediction(prediction: Mapping[str, Any]) -> None:
    """Predicted time, memory and cost of the trial, shown before launch."""
    if not prediction:
        st.info("No prediction for this base model: its size is not in the trainer's table.")
        return
    sec, mem, usd = prediction["seconds"], prediction["memory_gb"], prediction["usd"]
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Predicted training time",
        f"{sec['expected']:,.0f} s",
        help=f"Range {sec['low']:,.0f} – {sec['high']:,.0f} s on {prediction['device']} for "
        f"{prediction['examples']:,} examples; the trainer re-estimates after its first steps.",
    )
    c2.metric(
        "Predicted memory",
        f"{mem['expected']:.2f} GB",
        help="Weights, optimizer, activations and overhead, from the advisor's memory model.",
    )
    c3.metric(
        "Predicted compute cost",
        f"${compute_usd(sec['expected'], prediction['usd_per_hour']):.4f}",
        help=f"At the advisor's price for '{prediction['gpu']}' "
        f"(range ${usd['low']:.4f} – ${usd['high']:.4f}).",
    )


def launch_button(ready: bool, busy: str | None) -> bool:
    """The Launch button: disabled unless `ready`, and while run `busy` is queued or running
    (one trial at a time: a second click would only queue a duplicate)."""
    if busy:
        st.caption(
            plain(f"Run {busy} is going: cancel it or wait for it before launching another.")
        )
    return st.button(
        "Launch trial fine-tune",
        type="primary",
        disabled=not ready or bool(busy),
        key="ft_launch",
    )


def where_to_run(project: Any, assumptions: Any) -> Any:
    """Where to run: this machine or a Ray cluster at ADDRESS with GPUs of a kind, remembered
    per project.
    Returns a trainer.remote.spec.ClusterSpec, or None for this machine; ValueError (one line
    naming the field) for a bad address or count."""
    from trainer.remote.spec import ClusterSpec

    saved = project.load_cluster()
    options = ["This machine", "Ray cluster"]
    where = st.radio(
        "Where to run",
        options,
        index=1 if saved else 0,
        horizontal=True,
        key="ft_where",
        help="A Ray cluster (a local head, KubeRay or a cloud) runs the same trainer as a Ray "
        "job; its progress, checkpoints and results come back to this project.",
    )
    if where == options[0]:
        if saved:
            project.save_cluster({})
        return None
    kinds = ["any", *(n for n in assumptions.gpu_names() if n != "cpu")]
    c1, c2, c3 = st.columns([3, 1, 2])
    address = c1.text_input(
        "Cluster address",
        value=saved.get("address", "http://127.0.0.1:8265"),
        key="ft_cluster_address",
        help="The Ray dashboard URL (http://HOST:8265) or ray://HOST:10001.",
    )
    gpus = c2.number_input(
        "GPUs",
        min_value=0,
        max_value=64,
        value=int(saved.get("gpus", 1)),
        key="ft_cluster_gpus",
        help="0 runs on the cluster's CPUs; more than 1 runs torchrun on one node.",
    )
    kind = c3.selectbox(
        "GPU type",
        kinds,
        index=kinds.index(saved.get("gpu_type") or "any") if saved.get("gpu_type") in kinds else 0,
        key="ft_cluster_gpu_type",
        help="From the advisor's price table: the pre-launch cost and the run's cost use its $/h.",
    )
    gpu = "" if kind == "any" else kind
    priced = gpu if gpus else "cpu"  # "any" GPU has no price
    price = assumptions.gpu(priced).usd_per_hour.expected if priced else None
    spec = ClusterSpec(address=address, gpus=int(gpus), gpu_type=gpu, price_per_hour=price)
    if spec.to_dict() != saved:
        project.save_cluster(spec.to_dict())
    return spec

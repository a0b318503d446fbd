"""Small things seen in use: the confusion matrix shows counts and whole labels; an items/s
figure says what it measures."""

from __future__ import annotations

from pathlib import Path

from ui.baseline import serving_speed_text
from ui.charts import confusion_heatmap


def test_confusion_matrix_writes_counts_and_keeps_long_labels_whole():
    labels = ["billing_refund_and_invoices", "integrations_api", "login_access"]
    matrix = [[5, 1, 0], [0, 7, 2], [1, 0, 9]]
    spec = confusion_heatmap({"labels": labels, "matrix": matrix}).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
             for layer in spec["layer"]]  # fmt: skip
    assert marks == ["rect", "text"]
    text_layer = spec["layer"][1]
    assert text_layer["encoding"]["text"]["field"] == "count"
    for layer in spec["layer"]:  # neither axis truncates a label, in either layer
        encoding = {**spec.get("encoding", {}), **layer.get("encoding", {})}
        assert encoding["x"]["axis"]["labelLimit"] == 0 and encoding["y"]["axis"]["labelLimit"] == 0
    values = spec["datasets"][next(iter(spec["datasets"]))]
    assert {(v["gold"], v["predicted"], v["count"]) for v in values} >= {
        ("billing_refund_and_invoices", "billing_refund_and_invoices", 5)
    }


def test_items_per_second_is_explained():
    text = serving_speed_text({"items_per_s": 9.2, "latency_ms_per_item": 31.0})
    assert text.startswith("Answers 9 new texts per second on this machine (108.7 ms each)")
    assert "end to end from raw text" in text and "one text at a time: 31.0 ms" in text
    assert serving_speed_text({}) == ""


# --- charts at real sizes: sized from the label count and the value range -----------------------

IT_QUEUES = ["Hardware", "HR Support", "Access", "Miscellaneous", "Storage", "Purchase",
             "Internal Project", "Administrative rights"]  # fmt: skip
INTENTS = [f"balance_not_updated_after_bank_transfer_{i}" for i in range(40)]


def _matrix(n: int) -> list[list[int]]:
    return [[40 if i == j else (i + j) % 3 for j in range(n)] for i in range(n)]


def test_confusion_layout_gives_every_row_room_for_its_label():
    from ui.charts import confusion_layout

    eight, forty = confusion_layout(IT_QUEUES), confusion_layout(INTENTS)
    assert eight == {"cell": 36, "size": 288, "font": 11, "x_angle": -40, "counts": True}
    assert forty == {"cell": 16, "size": 640, "font": 9, "x_angle": -90, "counts": False}
    for layout in (eight, forty):  # a row is taller than a label line: none dropped, none squashed
        assert layout["cell"] >= layout["font"] + 4


def test_confusion_chart_is_its_computed_size_with_every_label_whole():
    from ui.charts import confusion_heatmap, confusion_layout

    for labels in (IT_QUEUES, INTENTS):
        spec = confusion_heatmap(
            {"labels": labels, "matrix": _matrix(len(labels))}, "kNN"
        ).to_dict()
        size = confusion_layout(labels)["size"]
        assert spec["width"] == spec["height"] == size
        assert spec["autosize"]["type"] == "pad"  # labels around the plot, not squeezed into it
        assert spec["title"]["text"] == "Confusion matrix" and spec["title"]["anchor"] == "start"
        assert "kNN" in spec["title"]["subtitle"]
        for layer in spec["layer"]:
            for channel in ("x", "y"):
                enc = layer["encoding"][channel]
                assert enc["sort"] == labels  # every label has its row and column
                axis = enc["axis"]
                assert axis["labelOverlap"] is False and axis["labelLimit"] == 0
                assert axis["labelFlush"] is False


def _series(today_per_month: float) -> dict[str, list[float]]:
    months = list(range(37))
    return {
        "month": months,
        "human": [today_per_month * m for m in months],
        "prompting": [2_000 + 9_000 * m for m in months],
        "rag": [15_000 + 8_000 * m for m in months],
        "fine_tune": [40_000 + 4_000 * m for m in months],
    }


def test_cost_scale_turns_logarithmic_where_one_option_dwarfs_the_rest():
    from ui.charts import cost_scale

    dwarfed = cost_scale(_series(150_000))  # $5.4M over 36 months against ~$0.2-0.3M
    assert dwarfed["type"] == "log" and dwarfed["spread"] > 8 and "log" in dwarfed["title"]
    close = cost_scale(_series(10_000))  # $360k against the same options: linear reads well
    assert close["type"] == "linear" and close["spread"] < 8


def test_cumulative_chart_uses_the_scale_and_keeps_the_break_even_label_off_the_lines():
    from ui.charts import COST_PLOT_PX, cumulative_costs

    spec = cumulative_costs(_series(150_000), 0.3).to_dict()
    lines, text = spec["layer"][0], spec["layer"][-1]
    assert lines["encoding"]["y"]["scale"]["type"] == "log"
    values = spec["datasets"][lines["data"]["name"]]
    assert all(v["usd"] > 0 for v in values)  # a log axis has no zero
    assert text["mark"]["type"] == "text" and text["encoding"]["y"] == {"value": -8}  # above
    assert spec["height"] == COST_PLOT_PX and spec["autosize"]["type"] == "fit-x"
    linear = cumulative_costs(_series(10_000), None).to_dict()
    assert linear["encoding"]["y"]["scale"] == {"zero": True} and linear["height"] == COST_PLOT_PX


def test_tornado_wraps_long_assumption_names_instead_of_cutting_them():
    from ui.charts import TORNADO_WRAP, sensitivity_tornado

    long = "Engineering weeks, first project (a model under 1B: an encoder or small LLM)"
    spec = sensitivity_tornado(
        [{"label": long, "low": 2.0, "high": 9.0}, {"label": "Hours", "low": 1.0, "high": 3.0}], 4.0
    ).to_dict()
    y = spec["layer"][0]["encoding"]["y"]
    assert y["axis"]["labelLimit"] == 0  # nothing cut with an ellipsis
    assert "split(" in y["axis"]["labelExpr"]
    rows = [r["row"] for r in next(iter(spec["datasets"].values()))]
    assert rows[0].replace("\n", " ") == long  # every word kept
    assert all(len(line) <= TORNADO_WRAP for line in rows[0].split("\n"))
    assert spec["height"]["step"] >= 14 * rows[0].count("\n") + 14  # room for each line


def test_pinned_script_folder_makes_streamlits_per_run_path_edit_a_no_op(tmp_path):
    """A later run neither adds nor removes sys.path entries (a job thread importing meanwhile
    walks a list that does not shift under it)."""
    import sys

    from streamlit.runtime.scriptrunner.exec_code import modified_sys_path

    from ui.nav import _PINNED, pin_script_folder

    script = str(tmp_path / "main.py")
    Path(script).write_text("")
    saved = list(sys.path)
    try:
        with modified_sys_path(script):  # the first run: Streamlit adds the folder
            pin_script_folder(script)
            pin_script_folder(script)  # every run calls it; one pin is enough
        pinned = list(sys.path)
        assert pinned.count(str(Path(script).parent)) == 1
        with modified_sys_path(script):  # a later run
            assert sys.path == pinned
        assert sys.path == pinned
    finally:
        sys.path[:] = saved
        _PINNED.discard(str(Path(script).parent))

"""Small things seen in use: the confusion matrix shows counts and whole labels; an items/s
figure says what it measures."""

from __future__ import annotations

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

from __future__ import annotations

import re

import pytest

from advisor import Assumptions, load_assumptions
from advisor.figures import USER_SOURCE

SEED = "Product spec article: 'When to fine-tune' (seed)"


def test_every_figure_has_unit_source_and_date(assumptions):
    assert len(assumptions.keys()) > 50
    for key in assumptions.keys():
        fig = assumptions[key]
        assert fig.unit and fig.source and fig.label, key
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", fig.as_of), key


def test_seed_figures_are_the_articles(assumptions):
    def lh(key):
        f = assumptions[key]
        return (f.low, f.high)

    assert lh("seed.data_preparation_usd") == (5000, 20000)
    assert lh("seed.compute_usd") == (100, 10000)
    assert lh("seed.engineering_first_project_usd") == (20000, 100000)
    assert lh("seed.first_iteration_usd") == (5000, 50000)
    assert lh("seed.break_even_months") == (6, 12)
    assert assumptions.value("seed.managed_usd_per_training_hour") == 8
    assert assumptions.value("seed.budget_floor_usd") == 10000
    assert assumptions.items("seed.fine_tuning_types") == ("instruction", "domain", "style")
    for key in assumptions.keys():
        if key.startswith("seed."):
            assert assumptions[key].source == SEED and assumptions[key].as_of == "2026-11"


def test_gpu_table(assumptions):
    assert set(assumptions.gpu_names()) == {
        "H100-80GB", "A100-80GB", "A100-40GB", "L40S", "L4", "A10G", "T4", "cpu"
    }  # fmt: skip
    assert assumptions.gpu("T4").peak_flops == 65e12
    assert assumptions.gpu("H100-80GB").memory_gb == 80
    assert assumptions.gpu("A100-40GB").memory_gb == 40
    assert assumptions.gpu("cpu").mfu is not None
    for name in assumptions.gpu_names():
        g = assumptions.gpu(name)
        assert g.peak_flops > 0 and g.memory_gb > 0 and g.usd_per_hour.expected > 0
    with pytest.raises(ValueError, match="^gpu: 'B200' is not in the price table; allowed: H100"):
        assumptions.gpu("B200")


def test_default_ranges_are_ordered(assumptions):
    for key in assumptions.keys():
        f = assumptions[key]
        if not f.is_list:
            assert 0 <= f.low <= f.expected <= f.high, key


def test_overrides_dotted_nested_and_field(assumptions):
    a = assumptions.with_overrides(
        {
            "gpu.H100-80GB.usd_per_hour": 2.4,
            "compute": {"mfu": {"low": 0.3, "expected": 0.4, "high": 0.45}},
            "accuracy.classification.rag.expected": 0.9,
        }
    )
    assert a.range("gpu.H100-80GB.usd_per_hour").to_dict() == {
        "low": 2.4, "expected": 2.4, "high": 2.4
    }  # fmt: skip
    assert a.range("compute.mfu").expected == 0.4
    rag = a["accuracy.classification.rag"]
    assert rag.expected == 0.9 and rag.low == assumptions["accuracy.classification.rag"].low
    assert a["compute.mfu"].source == USER_SOURCE
    # Untouched figures keep their source; the original object is unchanged.
    assert a["seed.compute_usd"] == assumptions["seed.compute_usd"]
    assert assumptions.range("compute.mfu").expected == 0.35


def test_expected_outside_range_widens_it(assumptions):
    a = assumptions.with_overrides({"compute.mfu": {"expected": 0.7}})
    assert (a["compute.mfu"].expected, a["compute.mfu"].high) == (0.7, 0.7)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"compute.nonsense": 1}, "^compute.nonsense: unknown assumption"),
        ({"compute": {"mfu": {"median": 0.3}}}, "^compute.mfu.median: cannot be overridden"),
        ({"compute.mfu": 1.5}, "^compute.mfu: low must be <= 1"),
        ({"compute.mfu": {"low": 0.5, "expected": 0.4, "high": 0.6}}, "^compute.mfu: needs low"),
        ({"data_prep.hourly_rate_usd": -1}, "^data_prep.hourly_rate_usd: low must be >= 0"),
        ({"gpu.T4.peak_tflops": 0}, "^gpu.T4.peak_tflops: low must be > 0"),
        ({"compute.mfu": "high"}, "^compute.mfu: must be a finite number"),
        ({"compute.mfu": ["a"]}, "^compute.mfu: expects a number"),
        ({"rules.narrow_tasks": 3}, "^rules.narrow_tasks: expects a list"),
        ({"rules.narrow_tasks": ["poetry"]}, "^rules.narrow_tasks: 'poetry' is not allowed"),
        ({"gpu.MI300X.peak_tflops": 1300}, "^gpu.MI300X: missing memory_gb"),
    ],
)
def test_bad_overrides_name_the_key(assumptions, overrides, message):
    with pytest.raises(ValueError, match=message):
        assumptions.with_overrides(overrides)


def test_new_gpu(assumptions):
    a = assumptions.with_overrides(
        {"gpu": {"MI300X": {"peak_tflops": 1307, "memory_gb": 192, "usd_per_hour": 3.5}}}
    )
    assert "MI300X" in a.gpu_names()
    assert a.gpu("MI300X").memory_gb == 192
    assert a["gpu.MI300X.usd_per_hour"].source == USER_SOURCE


def test_dict_round_trip(assumptions):
    changed = assumptions.with_overrides(
        {"gpu.L4.usd_per_hour": 0.6, "gpu.X1.peak_tflops": 10, "gpu.X1.memory_gb": 8,
         "gpu.X1.usd_per_hour": 0.2}
    )  # fmt: skip
    assert Assumptions.from_dict(changed.to_dict()) == changed
    assert Assumptions.from_dict(assumptions.to_dict()) == assumptions
    with pytest.raises(ValueError, match="^compute.mfu: unit"):
        Assumptions.from_dict({"compute.mfu": {"unit": "percent", "expected": 40}})


def test_user_toml_overrides_only_some_keys(tmp_path, assumptions):
    path = tmp_path / "mine.toml"
    path.write_text('[gpu.A100-80GB.usd_per_hour]\nexpected = 1.5\nsource = "Our quote"\n')
    a = load_assumptions(path)
    fig = a["gpu.A100-80GB.usd_per_hour"]
    assert (fig.expected, fig.source) == (1.5, "Our quote")
    assert a["gpu.A100-80GB.usd_per_hour"].low == assumptions["gpu.A100-80GB.usd_per_hour"].low
    assert {k for k in a.keys() if a[k] != assumptions[k]} == {"gpu.A100-80GB.usd_per_hour"}


def test_toml_round_trip_of_changes(tmp_path, assumptions):
    changed = assumptions.with_overrides({"compute.mfu": 0.42, "rules.narrow_tasks": ["style"]})
    path = tmp_path / "changes.toml"
    path.write_text(changed.to_toml(only_changed_from=assumptions))
    assert load_assumptions(path) == changed
    full = tmp_path / "full.toml"
    full.write_text(changed.to_toml())
    assert load_assumptions(full) == changed


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "assumptions file not found"),
        ("[compute.mfu\n", "not valid TOML"),
        ("[compute.mfu]\nexpected = -1\n", "compute.mfu"),
        ("[gpu.T4.speed]\nvalue = 3\n", "gpu.T4.speed: unknown assumption"),
    ],
)
def test_bad_user_files(tmp_path, content, message):
    path = tmp_path / "a.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_assumptions(path)


def test_rows_for_the_editor(assumptions):
    rows = assumptions.rows()
    assert len(rows) == len(assumptions.keys())
    row = next(r for r in rows if r["key"] == "compute.mfu")
    assert {"label", "unit", "low", "expected", "high", "source", "as_of"} <= set(row)


def test_user_file_with_a_toml_date(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[gpu.L4.usd_per_hour]\nvalue = 0.6\nsource = "Quote"\nas_of = 2026-10-01\n')
    fig = load_assumptions(path)["gpu.L4.usd_per_hour"]
    assert (fig.expected, fig.as_of) == (0.6, "2026-10-01")

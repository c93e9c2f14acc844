"""Grid sweeps (tdacore.evaluation.sweeps): one setting's values expanded into named readings."""

import pytest

from tdacore.evaluation.sweeps import grid_readings


def test_a_ridge_grid_names_one_reading_per_value_and_keeps_the_base_reading_for_its_own_value():
    readings = grid_readings(
        "trak_ridge", {"reading": "trak", "ridge_relative": [0, 0.01, 0.3]}, lambda path, value: value == 0
    )
    assert readings == [
        ("trak", None, "ridge_relative=0"),
        ("trak_ridge_relative0p01", {"ridge_relative": 0.01}, "ridge_relative=0.01"),
        ("trak_ridge_relative0p3", {"ridge_relative": 0.3}, "ridge_relative=0.3"),
    ]


def test_an_influence_grid_overrides_the_nested_setting():
    seen = []
    points = {"naive": {"I": [1, 3]}}  # the new readings' own grid
    readings = grid_readings(
        "if_damping",
        {"reading": "if_halves", "influence": {"damping": [0.01, 0.1, 1.0]}, "ensembles": points},
        lambda path, value: seen.append(path) or value == 0.1,
    )
    assert seen == [("influence", "damping")] * 3
    assert readings == [
        ("if_halves_damping0p01", {"ensembles": points, "influence": {"damping": 0.01}}, "damping=0.01"),
        ("if_halves", None, "damping=0.1"),
        ("if_halves_damping1", {"ensembles": points, "influence": {"damping": 1.0}}, "damping=1"),
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"reading": "trak", "ridge": [0.1], "ridge_relative": [0, 1]}, "exactly one setting"),
        ({"reading": "trak", "ridge_relative": [0.1]}, "at least 2 values"),
        ({"reading": "trak", "ridge_relative": 0.1}, "exactly one setting with a list"),
        ({"reading": "trak", "ridge_relative": [0.1, 0.1]}, "repeats a value"),
    ],
)
def test_a_malformed_grid_is_named(spec, message):
    with pytest.raises(ValueError, match=f"sweeps.s: .*{message}"):
        grid_readings("s", spec, lambda path, value: False)

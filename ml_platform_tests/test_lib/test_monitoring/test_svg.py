"""The standalone horizontal bar chart (the model's feature importance artifact)."""

import xml.etree.ElementTree as ET

from ml_platform.lib.monitoring.svg import horizontal_bars

NS = "{http://www.w3.org/2000/svg}"


def test_one_labelled_bar_per_value_scaled_to_the_largest() -> None:
    svg = horizontal_bars("Importance <gain>", ["a&b", "c", "d"], [4.0, 2.0, -1.0])

    root = ET.fromstring(svg)  # well-formed, escaped, a namespaced document of its own
    assert root.tag == f"{NS}svg"
    bars = [r for r in root.iter(f"{NS}rect") if r.get("height") != "100%"]
    widths = [float(r.get("width", "nan")) for r in bars]
    assert widths[0] > 0 and widths[1] == widths[0] / 2 and widths[2] == 0.0
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert texts[0] == "Importance <gain>"
    assert ["a&b", "4", "c", "2", "d", "-1"] == texts[1:]


def test_no_values_is_an_empty_chart() -> None:
    root = ET.fromstring(horizontal_bars("empty", [], []))
    assert [t.text for t in root.iter(f"{NS}text")] == ["empty"]

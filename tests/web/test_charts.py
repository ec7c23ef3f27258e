"""Axis labels of the usage charts."""

from gateway.web.charts import Series, bar_chart


def tick_labels(values: list[float]) -> list[str]:
    chart = bar_chart(
        "Requests", [f"d{i}" for i in range(len(values))], [Series("n", values, "bar")]
    )
    return [label for _, label in chart.y_ticks]


def test_a_single_request_gets_distinct_axis_labels():
    assert tick_labels([0, 1]) == ["0", "1"]


def test_larger_counts_keep_a_middle_tick():
    assert tick_labels([3, 7]) == ["0", "5", "10"]
    assert tick_labels([120]) == ["0", "100", "200"]

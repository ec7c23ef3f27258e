"""Bar charts as plain geometry for an inline <svg> in a template (no chart library)."""

from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 24
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    empty: bool = True


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    css: str
    unit: str = ""


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= step * factor:
            return step * factor
    return step * 10


def _format(value: float) -> str:
    return f"{value:,.0f}"


def bar_chart(title: str, labels: list[str], series: list[Series]) -> Chart:
    """Bars per label; later series are drawn over earlier ones (e.g. errors over requests)."""
    chart = Chart(title=title)
    values = [v for s in series for v in s.values if v]
    top = _nice_max(max(values, default=0))
    plot_height = chart.baseline - TOP
    slot = (chart.right_edge - LEFT) / max(len(labels), 1)
    width = max(slot * 0.7, 1)
    for s in series:
        for index, value in enumerate(s.values):
            if not value:
                continue
            height = plot_height * value / top
            x = LEFT + index * slot + (slot - width) / 2
            tip = f"{labels[index]}: {_format(value)}{s.unit} {s.name}"
            chart.bars.append(Bar(x, chart.baseline - height, width, height, s.css, tip))
    chart.empty = not chart.bars
    # Half of an axis of 1 would be labelled "0" twice; only whole values get a tick.
    chart.y_ticks = [
        (chart.baseline - plot_height * fraction, _format(top * fraction))
        for fraction in (0, 0.5, 1)
        if float(top * fraction).is_integer()
    ]
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    chart.x_labels = [
        (LEFT + index * slot + slot / 2, label)
        for index, label in enumerate(labels)
        if index % every == 0
    ]
    return chart

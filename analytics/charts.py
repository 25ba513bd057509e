"""Server-rendered SVG charts: the geometry here, the drawing in the template (no script)."""

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 600, 160, 30, 16, 8


def _scale(peak: float) -> float:
    return (HEIGHT - BOTTOM - TOP) / peak if peak else 0.0


def bars(series: list[dict], names: tuple[str, str]) -> dict:
    """Two bars per period (e.g. created and solved)."""
    count = max(1, len(series))
    step = (WIDTH - LEFT) / count
    width = max(1.0, min(14.0, step / 2 - 1))
    peak = max([row["figures"][name] or 0 for row in series for name in names] or [0])
    scale = _scale(peak)
    shown = []
    for index, row in enumerate(series):
        x = LEFT + index * step
        pair = []
        for offset, name in enumerate(names):
            value = row["figures"][name] or 0
            height = value * scale
            pair.append(
                {
                    "name": name,
                    "value": value,
                    "x": round(x + offset * (width + 1), 1),
                    "y": round(HEIGHT - BOTTOM - height, 1),
                    "h": round(height, 1),
                }
            )
        shown.append(
            {
                "period": row["period"],
                "bars": pair,
                "label_x": round(x + width, 1),
                "label": index % max(1, count // 10) == 0,
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bar_width": round(width, 1),
        "periods": shown,
        "peak": peak,
        "label_y": HEIGHT - 4,
        "axis_y": HEIGHT - BOTTOM,
    }


def line(series: list[dict], pick) -> dict:
    """One line over the periods; `pick(figures)` gives the value (None leaves a gap)."""
    count = max(1, len(series))
    step = (WIDTH - LEFT) / max(1, count - 1) if count > 1 else 0
    values = [pick(row["figures"]) for row in series]
    peak = max([v for v in values if v is not None] or [0])
    scale = _scale(peak)
    points, segments, current = [], [], []
    for index, (row, value) in enumerate(zip(series, values, strict=True)):
        x = round(LEFT + index * step, 1)
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = round(HEIGHT - BOTTOM - value * scale, 1)
        points.append({"x": x, "y": y, "value": value, "period": row["period"]})
        current.append(f"{x},{y}")
    if current:
        segments.append(current)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "points": points,
        "peak": peak,
        "paths": [" ".join(segment) for segment in segments],
        "axis_y": HEIGHT - BOTTOM,
        "label_y": HEIGHT - 4,
    }

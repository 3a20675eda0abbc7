"""Charts as inline SVG strings, generated in Python (no JavaScript, no external files).

Every text that comes from data is escaped; the result is ``Markup`` so that the
autoescaping template embeds it as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

FONT = "font-family='system-ui, sans-serif'"
PALETTE = ("#1b6ca8", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51")


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}' {FONT}>"
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def funnel_chart(title: str, stages: Sequence[tuple[str, int]], width: int = 640) -> Markup:
    """Centered bars, one per stage, as wide as the number that reached the stage."""
    row, gap = 40, 6
    height = len(stages) * (row + gap) + 10
    top = max((v for _, v in stages), default=0) or 1
    body = []
    for i, (label, value) in enumerate(stages):
        w = max(2.0, (width - 20) * value / top)
        x, y = (width - w) / 2, 5 + i * (row + gap)
        colour = PALETTE[i % len(PALETTE)]
        body.append(
            f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row}' rx='4' fill='{colour}'>"
            f"<title>{escape(label)}: {value}</title></rect>"
            f"<text x='{width / 2:.1f}' y='{y + row / 2 + 5:.1f}' text-anchor='middle' "
            f"font-size='14' fill='#111'>{escape(label)}: {value}</text>"
        )
    return _svg(width, height, title, body)


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float]],
    width: int = 640,
    colour: str = "#1b6ca8",
    label_width: int = 240,
) -> Markup:
    """Horizontal bars with a label on the left and the value on the right."""
    row = 24
    height = max(1, len(items)) * row + 10
    top = max((v for _, v in items), default=0) or 1
    span = width - label_width - 60
    body = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = max(1.0, span * float(value) / float(top))
        # ~7 px per character at 12 px: 30 characters fit the label area without clipping
        short = label if len(label) <= 30 else label[:29] + "…"
        body.append(
            f"<text x='{label_width - 6}' y='{y + 16}' text-anchor='end' font-size='12'>"
            f"{escape(short)}<title>{escape(label)}</title></text>"
            f"<rect x='{label_width}' y='{y + 3}' width='{w:.1f}' height='{row - 6}' "
            f"fill='{colour}'/>"
            f"<text x='{label_width + w + 4:.1f}' y='{y + 16}' font-size='12'>"
            f"{_num(float(value))}</text>"
        )
    return _svg(width, height, title, body)


def breakdown_chart(
    title: str,
    items: Sequence[tuple[str, float, float, float]],
    legend: tuple[str, str, str],
    width: int = 720,
    label_width: int = 260,
) -> Markup:
    """Per indicator: the maximum (light), the claimed and the verified points."""
    row = 22
    height = len(items) * row + 40
    top = max((m for *_, m in items), default=0) or 1
    span = width - label_width - 70
    body = []
    for i, (text, colour) in enumerate(zip(legend, ("#dfe7ef", "#9cc3e0", "#1b6ca8"), strict=True)):
        x = label_width + i * 150
        body.append(
            f"<rect x='{x}' y='6' width='12' height='12' fill='{colour}'/>"
            f"<text x='{x + 16}' y='16' font-size='12'>{escape(text)}</text>"
        )
    for i, (label, claimed, verified, maximum) in enumerate(items):
        y = 30 + i * row
        short = label if len(label) <= 38 else label[:37] + "…"

        def bar(value: float, colour: str, inset: int, y: int = y) -> str:
            w = max(0.0, span * float(value) / float(top))
            return (
                f"<rect x='{label_width}' y='{y + inset}' width='{w:.1f}' "
                f"height='{row - 2 * inset - 4}' fill='{colour}'/>"
            )

        body.append(
            f"<text x='{label_width - 6}' y='{y + 13}' text-anchor='end' font-size='11'>"
            f"{escape(short)}<title>{escape(label)}</title></text>"
            + bar(maximum, "#dfe7ef", 0)
            + bar(claimed, "#9cc3e0", 2)
            + bar(verified, "#1b6ca8", 5)
            + f"<text x='{label_width + span + 6}' y='{y + 13}' font-size='11'>"
            f"{float(verified):.2f} / {float(claimed):.2f}</text>"
        )
    return _svg(width, height, title, body)


def grid_chart(
    title: str,
    cells: Sequence[tuple[str, str, str]],
    colours: dict[str, str],
    legend: dict[str, str],
    width: int = 720,
) -> Markup:
    """A grid of units, one square each, coloured by status (code in the square)."""
    size, gap = 64, 6
    per_row = max(1, (width - gap) // (size + gap))
    rows = (len(cells) + per_row - 1) // per_row
    legend_h = 26
    height = legend_h + rows * (size + gap) + gap
    body = []
    for i, (status, text) in enumerate(legend.items()):
        x = gap + i * 140
        body.append(
            f"<rect x='{x}' y='6' width='14' height='14' fill='{colours[status]}'/>"
            f"<text x='{x + 18}' y='18' font-size='12'>{escape(text)}</text>"
        )
    for i, (code, name, status) in enumerate(cells):
        x = gap + (i % per_row) * (size + gap)
        y = legend_h + gap + (i // per_row) * (size + gap)
        short = code if len(code) <= 9 else code[:8] + "…"
        body.append(
            f"<g><title>{escape(code)}: {escape(name)} ({escape(legend.get(status, status))})"
            f"</title><rect x='{x}' y='{y}' width='{size}' height='{size}' rx='6' "
            f"fill='{colours.get(status, '#999')}'/>"
            f"<text x='{x + size / 2}' y='{y + size / 2 + 4}' text-anchor='middle' "
            f"font-size='10' fill='#111'>{escape(short)}</text></g>"
        )
    return _svg(width, height, title, body)

"""What every planner figure shares: colours, fonts, the layout with title, axis titles and a
legend, and `plain`, which makes user text inert inside a figure."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

COLORS = {
    "remaining": "#2f5fd0",
    "ideal": "#8a93a3",
    "scope": "#b45309",
    "done": "#1b7f4b",
    "committed": "#9db2e8",
    "completed": "#2f5fd0",
    "average": "#b42318",
    "capacity": "#9db2e8",
    "needed": "#2f5fd0",
    "over": "#b42318",
    "todo": "#c9ced8",
    "in_progress": "#7ea0e6",
    "review": "#b795e0",
    "done_area": "#5fb98a",
}
STAGE_COLORS = [
    "#7c5cc4",
    "#2f7fc1",
    "#c2571a",
    "#1d8a7a",
    "#2f5fd0",
    "#a2368a",
    "#3d7a2a",
    "#6b6f2a",
    "#8a5a44",
    "#4a6278",
]
START = "Start"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}


def plain(text: str) -> str:
    """User text made inert for a figure: Plotly renders a subset of HTML (links, bold, line
    breaks) in titles, legends, ticks and hover text, so <, > and & become entities, which it
    shows as the characters they stand for."""
    return html.escape(text, quote=False)


def wrap_label(text: str, width: int = 24) -> str:
    """Break a long category label into lines (Plotly reads <br>) so bars keep their room."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def day_label(day: date) -> str:
    """Mon 2 Mar."""
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"


def _layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout = {
        "title": {
            "text": title,
            "x": 0,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
            "font": {"size": 16},
        },
        "font": FONT,
        "margin": {"l": 56, "r": 16, "t": 84, "b": 56},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {
            "title": {"text": y_title},
            "rangemode": "tozero",
            "automargin": True,
            "zeroline": True,
        },
        # Under the title, clear of the x axis and its turned labels.
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        "hovermode": "x unified",
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "height": 380,
    }
    layout.update(extra)
    return layout


def say_empty(layout: dict[str, Any], text: str) -> dict[str, Any]:
    """A chart with nothing to draw says why, in the middle of its frame, its axes kept (a
    frame with no mark and no word reads as broken). `text` is planner's own words (<br> breaks
    a line)."""
    layout["annotations"] = [
        {
            "text": text,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "showarrow": False,
            "font": {"size": 14},
        }
    ]
    layout["yaxis"] = {**layout["yaxis"], "range": [0, 1]}
    return layout


def _unit_label(unit: str) -> str:
    return "Stories" if unit == "stories" else "Points"

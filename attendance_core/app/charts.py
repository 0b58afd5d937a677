"""Charts the dashboard shows, drawn with matplotlib into PNG bytes (no widgets: tested headless)."""
from __future__ import annotations

import io


def _literal(text) -> str:
    """``text`` shown as typed by matplotlib: a ``$`` would otherwise start mathtext (and fail on a name
    such as ``Bad$\\frac$``)."""
    return str(text).replace("$", r"\$")


def rates_chart(summary, title: str = "") -> bytes:
    """PNG bytes of a horizontal bar chart of attendance rate per student, from a records report summary."""
    from matplotlib.figure import Figure

    names = [_literal(n) for n in summary["name"]]
    percent = [float(r) * 100 for r in summary["rate"].fillna(0)]  # the report's rate is 0-1
    fig = Figure(figsize=(6, 0.4 * max(3, len(names)) + 1), dpi=100)
    ax = fig.add_subplot()
    # By position, not by name: two students with the same name keep a bar each.
    ax.barh(range(len(names)), percent[::-1], color="#2a9d4a")
    ax.set_yticks(range(len(names)), names[::-1])
    ax.set_xlim(0, 100)
    ax.set_xlabel("attendance (%)")
    if title:
        ax.set_title(_literal(title))
    for y, value in enumerate(percent[::-1]):
        ax.text(min(value + 1, 90), y, f"{value:.0f}%", va="center", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

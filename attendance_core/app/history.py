"""The History tab: the class's saved sessions and a chart of each student's attendance rate."""
from __future__ import annotations

import html

import ipywidgets as w

from . import accessible
from .charts import rates_chart
from .common import MessageBar, TabView, image_html, reports_errors
from .state import DashboardState


class HistoryView(TabView):
    """Past sessions of the class and a chart of each student's attendance rate."""

    title = "History"

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._loaded = False
        self._build()
        self._wire()

    def _build(self) -> None:
        self._refresh_button = w.Button(description="Refresh", icon="refresh")
        self._table = w.HTML("<i>Open this tab to see the saved sessions.</i>", layout=w.Layout(max_width="100%"))
        self._table.add_class("sa-history")
        self._chart = w.HTML()
        self._chart.add_class("sa-history-chart-view")
        self.widget = w.VBox([self._refresh_button, self._table, self._chart])

    def _wire(self) -> None:
        self._refresh_button.on_click(lambda _: self.refresh())
        self._state.observe(lambda _: self._loaded and self.refresh(), ["history_version", "class_name"])

    @reports_errors
    def refresh(self) -> None:
        """Read the sessions and rates from the records again."""
        self._loaded = True
        sessions = self._state.history()
        if sessions is None or len(sessions) == 0:
            self._table.value = f"<p>No session of {html.escape(self._state.class_name)} saved yet.</p>"
            self._chart.value = ""
            self._chart.layout.display = "none"
            return
        shown = sessions.rename(columns={"id": "session", "taken_at": "date and time", "unknown_faces": "unknown faces",
                                         "marked_by": "marked by"})
        self._table.value = (f"<h3>Sessions of {html.escape(self._state.class_name)}</h3>"
                             '<div class="sa-history-wrap">'
                             + shown.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.2f}") + "</div>")
        summary = self._state.attendance_rates()
        title = f"Attendance rate per student, {self._state.class_name}"
        alternative = accessible.chart_alt(title, summary["name"], summary["rate"])
        self._chart.value = image_html(rates_chart(summary, title), alternative, "sa-history-chart", "png")
        self._chart.layout.display = None



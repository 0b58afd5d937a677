"""The dashboard page: the message bar and the tabs, each tab a view of its own module.

The tabs are a list of :class:`~attendance_core.app.common.TabView` (Take attendance, Review faces,
History, Roster): each has a ``title``, a ``widget`` and a ``refresh()`` called when the tab is
shown. Adding a tab is adding a view to :attr:`AttendanceApp.TAB_VIEWS`.
"""
from __future__ import annotations

import ipywidgets as w

from .common import CSS, MessageBar, TabView
from .history import HistoryView
from .review import ReviewView
from .roster_tab import RosterView
from .state import DashboardState
from .take_attendance import AttendanceTableView, TakeAttendanceView, UnknownFacesView

__all__ = ["AttendanceApp", "AttendanceTableView", "HistoryView", "MessageBar", "ReviewView", "RosterView",
           "TakeAttendanceView", "UnknownFacesView"]


class AttendanceApp:
    """The dashboard: Take attendance, Review faces, History and Roster tabs over one :class:`DashboardState`.

    Display it as the last expression of a notebook cell (Voilà shows it as the page).
    """

    #: The tabs, in order: each a TabView class taking (state, messages).
    TAB_VIEWS = (TakeAttendanceView, ReviewView, HistoryView, RosterView)

    def __init__(self, state: DashboardState | None = None):
        self.state = state or DashboardState()
        self._messages = MessageBar()
        self._build()
        self._wire()
        if self.state.roster_error:
            self._messages.error(self.state.roster_error)

    @classmethod
    def from_settings(cls, settings=None, **kwargs) -> "AttendanceApp":
        """An app over a :class:`DashboardState` made from ``settings`` (default: the project's settings)."""
        return cls(DashboardState(settings, **kwargs))

    def _build(self) -> None:
        self.tabs: list[TabView] = [view(self.state, self._messages) for view in self.TAB_VIEWS]
        self._tabs = w.Tab(children=[t.widget for t in self.tabs], titles=[t.title for t in self.tabs],
                           layout=w.Layout(max_width="100%"))
        title = w.HTML("<h2>Smart Attendance</h2>")
        title.add_class("sa-title")
        self.widget = w.VBox([w.HTML(CSS), title, self._messages.widget, self._tabs])
        self.widget.add_class("sa-app")

    def _wire(self) -> None:
        self._tabs.observe(self._on_tab, "selected_index")
        self.state.observe(self._on_result, "result_version")

    def _on_tab(self, change) -> None:
        if change["new"] is not None:
            self.tabs[change["new"]].refresh()

    def _on_result(self, _change) -> None:
        for k, tab in enumerate(self.tabs):
            if self._tabs.get_title(k) != tab.title:
                self._tabs.set_title(k, tab.title)
        shown = self._tabs.selected_index
        if shown is not None and shown > 0:
            # The first tab follows the state by itself; the others redraw when shown.
            self.tabs[shown].refresh()

    def show(self, view: type) -> TabView:
        """Bring the tab of ``view`` (a TabView class) to the front; returns its view."""
        index = next(k for k, t in enumerate(self.tabs) if isinstance(t, view))
        self._tabs.selected_index = index
        return self.tabs[index]

    @property
    def messages(self) -> str:
        """The messages shown at the top of the page, as plain text."""
        return self._messages.text

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            # What a front end without widgets shows (and what a page check can look for).
            bundle["text/plain"] = f"Smart Attendance dashboard ({self.state.class_name}): open it with Voila."
        return bundle

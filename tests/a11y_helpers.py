"""What the accessibility tests share (issue 29): axe-core's WCAG 2.0 and 2.1 A and AA rules run in a page,
and what the browser's accessibility tree says of the focused control, as a screen reader hears it."""
from __future__ import annotations

from dataclasses import dataclass, field

from conftest import ARTIFACTS

#: axe-core's tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: axe rules switched off, each with its reason. None: every WCAG 2.0/2.1 A and AA rule runs.
DISABLED_RULES: dict[str, str] = {}


def axe_violations(page) -> dict[str, list[str]]:
    """axe-core's violations of WCAG 2.0/2.1 A and AA in ``page`` as it is now: rule id -> one line per
    failing element (its selector, and what is wrong)."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"],
               "rules": {rule: {"enabled": False} for rule in DISABLED_RULES}}
    results = Axe().run(page, options=options)
    return {v["id"]: [" ".join(map(str, n["target"])) + ": " + " ".join((n.get("failureSummary") or "").split())
                      for n in v["nodes"]] for v in results.response["violations"]}


def write_report(name: str, states: dict[str, dict[str, list[str]]]) -> str:
    """A Markdown table of the violations per page state, written to test-artifacts/NAME.md; returns it."""
    lines = [f"# axe-core, WCAG 2.0/2.1 A and AA: {name}", "", "| page state | violations (rule: elements) |",
             "|---|---|"]
    for state, found in states.items():
        shown = ", ".join(f"{rule}: {len(nodes)}" for rule, nodes in found.items()) or "none"
        lines.append(f"| {state} | {shown} |")
    details = [f"- {state}, {rule}: {node}" for state, found in states.items() for rule, nodes in found.items()
               for node in nodes]
    text = "\n".join(lines + ([""] + details if details else [])) + "\n"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.md").write_text(text, encoding="utf-8")
    return text


@dataclass
class Control:
    """A node of the browser's accessibility tree: its role, its accessible name and its states
    (``pressed``, ``checked``, ``expanded``, ``selected``, ``disabled``, ``live``...)."""

    role: str
    name: str
    states: dict = field(default_factory=dict)
    tag: str = ""

    def __str__(self) -> str:
        return f'{self.role} "{self.name}"'


class AccessibilityTree:
    """The page's accessibility tree through the Chrome DevTools protocol: what a screen reader is given."""

    def __init__(self, page):
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Accessibility.enable")

    def node(self, expression: str) -> Control | None:
        """The accessibility node of the element a JavaScript ``expression`` evaluates to (None: no element)."""
        evaluated = self.cdp.send("Runtime.evaluate", {"expression": expression})
        if "exceptionDetails" in evaluated:
            raise ValueError(f"{expression}: {evaluated['exceptionDetails'].get('text')}")
        found = evaluated["result"]
        if "objectId" not in found:
            return None
        tag = self.cdp.send("Runtime.callFunctionOn", {
            "objectId": found["objectId"], "functionDeclaration": "function () { return this.tagName || ''; }",
            "returnByValue": True})["result"].get("value", "")
        nodes = self.cdp.send("Accessibility.getPartialAXTree", {"objectId": found["objectId"],
                                                                 "fetchRelatives": False})["nodes"]
        node = nodes[0]
        states = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
        return Control(node.get("role", {}).get("value", ""), node.get("name", {}).get("value", ""), states, tag)

    def focused(self) -> Control | None:
        """The focused control (None when the page itself has the focus)."""
        return self.node("document.activeElement === document.body ? null : document.activeElement")

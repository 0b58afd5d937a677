"""The docs cannot fall behind the code: every command, option and setting is documented.

Commands and options are read from the CLI's own parser, and settings from ``config.Settings``, so a
command, option or setting added later is checked without changing this file. An option of a command
counts as documented where it follows ``attendance COMMAND`` in the same paragraph or usage line
(before the next ``attendance ...``); an option of ``attendance`` itself, anywhere.
"""
from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from attendance_core.cli import build_parser
from attendance_core.config import Settings

from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TEXT = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(command words, parser)`` for the parser and each subcommand, nested subcommands included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(build_parser()))
OPTIONS = sorted({(" ".join(("attendance", *path)), option)
                  for path, parser in COMMANDS for action in parser._actions for option in action.option_strings
                  if option.startswith("--") and option != "--help"})
SETTINGS = [f.name for f in dataclasses.fields(Settings) if f.name != "source"]


def _usages(command: str) -> list[str]:
    """The passages about ``command``: from each ``attendance COMMAND`` to the next ``attendance `` or blank line."""
    starts = [m.start() for m in re.finditer(rf"{re.escape(command)}(?![\w-])", TEXT)]
    return [re.split(r"\battendance |\n\s*\n", TEXT[start + len(command):], maxsplit=1)[0] for start in starts]


def test_the_parser_is_read():
    assert len(COMMANDS) > 5 and len(OPTIONS) > 10 and "tolerance" in SETTINGS


@pytest.mark.parametrize("command", [" ".join(("attendance", *path)) for path, _ in COMMANDS[1:]])
def test_every_command_is_documented(command):
    assert re.search(rf"{re.escape(command)}(?![\w-])", TEXT), f"`{command}` is in no file of README.md, docs/*.md"


@pytest.mark.parametrize("command, option", OPTIONS)
def test_every_option_is_documented(command, option):
    places = [TEXT] if command == "attendance" else _usages(command)
    assert any(re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) for text in places), \
        f"`{command} {option}` is in no file of README.md, docs/*.md (after `{command}`, in the same paragraph)"


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_setting_is_documented(setting):
    assert f"`{setting}`" in TEXT, f"the setting `{setting}` is in no file of README.md, docs/*.md"

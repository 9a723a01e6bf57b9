"""The command line's grammar names, for every command, a handler that exists."""

from __future__ import annotations

import argparse

from cwpkg.cli.parser import build_parser, load_handler


def test_every_command_runs_a_function_that_exists():
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert {"install", "link", "run", "spec", "env", "lock", "verify", "cache"} <= set(commands.choices)
    for name, subparser in commands.choices.items():
        assert callable(load_handler(subparser.get_default("handler"))), name

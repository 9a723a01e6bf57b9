"""The `cwpkg` command line: parses the arguments and runs the command, turning errors into exit codes."""

from __future__ import annotations

import os
import signal
import sys

from cwpkg import interrupts
from cwpkg.cli.context import Context
from cwpkg.cli.parser import build_parser, load_handler
from cwpkg.errors import CwpkgError, disk_full_error, is_disk_full
from cwpkg.toolchain import keep_new_answers


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    # Everything after the first `--` goes to the program or compiler untouched (argparse mishandles
    # `--` below a subcommand).
    cut = arguments.index("--") if "--" in arguments else len(arguments)
    options = parser.parse_args(arguments[:cut])
    options.passthrough = arguments[cut + 1:]
    for name, default in (("sysroot", None), ("recipes", None), ("toolchain", None), ("target", None), ("quiet", False)):
        if not hasattr(options, name):
            setattr(options, name, default)
    context = Context(options)
    signal.signal(signal.SIGTERM, interrupts.on_sigterm)
    try:
        status = load_handler(options.handler)(context)
        if status == 0:
            keep_new_answers()
        return status
    except CwpkgError as error:
        if interrupts.terminated:  # a tool the termination stopped failed before the interruption arrived
            print("cwpkg: terminated", file=sys.stderr)
            return interrupts.exit_status()
        print(f"cwpkg: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("cwpkg: terminated" if interrupts.terminated else "cwpkg: interrupted", file=sys.stderr)
        return interrupts.exit_status()
    except BrokenPipeError:  # the reader went away (`cwpkg info x | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a bug: one line for the user, the traceback with CWPKG_DEBUG=1
        if is_disk_full(error):
            full = disk_full_error(error)
            print(f"cwpkg: error: {full}", file=sys.stderr)
            return full.exit_code
        if os.environ.get("CWPKG_DEBUG"):
            raise
        print(f"cwpkg: internal error: {type(error).__name__}: {error}\n  fix: run again with CWPKG_DEBUG=1 "
              "and report the traceback", file=sys.stderr)
        return 1


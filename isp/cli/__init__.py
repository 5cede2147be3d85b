"""The `isp` command: one module per subcommand, each with `add_parser(sub)` and `run(args)`.

Errors a user can cause (isp.InputError, missing files, a full disk) print one line on stderr
and exit 2; `--debug` (before or after the command) shows the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from isp.errors import InputError, is_interrupt

COMMANDS = ("info", "synth", "process", "grade", "bench", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="isp", description="Camera raw to graded images.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"isp.cli.{name}")
        p = module.add_parser(sub)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *_, **__: print(f"isp {args.command}: warning: {message}", file=sys.stderr)
            return int(args.run(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except (InputError, OSError) as e:  # a bad file or argument, a missing folder, a full disk
        if args.debug:
            raise
        print(f"isp {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemError) as e:
        if not is_interrupt(e):
            raise
        print(f"isp {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename:
        return f"{e.filename}: {e.strerror}"
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())

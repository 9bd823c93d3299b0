"""The ``ragjet`` command: ``search`` a folder (the sample corpus by default), ``ask`` it a question, ``serve`` it
as a chat, ``serve-store`` a database to several processes, and ``bench`` measurements.

One module per command, each with ``add_arguments(parser)`` and ``run(args) -> exit code``; the first line of
its docstring is the command's help. Nothing outside this package imports it.
"""
from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType
from typing import Optional, Sequence

from . import ask, bench, index, run, search, serve, serve_store

COMMANDS: dict[str, ModuleType] = {"index": index, "search": search, "ask": ask, "serve": serve,
                                   "serve-store": serve_store, "bench": bench, "run": run}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragjet", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        doc = (module.__doc__ or "").strip()
        summary = doc.split(":", 1)[-1].strip().split("\n\n")[0].replace("\n", " ")
        command = sub.add_parser(name, help=summary, description=doc)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        print(f"ragjet: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped reading (``ragjet ask ... | head``): no traceback, then or at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (when Python flushes stdout)
        return 1

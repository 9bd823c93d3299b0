"""``ragjet run``: run a program written for LazyLLM (``import lazyllm``) on ragjet, unedited.

The program's own folder comes first on the import path, so its model module (the course's ``online_models.py``,
rewritten by the user for local models) is the one it imports. ``--path OLD=NEW`` reads a ``dataset_path`` under
another machine's folder ``OLD`` from ``NEW``, ``--model NAME=MODEL[:TYPE]`` serves a model name ragjet cannot
run (the course's ``bge-large-zh-v1.5``) by one it runs; both also come from ``RAGJET_PATH_ALIASES`` and
``RAGJET_MODEL_ALIASES``.
"""
from __future__ import annotations

import argparse
import runpy
import sys
import traceback
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", action="append", default=[], metavar="OLD=NEW",
                        help="read a dataset_path under OLD from NEW (repeatable)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=MODEL[:TYPE]",
                        help="serve model NAME by MODEL, e.g. bge-large-zh-v1.5=universal-sentence-encoder-"
                             "multilingual-3 (repeatable)")
    parser.add_argument("program", type=Path, help="the Python file to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the program's own arguments")


def run(args: argparse.Namespace) -> int:
    from ..lazyllm_paths import alias_lazyllm
    from ..settings import config

    program = args.program
    if not program.is_file():
        raise FileNotFoundError(f"no program at {program}: give the path of a Python file")
    for setting, extra in (("path_aliases", args.path), ("model_aliases", args.model)):
        if extra:
            config[setting] = ",".join(filter(None, [config[setting], *extra]))
    alias_lazyllm()
    sys.argv = [str(program), *args.args]
    sys.path.insert(0, str(program.resolve().parent))
    try:
        runpy.run_path(str(program), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except BaseException:  # the program's own error, shown as Python shows it
        traceback.print_exc()
        return 1
    return 0

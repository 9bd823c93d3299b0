"""``ragjet bench NAME``: the lecture's measurements, one sub-command per registered bench."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..bench import BENCHES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    bench_sub = parser.add_subparsers(dest="bench_name", required=True)
    for name in BENCHES.names():
        module = BENCHES.get(name)
        p = bench_sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(p)
        p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
        p.add_argument("--plot", type=Path, help="also draw a PNG chart to this file")


def run(args: argparse.Namespace) -> int:
    report = BENCHES.get(args.bench_name).run(args)
    print(report.table())
    if args.json:
        report.to_json(args.json)
        print(f"wrote {args.json}")
    if args.plot:
        report.plot(args.plot)
        print(f"wrote {args.plot}")
    return 0 if report.ok else 1

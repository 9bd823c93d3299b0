"""Benchmarks behind ``ragjet bench NAME``: each is a module with ``add_arguments(parser)`` and ``run(args)``
returning a `Report`, registered by name in `BENCHES`.

Every bench measures its baseline in the same run and reports ratios, so results stay comparable on a noisy
machine; absolute times are printed for information only.
"""
from __future__ import annotations

from types import ModuleType

from ..registry import Registry
from . import (answers_bench, ask_bench, coldstart_bench, deploy_bench, embed_bench, flow_bench, hugefile_bench, index_bench, llm_bench,
               quality_bench, retrieval_bench, serve_bench, startup_bench, vectorstore_bench)
from .report import Report, timeit_median

BENCHES: Registry[ModuleType] = Registry("bench", hint="Run `ragjet bench --help` to list them.")
BENCHES.register("index", index_bench)
BENCHES.register("retrieval", retrieval_bench)
BENCHES.register("embed", embed_bench)
BENCHES.register("coldstart", coldstart_bench)
BENCHES.register("llm", llm_bench)
BENCHES.register("startup", startup_bench)
BENCHES.register("vectorstore", vectorstore_bench)
BENCHES.register("serve", serve_bench)
BENCHES.register("deploy", deploy_bench)
BENCHES.register("quality", quality_bench)
BENCHES.register("ask", ask_bench)
BENCHES.register("answers", answers_bench)
BENCHES.register("hugefile", hugefile_bench)
BENCHES.register("flow", flow_bench)

__all__ = ["BENCHES", "Report", "timeit_median"]

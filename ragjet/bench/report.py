"""What every bench returns: a `Report` that prints as a table, saves as JSON and plots as a bar chart.

Benches keep times in the unit their column name ends with (``_s``, ``_ms``, ``_us``; so a rate is named
``..._per_sec``, not ``..._per_s``); the table shows such values with the unit that suits them (``12.3 µs``,
``4.56 ms``) so a row spanning µs to seconds stays readable.
"""
from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..home import models_home
from ..registry import missing_extra
from ..settings import environment

# Column-name suffix → seconds per unit.
TIME_UNITS: dict[str, float] = {"_s": 1.0, "_ms": 1e-3, "_us": 1e-6}
UNIT_NAMES: dict[str, str] = {"_s": "s", "_ms": "ms", "_us": "µs"}
TITLE_WIDTH = 70
LOG_SCALE_SPAN = 100.0


@dataclass
class Report:
    """A bench's result: ``rows`` (dicts keyed by ``columns``), free-text ``notes`` and machine ``meta``.

    ``plot_columns`` are the numeric columns `plot` draws, one bar per row, labelled by the ``plot_label``
    column(s). ``ok`` is False when the bench found a wrong answer (the CLI exits nonzero then)."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    plot_columns: list[str] = field(default_factory=list)
    plot_label: str | list[str] = ""
    ok: bool = True

    # -- text ---------------------------------------------------------------------------------------------
    def table(self) -> str:
        """The title, an aligned table (numbers right-aligned) and the notes."""
        headers = [_header(c) for c in self.columns]
        cells = [[format_value(c, row.get(c)) for c in self.columns] for row in self.rows]
        widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
        numeric = [all(_is_number(row.get(c)) or row.get(c) is None for row in self.rows) for c in self.columns]

        def line(values: list[str]) -> str:
            return "  ".join(v.rjust(w) if num else v.ljust(w)
                             for v, w, num in zip(values, widths, numeric)).rstrip()

        out = [self.title, line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)]
        out += [f"  * {n}" for n in self.notes]
        if not self.ok:
            out.append("  FAILED: some answers were wrong (see the 'correct' column)")
        return "\n".join(out)

    # -- files --------------------------------------------------------------------------------------------
    def to_json(self, path: str | Path) -> None:
        """Write title, columns, rows, notes and meta (with the machine's description) as JSON."""
        data = {"title": self.title, "columns": self.columns, "rows": self.rows, "notes": self.notes,
                "ok": self.ok, "meta": {**machine_meta(), **self.meta}}
        Path(path).write_text(json.dumps(data, indent=2, default=_json_default) + "\n")

    def plot(self, path: str | Path) -> None:
        """A bar chart (PNG) of ``plot_columns`` per row; log-scale y when the values span over 100×."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise missing_extra("matplotlib", "bench") from None
        if not self.plot_columns:
            raise ValueError(f"report {self.title!r} names no plot_columns to draw")
        labels = [self._label(row) for row in self.rows]
        fig = Figure(figsize=(max(6.0, 0.9 * len(labels) * len(self.plot_columns)), 4.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        width = 0.8 / len(self.plot_columns)
        values: list[float] = []
        for i, col in enumerate(self.plot_columns):
            ys = [float(row[col]) if _is_number(row.get(col)) else math.nan for row in self.rows]
            values += [y for y in ys if math.isfinite(y) and y > 0]
            ax.bar([x + (i - (len(self.plot_columns) - 1) / 2) * width for x in range(len(labels))], ys,
                   width=width, label=col)
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0, ha="right")
        if values and max(values) / min(values) > LOG_SCALE_SPAN:
            ax.set_yscale("log")
        units = {_time_unit(c) for c in self.plot_columns}
        if len(units) == 1 and "" not in units:
            ax.set_ylabel(f"time ({UNIT_NAMES[units.pop()]})")
        ax.set_title(textwrap.fill(self.title, TITLE_WIDTH), fontsize="medium")
        ax.legend()
        fig.savefig(str(path), format="png", dpi=110)

    def _label(self, row: dict[str, Any]) -> str:
        names = [self.plot_label] if isinstance(self.plot_label, str) else self.plot_label
        return " ".join(str(row.get(n, "")) for n in names if n) or str(self.rows.index(row))


def format_value(column: str, value: Any) -> str:
    """A cell: times with a fitting unit, other floats to 3 significant digits, ints with separators."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        unit = _time_unit(column)
        return format_seconds(float(value) * TIME_UNITS[unit]) if unit else sig3(float(value))
    return str(value)


def format_seconds(seconds: float) -> str:
    """``1.23e-05`` → ``'12.3 µs'``; ns, µs, ms or s, 3 significant digits."""
    magnitude = abs(seconds)
    if magnitude == 0:
        return "0"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if magnitude >= scale:
            return f"{sig3(seconds / scale)} {unit}"
    return f"{sig3(seconds * 1e9)} ns"


def sig3(x: float) -> str:
    """3 significant digits without scientific notation (values ≥ 1000 are shown as whole numbers)."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def timeit_median(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> tuple[float, list[float]]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed; return (median seconds, samples).

    The garbage collector is paused while sampling (as `timeit` does) so a collection triggered by an
    unrelated allocation does not land in a µs-scale sample."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        fn()
    clock = time.perf_counter_ns
    samples: list[float] = []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = clock()
            fn()
            samples.append((clock() - start) * 1e-9)
    finally:
        if was_enabled:
            gc.enable()
    return statistics.median(samples), samples


def time_stream(open_stream: Callable[[], Iterable[Any]]) -> dict[str, float]:
    """Open and drain a token stream: time to the first piece, pieces (one per token), the generation rate
    after the first piece, and the total time."""
    start = time.perf_counter()
    first: float | None = None
    tokens = 0
    for _ in open_stream():
        tokens += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    first = first or end
    gen = (tokens - 1) / (end - first) if tokens > 1 and end > first else 0.0
    return {"ttft_s": first - start, "tokens": tokens, "gen_tok_per_sec": gen, "total_s": end - start}


def child_env(home: str | Path) -> dict[str, str]:
    """The environment of a bench's child process: its own ragjet ``home`` (empty embedding cache, ledgers,
    snapshots) with the exported models shared, since exporting a model is part of no start; offline, and
    logging warnings only."""
    return {**environment(), "RAGJET_HOME": str(home), "RAGJET_MODELS": str(models_home()), "HF_HUB_OFFLINE": "1",
            "RAGJET_LOG_LEVEL": "WARNING"}


def target_note(what: str, value: str, target: str, met: bool) -> str:
    """One line stating a measurement against its target."""
    return f"{what}: {value} (target {target}: {'met' if met else 'MISSED'})"


def machine_meta() -> dict[str, Any]:
    """What a number depends on besides the code: versions, cores, platform and when it was measured."""
    return {"python": platform.python_version(), "numpy": np.__version__, "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "executable": sys.executable,
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _time_unit(column: str) -> str:
    return next((u for u in TIME_UNITS if column.endswith(u)), "")


def _header(column: str) -> str:
    """Time columns lose their unit suffix in the table, since each cell shows its own unit."""
    unit = _time_unit(column)
    return column[: -len(unit)] if unit else column


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

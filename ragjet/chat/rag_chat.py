"""The RAG chat that ``ragjet ask`` and ``ragjet serve`` run: retrieval, then a local LLM, on the embedded defaults.

Retrieval fuses two routes over the same node group: with an embedding model, a dense route and a lexical
(BM25) route, their scores min-max normalised and summed (``fusion="weighted"``), keeping the best ``topk``
(2: `ANSWER_PASSAGES`; the model reads only the best of them for an English question, `PASSAGES_READ`). Both
routes are chosen for the documents' language (`choose_for_documents`): English documents get
all-MiniLM-L6-v2 and ``bm25``; documents with Chinese in them the multilingual Universal Sentence Encoder
and ``bm25_chinese`` (jieba words). A lexical ``similarity`` is the one route, and no embedder is loaded.

A question the documents are not about gets no LLM answer: when the best passage's cosine similarity to the
question is under the embedder's `RELEVANCE_FLOOR`, the chat says the documents do not hold the answer (a
small model answers from unrelated passages as fluently as from the right one). The LLM
(`default_chat_model`: Qwen2.5-Coder-0.5B-Instruct when installed, run by llama.cpp) streams its answer from
the `RagPrompter`, which numbers the passages and asks for a brief answer in the question's language. With
``llm=None`` the answer is the retrieved passages themselves, which serves a folder with no chat model
installed.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ..deploy.llama_cpp import DEFAULT_SLOTS
from ..flow import bind, pipeline
from ..flow.lifecycle import Startable
from ..flow.sources import record_sources
from ..log import LOG
from ..models import TrainableModule
from ..models.catalogue import default_chat_model
from ..models.embed.use_embedding import USE_MODEL_ID
from ..rag import Document, Retriever
from ..rag.doc_node import DocNode
from ..rag.language import AUTO, ENGLISH_EMBED, routes_for
from ..text.lang import language_of
from .prompt import RagPrompter, numbered_context

DEFAULT_LLM = "auto"  # the best chat model installed (`default_chat_model`)
ANSWER_MAX_TOKENS = 200  # a brief answer with citations is 30-120 tokens; a loop is stopped before this
# Passages retrieved for an answer (with ``llm=None``, the answer). Measured with Qwen2.5-Coder-0.5B (ragjet bench
# quality, 40 questions each): SQuAD F1 0.567 from the best 2 paragraphs vs 0.542 from 3, CMRC 0.507 vs 0.503;
# a small model is distracted by a third passage more than it gains from it.
ANSWER_PASSAGES = 2
# Of those, the passages the model reads, by the question's language (others: all). `ragjet bench answers`'
# measure (share of answers holding the gold answer, 120 questions each, seeds 0-3, 2026-12-05): SQuAD 0.62
# from the best passage alone vs 0.53 from two (and ~1 s faster); CMRC 0.33 vs 0.34, so Chinese keeps two.
PASSAGES_READ = {"en": 1}
# How the two routes are fused. The answer's paragraph among the 2 passages the model reads (the first 300
# questions of each set): SQuAD 0.896 weighted, 0.892 RRF, 0.825 for the lecture's two routes reranked by the
# embedder (its cosine re-sorts away what the lexical route found); CMRC 0.960, 0.943 and 0.873.
FUSION = "weighted"
# Under this cosine similarity between the question and its best chunk, the documents are not about the
# question; it depends on the embedder and on the chunks' size (a longer chunk is less like a short question).
# Measured: SQuAD questions over SQuAD's paragraphs (MediumChunk) have their best chunk at 0.40 or more (1st
# percentile, 200 questions), over ragjet's English sample corpus at most 0.16 (99th). CMRC questions (300,
# 2026-12-06): MediumChunk, 1.0% of them under 0.2 over CMRC's paragraphs and 97.3% over the Chinese sample
# corpus; CoarseChunk (``--group CoarseChunk``) none under 0.15 and 96.7% (at 0.2: 2.3% and 100%). An embedder
# and group not listed get no floor.
RELEVANCE_FLOOR = {(ENGLISH_EMBED, "MediumChunk"): 0.25, (USE_MODEL_ID, "MediumChunk"): 0.2,
                   (USE_MODEL_ID, "CoarseChunk"): 0.15}
NOT_IN_DOCUMENTS = {"en": "The documents do not contain the answer to this question.",
                    "zh": "文档中没有这个问题的答案。"}
# Answers a server's in-process model decodes at once. `ragjet bench serve` here (2 cores, 60 s, the sample
# question): 8 clients got 102 answers/min with TTFT p50 0.39 s from 8 slots, 79/min and 3.2 s from 4, 47/min
# and 9.0 s from one; one client is served alike (latency p50 1.3 s each).
SERVER_SLOTS = 8
LEXICAL = ("bm25", "bm25_chinese")
# A server (``defer_large``) answers at once from the other files and indexes files over this size behind:
# a 4 MB text file is ~5,000 chunks, a minute or more of embedding on a laptop's CPU.
LARGE_FILE_BYTES = 4 << 20
_LINE_BREAK = re.compile(r"(?<=\S)\n(?=\S)")  # one newline between two lines of a paragraph


def passages(nodes: list[DocNode]) -> Iterator[str]:
    """The answer when there is no LLM: the retrieved passages, best first, streamed one at a time, with the
    line breaks inside their paragraphs removed (a page wraps lines itself)."""
    if not nodes:
        yield "No passage of the documents matches this question."
    for i, node in enumerate(nodes):
        yield ("\n\n" if i else "") + _LINE_BREAK.sub(" ", node.get_content().strip())


class RagChat(Startable):
    """``RagChat(docs_dir)(question)`` → the answer's tokens. Models load once; `refresh` rebuilds the
    document and its retrievers (after an upload) and swaps them in, keeping the loaded models. ``llm`` is a
    model name or GGUF file, ``"auto"`` for `default_chat_model`, or None, decoding ``slots`` answers at once
    (default 1); ``deploy`` names a deploy method (``'llamacpp'``...) that serves the LLM in its own process
    instead of this one, with ``slots`` where the engine has them. ``defer_large`` (a server) starts answering before files over
    `LARGE_FILE_BYTES` are indexed: they are indexed in the background and answered from once done."""

    def __init__(self, docs_dir: str | Path, embed: Optional[str] = AUTO, group: str = "MediumChunk",
                 similarity: Optional[str] = None, topk: Optional[int] = None, llm: Optional[str] = DEFAULT_LLM,
                 max_tokens: int = ANSWER_MAX_TOKENS, store_conf: Optional[dict[str, Any]] = None,
                 deploy: Optional[str] = None, slots: Optional[int] = None, defer_large: bool = False) -> None:
        if slots is not None and slots < 1:
            raise ValueError(f"slots={slots}: give a positive count of answers decoded at once (--slots 4)")
        self.docs_dir = Path(docs_dir)
        self.store_conf = store_conf
        self.group = group
        self.topk = topk or ANSWER_PASSAGES
        self.read = {} if topk else PASSAGES_READ  # a topk the user gives is what the model reads
        embed, lexical = routes_for(self.docs_dir, embed, similarity)
        self.lexical = lexical if lexical in LEXICAL else "bm25"  # the second route beside a dense similarity
        self.similarity = similarity
        if similarity in LEXICAL:
            embed = None  # the one route is lexical: no vectors to compute
        self.embed = TrainableModule(embed) if embed else None
        self.floor = RELEVANCE_FLOOR.get((embed, self.group)) if embed else None
        self.llm = None
        # answers the model gives at once, as the web server sizes its admission (None: no model, no queue)
        self.slots = (slots or (DEFAULT_SLOTS if deploy else 1)) if llm else None
        if llm:
            name = default_chat_model() if llm == DEFAULT_LLM else llm
            if deploy:
                self.llm = TrainableModule(name, stream=True, max_tokens=max_tokens)
                self.llm = self.llm.deploy_method(deploy, {"slots": slots} if slots else None)
            else:
                self.llm = TrainableModule(name, stream=True, max_tokens=max_tokens, slots=slots or 1)
            self.llm.prompt(RagPrompter())
        self._lock = threading.Lock()
        self._flow, self._retrievers = self._build(LARGE_FILE_BYTES if defer_large else None)
        self._behind: Optional[threading.Thread] = None

    def _build(self, defer_over: Optional[int] = None) -> tuple[Callable[[str], Any], list[Retriever]]:
        doc = Document(self.docs_dir, embed=self.embed, store_conf=self.store_conf, defer_over=defer_over)
        if self.embed is None:
            retriever = Retriever(doc, self.group, similarity=self.similarity or self.lexical, topk=self.topk)
        else:
            retriever = Retriever(doc, self.group, similarity=[self.similarity or "cosine", self.lexical],
                                  fusion=FUSION, topk=self.topk)
        nearest = Retriever(doc, self.group, similarity="cosine", topk=1) if self.floor is not None else None
        with pipeline() as ppl:
            ppl.retriever = retriever
            if self.llm is None:
                ppl.answer = passages
            else:
                ppl.answer = self._answerer(nearest) | bind(query=ppl.input)
        return ppl, [retriever] + ([nearest] if nearest else [])

    def _answerer(self, nearest: Optional[Retriever]) -> Callable[[list[DocNode], str], Any]:
        """The step after retrieval: the LLM's answer from the numbered passages, or, for a question whose best
        passage is under the relevance floor, that the documents do not hold the answer."""
        def answer(nodes: list[DocNode], query: str) -> Any:
            if nearest is not None and query.strip():
                best = nearest(query)
                if not best or (best[0].similarity_score or 0.0) < self.floor:
                    record_sources(nodes)
                    return iter([NOT_IN_DOCUMENTS[language_of(query)]])
            return self.llm(numbered_context(nodes[:self.read.get(language_of(query), len(nodes))], query))
        return answer

    def start(self) -> "RagChat":
        """Load the models and index the documents now, so the first question is answered at full speed."""
        for retriever in self._retrievers:
            retriever.start()
        for model in (self.embed, self.llm):
            if model is not None:
                model.start()
        deferred = self._retrievers[0].doc.deferred
        if deferred:
            LOG.warning("answering from the other files now: %d file(s) over %d MB are indexed in the background "
                        "(%s)", len(deferred), LARGE_FILE_BYTES >> 20, ", ".join(Path(p).name for p in deferred[:5]))
            self._behind = threading.Thread(target=self._index_deferred, name="ragjet-index-large", daemon=True)
            self._behind.start()
        return self

    def _index_deferred(self) -> None:
        """A daemon thread: stopping the server does not wait for minutes of embedding (the ledger makes an
        interrupted ingestion resume on the next start)."""
        try:
            self.refresh()
        except Exception:
            LOG.exception("indexing the large files of %s failed; they are left out of the answers", self.docs_dir)

    @property
    def indexing(self) -> bool:
        """Whether files left out of the start are being indexed in the background."""
        return self._behind is not None and self._behind.is_alive()

    def wait_indexed(self, timeout: Optional[float] = None) -> bool:
        """Wait for the background indexing of large files, if any; whether it is done."""
        if self._behind is not None:
            self._behind.join(timeout)
        return not self.indexing

    def refresh(self, changed: Optional[Path] = None) -> None:
        """Re-read the folder (stored embeddings are reused) and answer from the new index from now on."""
        with self._lock:
            flow, retrievers = self._build()
            for retriever in retrievers:
                retriever.start()
            self._flow, self._retrievers = flow, retrievers
        LOG.info("re-indexed %s%s", self.docs_dir, f" after {changed.name} changed" if changed else "")

    def __call__(self, question: str) -> Any:
        return self._flow(question)

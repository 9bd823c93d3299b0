"""`BM25SparseEmbedding`: a lexical sparse embedder that turns texts into BM25 term weights.

What it is. Each text is split into words by the tokenizer of ragjet's ``bm25`` similarity (bm25s's English
words without stopwords; ``bm25_chinese``: jieba's words without function words), each word is hashed to
an index in ``[0, 2**31)`` (the first 4 bytes of its blake2b digest, top bit cleared: stable across runs,
machines and Python versions; two words share an index about once in 2**31 pairs), and the text becomes
``{index: weight}``:

* a document (``embed_batch``): BM25's saturated, length-normalised term frequency,
  ``tf · (k1 + 1) / (tf + k1 · (1 - b + b · len / avg_len))``, so one occurrence in a text of ``avg_len``
  words weighs 1 and repeats add less and less;
* a query (``embed_query``): each word's count times its IDF. Unfitted, the IDF is 1 and the inner product
  is the sum of the documents' saturated term frequencies over the query's words: BM25 without its IDF
  (dropping stopwords removes the worst of what IDF would discount). After ``fit(texts)`` it is
  ``log(1 + (N - df + 0.5) / (df + 0.5))`` over those texts (bm25s's and Lucene's IDF); with ``avg_len`` the
  mean word count of the same texts, inner products are then exactly ``k1 + 1`` times bm25s's scores.

The document side depends only on the text and (tokenizer, k1, b, avg_len), which make up the ``model_id``
the ledger and the embedding cache key on; the IDF touches queries only, so fitting again never re-embeds.
Everything is deterministic: no randomness, no state but the fitted IDF.

What it is not: a learned sparse model (SPLADE and the like expand a text with related terms and weigh them
with a transformer). None ships in a package installable here, so this encoder matches words, not meanings:
pair it with a dense key for hybrid retrieval. Any model with ``sparse = True`` and ``embed_batch`` returning
``{index: weight}`` mappings (and, if it is asymmetric, ``embed_query``) plugs into the same embed key.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from functools import lru_cache
from typing import Any, Iterable, Mapping, Optional, Sequence

from ...text.lexical import TOKENIZERS
from .embed_model import EmbedModelBase

INDEX_BITS = 31  # indices fit int32 and Milvus's sparse range


@lru_cache(maxsize=1 << 17)
def term_index(word: str) -> int:
    """The index of ``word``: the first 4 bytes of its blake2b digest, top bit cleared."""
    digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "little") & ((1 << INDEX_BITS) - 1)


class BM25SparseEmbedding(EmbedModelBase):
    """Texts as BM25 term-weight vectors ``{index: weight}``: ``Document(embed={'sparse': BM25SparseEmbedding()})``.

    ``tokenizer`` names how words are found (``'bm25'`` for English, ``'bm25_chinese'`` for Chinese); ``k1``
    (term-frequency saturation), ``b`` (length normalisation) and ``avg_len`` (the typical text length in
    words: about 100 for ragjet's 256-token ``MediumChunk``) shape document weights; ``idf`` restores the
    IDF of an earlier `fit` (its ``idf`` attribute; keys may be strings, as JSON gives them back)."""

    sparse = True

    def __init__(self, tokenizer: str = "bm25", k1: float = 1.2, b: float = 0.75, avg_len: float = 100.0,
                 idf: Optional[Mapping[Any, float]] = None, batch_size: int = 256) -> None:
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {', '.join(TOKENIZERS)}")
        if k1 < 0 or not 0 <= b <= 1 or avg_len <= 0:
            raise ValueError(f"BM25 needs k1 >= 0, 0 <= b <= 1 and avg_len > 0; got k1={k1}, b={b}, "
                             f"avg_len={avg_len}")
        self.tokenizer = tokenizer
        self.k1, self.b, self.avg_len = float(k1), float(b), float(avg_len)
        self.batch_size = batch_size
        self.model_id = f"bm25-sparse/{tokenizer}/k1={self.k1:g}/b={self.b:g}/avg_len={self.avg_len:g}/blake2b31"
        self.idf: Optional[dict[int, float]] = {int(i): float(w) for i, w in idf.items()} if idf else None
        self._tokenize = TOKENIZERS[tokenizer]

    def start(self) -> "BM25SparseEmbedding":
        """Load the tokenizer now (jieba reads its dictionary on first use), not at the first text."""
        self._tokenize(["warm up"])
        return self

    # -- documents --------------------------------------------------------------------------------------------
    def embed_batch(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Document vectors: BM25's saturated, length-normalised term frequencies."""
        return [self._document(words) for words in self._tokenize(list(texts))] if texts else []

    def __call__(self, text: str | Sequence[str], **_: Any) -> dict[int, float] | list[dict[int, float]]:
        return self.embed_batch([text])[0] if isinstance(text, str) else self.embed_batch(list(text))

    def _document(self, words: Sequence[str]) -> dict[int, float]:
        norm = self.k1 * (1.0 - self.b + self.b * len(words) / self.avg_len)
        return {index: tf * (self.k1 + 1.0) / (tf + norm) for index, tf in _counts(words).items()}

    # -- queries ----------------------------------------------------------------------------------------------
    def embed_query(self, text: str) -> dict[int, float]:
        """A query vector: each word's count times its IDF (1 until `fit`; words the fit never saw weigh as
        the rarest word it saw)."""
        counts = _counts(self._tokenize([text])[0])
        if self.idf is None:
            return {index: float(n) for index, n in counts.items()}
        unseen = max(self.idf.values(), default=1.0)
        return {index: n * self.idf.get(index, unseen) for index, n in counts.items()}

    def fit(self, texts: Iterable[str]) -> "BM25SparseEmbedding":
        """Learn query-side IDF from ``texts`` (say, the corpus being indexed): deterministic for the same texts,
        kept in ``self.idf``. Document vectors, and so the ``model_id``, do not change."""
        docs = self._tokenize(list(texts))
        df: Counter[int] = Counter()
        for words in docs:
            df.update({term_index(w) for w in words})
        n = len(docs)
        self.idf = {index: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for index, f in sorted(df.items())}
        return self

    def __repr__(self) -> str:
        return f"BM25SparseEmbedding({self.model_id!r}{', fitted' if self.idf is not None else ''})"


def _counts(words: Iterable[str]) -> Counter[int]:
    """How often each word index occurs (two words hashing alike count as one)."""
    return Counter(term_index(w) for w in words)

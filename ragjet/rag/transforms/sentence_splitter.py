"""SentenceSplitter: chunks of at most ``chunk_size`` tokens built from whole sentences, with overlap.

Like LlamaIndex's SentenceSplitter, but without NLTK and with token counting batched: the text is cut into
sentences, every sentence of every text in a batch is counted in one call of the token counter, and the
sentences are merged greedily into chunks. Only a sentence that alone exceeds ``chunk_size`` is cut further,
into words and then into runs of characters, and only those pieces are counted again (one more call per
level, none at all for ordinary text).
"""
from __future__ import annotations

import re
from typing import Any, Optional

from ragjet.log import LOG
from ragjet.rag.doc_node import DocNode, make_uid
from ragjet.rag.transforms.base import NodeTransform, register_transform
from ragjet.text.sentences import sentences
from ragjet.text.token_count import APPROX_NAME, TokenCounter, approx_token_counts

_WORD = re.compile(r"\S+\s*")
MERGE_RULE = "paragraphs"  # in the identity: stores chunked by the earlier rule are chunked again
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n[ \t\r\f\v]*$")  # a piece that ends a paragraph
# Text without spaces (Chinese) cut into its smallest parts: a Latin word or number whole, any other character
# alone, so "1927年" is never cut inside "1927".
_UNIT = re.compile(r"[0-9A-Za-z]+\s*|\S\s*")
_INSIDE_A_WORD = re.compile(r"[0-9A-Za-z]{2}")  # two characters of one Latin word or number
# A piece longer than chunk_size x this many characters cannot fit a chunk in any tokenizer we count with
# (English prose is ~4.5 characters per token), so it is cut by characters before anything counts it.
CHARS_PER_TOKEN_BOUND = 8
SMALL_CHUNK = 50  # tokens: below this, metadata crowds the text out of a chunk (LazyLLM warns there too)
MIN_SEGMENT_CHARS = 2048


def _segments(sentence: str, longest: int) -> list[str]:
    """A sentence longer than ``longest`` characters (a one-line file, a table dump) cut into runs of about
    that many, at a space where there is one: every later step (counting, refining into words) then works on
    small pieces, so its time and memory grow with the file, not with its longest line."""
    if len(sentence) <= longest:
        return [sentence]
    runs, start = [], 0
    while start < len(sentence):
        end = min(start + longest, len(sentence))
        if end < len(sentence):
            space = sentence.rfind(" ", start + longest // 2, end)
            end = space + 1 if space >= 0 else _outside_a_word(sentence, end, start + longest // 2)
        runs.append(sentence[start:end])
        start = end
    return [r for r in runs if not r.isspace()]


def _outside_a_word(text: str, end: int, lowest: int) -> int:
    """``end`` moved back (not under ``lowest``) so that it does not cut a Latin word or number in two."""
    cut = end
    while cut > lowest and _INSIDE_A_WORD.fullmatch(text, cut - 1, cut + 1):
        cut -= 1
    return cut if cut > lowest else end


def _refine(piece: str, count: int, chunk_size: int) -> list[str]:
    """Cut an over-long piece: into words when it has several; text without spaces into its characters, a
    Latin word or number kept whole; else (one long word) into runs of characters sized so each run should fit
    (``count`` tokens spread evenly over the characters). Always returns two or more pieces."""
    words = _WORD.findall(piece)
    if len(words) > 1:
        return words
    units = _UNIT.findall(piece)
    if len(units) > 1:
        return units
    body = piece.rstrip()
    tail = piece[len(body):]
    body = body.lstrip()
    step = max(1, len(body) * chunk_size // count)
    runs = [body[i:i + step] for i in range(0, len(body), step)]
    runs[-1] += tail
    return runs


def _paragraph_tokens(pieces: list[str], counts: list[int]) -> list[Optional[int]]:
    """For each piece that opens a paragraph (the first, or one after a piece ending in a blank line), the tokens
    of its paragraph; None for the others."""
    out: list[Optional[int]] = [None] * len(pieces)
    start = 0
    for i, piece in enumerate(pieces):
        if i == len(pieces) - 1 or _BLANK_LINE.search(piece):
            out[start] = sum(counts[start:i + 1])
            start = i + 1
    return out


def _counter_name(counter: TokenCounter) -> str:
    if counter is approx_token_counts:
        return APPROX_NAME
    name = getattr(counter, "name", None)
    if isinstance(name, str):
        return name
    target = counter if hasattr(counter, "__qualname__") else type(counter)
    return f"{target.__module__}.{target.__qualname__}"


@register_transform("SentenceSplitter")
class SentenceSplitter(NodeTransform):
    """Splits text into chunks of at most ``chunk_size`` tokens, each starting with up to ``chunk_overlap``
    tokens of whole sentences from the end of the previous chunk.

    ``token_counter`` counts tokens (see `token_count`); without one the splitter uses `approx_token_counts`
    until the Document injects the embedding model's tokenizer with `set_token_counter`.
    """

    def __init__(self, chunk_size: int = 1024, chunk_overlap: int = 200,
                 token_counter: Optional[TokenCounter] = None) -> None:
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be > 0, got chunk_size={chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"chunk_overlap must satisfy 0 <= chunk_overlap < chunk_size, "
                             f"got chunk_overlap={chunk_overlap}, chunk_size={chunk_size}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._explicit_counter = token_counter is not None
        self._counter: TokenCounter = token_counter if token_counter is not None else approx_token_counts
        self._counter_name = _counter_name(self._counter)
        self._window: Optional[int] = None

    @property
    def size(self) -> int:
        """The chunk size in effect: ``chunk_size``, or the embedding model's window when that is smaller."""
        return min(self.chunk_size, self._window) if self._window else self.chunk_size

    @property
    def overlap(self) -> int:
        """``chunk_overlap``, scaled down with the size when the window cut it."""
        return self.chunk_overlap * self.size // self.chunk_size

    def fit_window(self, tokens: int) -> bool:
        """Make chunks of at most ``tokens`` (the window of the model that embeds them, special tokens
        excluded), so that none is truncated when embedded. Returns whether that cut ``chunk_size``."""
        self._window = tokens if tokens < self.chunk_size else None
        return self._window is not None

    @property
    def token_counter_name(self) -> str:
        return self._counter_name

    def set_token_counter(self, counter: TokenCounter, name: str) -> bool:
        """Use ``counter`` (the embedding model's tokenizer) unless one was given to the constructor.
        Returns whether it was applied."""
        if self._explicit_counter:
            LOG.debug("SentenceSplitter keeps its own token counter %s; ignoring %s", self._counter_name, name)
            return False
        self._counter = counter
        self._counter_name = name
        return True

    def _identity_params(self) -> dict[str, Any]:
        params = {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap,
                  "token_counter": self._counter_name, "merge": MERGE_RULE}
        return {**params, "window": self._window} if self._window else params

    # -- splitting ------------------------------------------------------------------------------------
    def split_text(self, text: str, metadata_size: int = 0) -> list[str]:
        """The chunks of ``text``, stripped, never empty. ``metadata_size`` (LazyLLM's argument) is the tokens
        of metadata that will be embedded with each chunk: chunks are made that much smaller."""
        return self._split_all([text], self._budget(metadata_size))[0]

    def _budget(self, metadata_size: int) -> int:
        """The tokens left for a chunk's text once ``metadata_size`` tokens of metadata are embedded with it."""
        size = self.size - metadata_size
        if size <= 0:
            raise ValueError(f"metadata_size={metadata_size} leaves no room in chunks of {self.size} tokens: use a "
                             f"larger chunk_size or less metadata")
        if metadata_size and size < SMALL_CHUNK:
            LOG.warning("metadata_size=%d leaves chunks of %d tokens; consider a larger chunk_size", metadata_size,
                        size)
        return size

    def split_texts(self, texts: list[str]) -> list[list[str]]:
        """`split_text` for many texts, counting the pieces of all of them in one call of the counter."""
        return self._split_all(texts, self.size)

    def _split_all(self, texts: list[str], size: int) -> list[list[str]]:
        return self._split_pieces([self.pieces(text) for text in texts], size)

    def _split_pieces(self, piece_lists: list[list[str]], size: int) -> list[list[str]]:
        """The chunks of each list of pieces (a text already cut where it may be cut), all counted together:
        the entry point of splitters that choose their cut points per part of a text (a code block by lines,
        prose by sentences)."""
        pieces: list[str] = []
        owners: list[int] = []
        longest = max(MIN_SEGMENT_CHARS, size * CHARS_PER_TOKEN_BOUND)
        for owner, cut in enumerate(piece_lists):
            for sentence in cut:
                for piece in _segments(sentence, longest):
                    pieces.append(piece)
                    owners.append(owner)
        pieces, counts, owners = self._fit(pieces, self._count(pieces), owners, size)
        result: list[list[str]] = [[] for _ in piece_lists]
        lo = 0
        while lo < len(pieces):
            hi = lo
            while hi < len(pieces) and owners[hi] == owners[lo]:
                hi += 1
            result[owners[lo]] = self._merge(pieces[lo:hi], counts[lo:hi], size)
            lo = hi
        return result

    def _count(self, pieces: list[str]) -> list[int]:
        if not pieces:
            return []
        counts = list(self._counter([p.strip() for p in pieces]))
        if len(counts) != len(pieces):
            raise ValueError(f"token counter {self._counter_name} returned {len(counts)} counts "
                             f"for {len(pieces)} texts")
        return counts

    def _fit(self, pieces: list[str], counts: list[int], owners: list[int],
             size: int) -> tuple[list[str], list[int], list[int]]:
        """Cut every piece over ``size`` tokens until all fit (a single character may still not)."""
        while True:
            parts = {i: self.refine(p, c, size) for i, (p, c) in enumerate(zip(pieces, counts))
                     if c > size and len(p.strip()) > 1}
            if not parts:
                return pieces, counts, owners
            sub_counts = iter(self._count([s for i in parts for s in parts[i]]))
            new_pieces: list[str] = []
            new_counts: list[int] = []
            new_owners: list[int] = []
            for i, (piece, count, owner) in enumerate(zip(pieces, counts, owners)):
                for sub in parts.get(i, (piece,)):
                    new_pieces.append(sub)
                    new_counts.append(next(sub_counts) if i in parts else count)
                    new_owners.append(owner)
            pieces, counts, owners = new_pieces, new_counts, new_owners

    def _merge(self, pieces: list[str], counts: list[int], size: int) -> list[str]:
        """Greedy merge: fill a chunk up to ``size``; the next starts with the previous chunk's trailing pieces
        worth at most `overlap` tokens (scaled with ``size``), and only if the next piece still fits beside
        them, so no chunk is ever over ``size``.

        A paragraph (pieces up to a blank line) that does not fit in the room left starts the next chunk (after
        as much overlap as still leaves it whole) when it fits a chunk whole or the chunk is already half full:
        a chunk then holds whole paragraphs, or a paragraph's opening with the sentences after it, rather than the
        first sentence of a paragraph whose point is in the next chunk (the Chinese sample's
        "第二次启动时文件没有变化。" ended one chunk and the ledger that answers "第二次启动为什么快？" opened the
        next, which no route found)."""
        overlap = self.overlap * size // self.size
        paragraph = _paragraph_tokens(pieces, counts)
        chunks: list[str] = []
        current: list[int] = []
        tokens = 0
        for i, count in enumerate(counts):
            opens = paragraph[i] is not None and current and tokens + paragraph[i] > size and (
                paragraph[i] <= size or 2 * tokens >= size)
            if current and (tokens + count > size or opens):
                chunks.append("".join(pieces[j] for j in current).strip())
                kept = 0
                start = len(current)
                beside = paragraph[i] if opens and paragraph[i] <= size else count  # what must fit after it
                while start > 0:
                    more = kept + counts[current[start - 1]]
                    if more > overlap or more + beside > size:
                        break
                    kept = more
                    start -= 1
                current = current[start:]
                tokens = kept
            current.append(i)
            tokens += count
        if current:
            chunks.append("".join(pieces[j] for j in current).strip())
        return chunks

    # -- where text is cut (what the other splitters change) ------------------------------------------------
    def pieces(self, text: str) -> list[str]:
        """The units chunks are made of, in order, joining back to ``text``: sentences (and lines)."""
        return sentences(text)

    def refine(self, piece: str, count: int, size: int) -> list[str]:
        """A piece of ``count`` tokens cut into smaller ones so each may fit ``size``: words, then characters."""
        return _refine(piece, count, size)

    # -- NodeTransform --------------------------------------------------------------------------------
    def transform(self, node: DocNode) -> list[str]:
        return self.split_text(node.get_text())

    def batch_forward(self, nodes: list[DocNode]) -> list[list[str | DocNode]]:
        return self.split_texts([node.get_text() for node in nodes])

    def __call__(self, node: DocNode) -> list[DocNode]:
        """The chunks of ``node`` as child DocNodes (no group; metadata shared through the parent link)."""
        return [DocNode(uid=make_uid("split", node.uid, i, text), text=text, parent=node)
                for i, text in enumerate(self.split_text(node.get_text()))]

"""Which language a folder's documents are written in, judged from a sample: what picks the embedder and the
lexical route when the user names neither (``ragjet ask / search / serve`` with ``--embed auto``).

An English-only embedder reads most Chinese characters as unknown tokens, and a dense route that cannot read
the documents drags a fused result below the lexical route alone; so a folder with Chinese in it gets the
multilingual embedder and jieba's words for BM25, and an English folder keeps the faster English model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..log import LOG
from ..models.embed.use_embedding import USE_MODEL_ID
from ..text.lang import cjk_share
from .readers import SimpleDirectoryReader

SAMPLE_FILES = 6  # the smallest files of the folder are read (a PDF's pages, a .docx's paragraphs)
SAMPLE_CHARS = 4000  # characters taken from each
MIXED_SHARE = 0.1  # a sample with this share of ideographs holds Chinese worth reading: the multilingual model
ENGLISH_EMBED = "all-MiniLM-L6-v2"
AUTO = "auto"  # the embedder for the documents' language
EMBED_FOR = {"en": ENGLISH_EMBED, "zh": USE_MODEL_ID}  # the embedder each language gets
LEXICAL_FOR = {"en": "bm25", "zh": "bm25_chinese"}  # the BM25 similarity each language gets


@dataclass(frozen=True)
class LanguageChoice:
    """The language of a folder's sample and what ragjet runs on it."""

    language: str  # "zh" (Chinese present) or "en"
    cjk_share: float
    embed: str  # the embedding model's name
    lexical: str  # the BM25 similarity: "bm25_chinese" (jieba words) or "bm25"
    sampled: int  # files read for the sample


def choose_for_documents(folder: str | Path) -> LanguageChoice:
    """Read a sample of ``folder`` and choose the embedder and lexical route for its language."""
    folder = Path(folder)
    files = SimpleDirectoryReader(input_dir=str(folder), recursive=True).list_files() if folder.is_dir() else [folder]
    texts = []
    for path in sorted(files, key=_size)[:SAMPLE_FILES]:
        nodes = SimpleDirectoryReader(input_files=[str(path)])()
        texts.append("".join(node.text for node in nodes)[:SAMPLE_CHARS])
    share = cjk_share(texts)
    language = "zh" if share >= MIXED_SHARE else "en"
    return LanguageChoice(language, share, EMBED_FOR[language], LEXICAL_FOR[language], len(texts))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def routes_for(folder: str | Path, embed: Optional[str], similarity: Optional[str]) -> tuple[Optional[str], str]:
    """The embedding model (``embed``: a name, ``"auto"`` or None for none) and the lexical similarity the
    commands use on ``folder``; the folder is sampled only when something is left to choose (``"auto"``, or
    no ``similarity`` named)."""
    if embed != AUTO and similarity is not None:
        return embed, similarity
    choice = choose_for_documents(folder)
    embed, similarity = (choice.embed if embed == AUTO else embed), (similarity or choice.lexical)
    LOG.info("documents in %s: %.0f%% Chinese characters in a sample of %d file(s): embedding with %s, lexical "
             "route %s", folder, 100 * choice.cjk_share, choice.sampled, embed or "none (lexical search only)",
             similarity)
    return embed, similarity

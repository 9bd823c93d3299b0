"""Chunks fit the embedding model's window: the default groups truncate nothing with the default embedder.

MiniLM reads 256 tokens, [CLS] and [SEP] included; 256-token MediumChunk chunks lost their last tokens to
truncation (842 of 1,310 chunks of a 1 MB upload), and truncated text is invisible to dense retrieval."""
from __future__ import annotations

import logging

import ragjet
from conftest import needs_local_model
from ragjet.data import sample_corpus

pytestmark = needs_local_model


def test_default_groups_truncate_no_chunk_with_the_default_embedder(tmp_path, caplog):
    texts = [p.read_text(encoding="utf-8") for p in sorted(sample_corpus().glob("*.md"))]
    long_text = "\n\n".join(f"Part {i}. {text}" for i, text in enumerate(texts * 8))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "long.md").write_text(long_text, encoding="utf-8")
    embed = ragjet.TrainableModule("all-MiniLM-L6-v2").start()
    doc = ragjet.Document(tmp_path / "docs", embed=embed)
    doc.create_node_group("Wide", transform=ragjet.SentenceSplitter(chunk_size=1024, chunk_overlap=100))
    before = embed.truncated_count
    with caplog.at_level(logging.INFO, logger="ragjet"):
        for group in ("MediumChunk", "FineChunk", "Wide"):
            assert ragjet.Retriever(doc, group, similarity="cosine", topk=3)("Why is the second start fast?")
    assert embed.truncated_count == before
    window = embed.content_window
    assert window == 254
    chunks = [n.get_content() for n in doc.store.get_nodes("MediumChunk")]
    counts = embed.count_tokens(chunks)
    assert max(counts) <= window and sum(c > 200 for c in counts) > len(counts) / 2  # full, not tiny
    assert "group 'Wide': chunks of at most 254 tokens instead of chunk_size=1024" in caplog.text
    assert any(r.levelno == logging.WARNING and "'Wide'" in r.getMessage() for r in caplog.records)

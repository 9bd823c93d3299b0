import logging

import numpy as np
import pytest

import ragjet
from ragjet import Document, Retriever
from ragjet.rag.doc_node import LAZY_ROOT_NAME, DocNode
from ragjet.rag.transforms import NodeTransform

from conftest import CountingEmbedder


def test_missing_dataset_path_names_the_path_when_it_is_used(tmp_path):
    missing = tmp_path / "nope"
    doc = Document(missing)  # LazyLLM allows a folder that appears later
    with pytest.raises(FileNotFoundError, match="nope.*LAZYLLM_DATA_PATH"):
        doc.start()


def test_a_folder_created_after_the_document_and_relative_data_paths(tmp_path, monkeypatch):
    import ragjet

    later = tmp_path / "later"
    doc = Document(later)
    later.mkdir()
    (later / "a.txt").write_text("Mars is the red planet.")
    assert ragjet.Retriever(doc, Document.MediumChunk, similarity="bm25", topk=1)("red planet")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAZYLLM_DATA_PATH", str(tmp_path / "data"))
    (tmp_path / "data" / "kb").mkdir(parents=True)
    assert Document("kb").dataset_path == tmp_path / "data" / "kb"
    assert Document("later").dataset_path == later  # the working directory first
    monkeypatch.setenv("RAGJET_DATA_PATH", str(tmp_path / "mine"))
    assert Document("kb").dataset_path == tmp_path / "data" / "kb"  # where it exists
    assert Document("new").dataset_path == tmp_path / "mine" / "new"  # else the first data path set
    assert (Document.CoarseChunk, Document.MediumChunk, Document.FineChunk) == ("CoarseChunk", "MediumChunk",
                                                                               "FineChunk")


def test_stop_closes_the_store_and_a_later_use_starts_it_again(corpus, tmp_path):
    import ragjet

    conf = {"type": "map", "kwargs": {"uri": str(tmp_path / "s.sqlite")}}
    doc = Document(corpus, store_conf=conf)
    retriever = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=1)
    first = retriever("red planet")
    doc.stop()
    assert doc._store is None
    assert [n.uid for n in retriever("red planet")] == [n.uid for n in first]


def test_unknown_store_type_lists_valid_ones(corpus):
    with pytest.raises(ValueError, match="registered: .*map"):
        Document(corpus, store_conf={"type": "redis"})


def test_nothing_happens_until_first_retrieval(corpus, counting_embed):
    calls = []
    doc = Document(corpus, embed=counting_embed)
    doc.create_node_group("sentences", transform=lambda t: calls.append(t) or t.split(". "))
    retriever = Retriever(doc, "sentences", topk=2)
    assert calls == [] and counting_embed.batches == []
    retriever("Which planet is red?")
    assert len(calls) == 3 and counting_embed.batches


def test_groups_are_built_only_when_a_retriever_needs_them(corpus, counting_embed):
    built = []

    class Recording(NodeTransform):
        def transform(self, node):
            built.append(node.text)
            return [node.text]

    doc = Document(corpus, embed=counting_embed)
    doc.create_node_group("unused", transform=Recording)
    doc.create_node_group("used", transform=lambda t: t.split(". "))
    Retriever(doc, "used", topk=1)("moon")
    assert built == []
    assert not doc.store.is_group_active("unused") and not doc.store.is_group_active("MediumChunk")
    Retriever(doc, "unused", topk=1).start()
    assert len(built) == 3


def test_embedding_is_batched_never_per_node(corpus, counting_embed):
    doc = Document(corpus, embed=counting_embed)
    doc.create_node_group("sentences", transform=lambda t: t.split(". "))
    Retriever(doc, "sentences", topk=1).start()
    n = doc.store.count("sentences")
    assert n == 9
    embedded = counting_embed.embedded
    assert sorted(embedded) == sorted(node.get_text() for node in doc.store.get_nodes("sentences"))
    assert len(counting_embed.batches) == -(-n // counting_embed.batch_size)
    assert all(len(b) <= counting_embed.batch_size for b in counting_embed.batches)


def test_lexical_retriever_embeds_nothing(corpus, counting_embed):
    doc = Document(corpus, embed=counting_embed)
    res = Retriever(doc, "MediumChunk", similarity="bm25", topk=1)("cheese milk")
    assert res[0].docpath.endswith("food.txt") and counting_embed.batches == []


def test_uids_are_deterministic_across_documents(corpus, counting_embed):
    def uids():
        doc = Document(corpus, embed=counting_embed)
        doc.create_node_group("sentences", transform=lambda t: t.split(". "), parent="MediumChunk")
        Retriever(doc, "sentences", similarity="bm25").start()
        return sorted(n.uid for n in doc.store.get_nodes("sentences"))
    assert uids() == uids()


def test_transform_forms(corpus):
    class Halves(NodeTransform):
        def __init__(self, parts=2):
            self.parts = parts

        def transform(self, node):
            step = max(1, len(node.text) // self.parts)
            return [node.text[i:i + step] for i in range(0, len(node.text), step)]

    doc = Document(corpus)
    doc.create_node_group("by_class", transform=Halves, parts=3)
    doc.create_node_group("by_instance", transform=Halves(4))
    doc.create_node_group("by_nodes", transform=lambda node: [DocNode(text=node.text.upper())], trans_node=True)
    for name in ("by_class", "by_instance", "by_nodes"):
        Retriever(doc, name, similarity="bm25").start()
    assert doc.store.count("by_class") >= 9 and doc.store.count("by_instance") >= 12
    upper = doc.store.get_nodes("by_nodes")
    assert all(n.text.isupper() and n.group == "by_nodes" and n.parent.group == LAZY_ROOT_NAME for n in upper)


def test_bad_transform_output_names_the_group(corpus):
    doc = Document(corpus)
    doc.create_node_group("broken", transform=lambda t: [1, 2])
    with pytest.raises(TypeError, match="'broken'"):
        Retriever(doc, "broken", similarity="bm25").start()


def test_bad_transform_argument(corpus):
    with pytest.raises(TypeError, match="'g'"):
        Document(corpus).create_node_group("g", transform=42)


def test_unknown_group_lists_groups(corpus):
    doc = Document(corpus)
    with pytest.raises(ValueError, match="MediumChunk"):
        Retriever(doc, "nope")
    with pytest.raises(ValueError, match="unknown node group 'ghost'"):
        doc.create_node_group("x", transform=str.split, parent="ghost")


def test_empty_folder_warns_and_returns_nothing(tmp_path, ragjet_log, counting_embed):
    empty = tmp_path / "empty"
    empty.mkdir()
    doc = Document(empty, embed=counting_embed)
    assert Retriever(doc, "MediumChunk")("anything") == []
    assert "no documents found" in ragjet_log.text


def test_bad_files_are_skipped_and_counted(corpus, counting_embed):
    (corpus / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (corpus / "thing.xyz").write_text("unsupported")
    doc = Document(corpus, embed=counting_embed)
    assert len(Retriever(doc, "MediumChunk", topk=10)("planet")) == 3
    assert doc.read_report.total_skipped == 2 and doc.read_report.loaded == 3


def test_add_reader_for_a_user_format(corpus, counting_embed):
    (corpus / "notes.yml").write_text("topic: volcanoes erupt lava")
    doc = Document(corpus, embed=counting_embed)
    doc.add_reader("*.yml", lambda path: path.read_text().split(": ", 1)[1])
    res = Retriever(doc, "MediumChunk", similarity="bm25", topk=1)("volcanoes")
    assert res[0].text == "volcanoes erupt lava"


def test_ragged_embedder_is_reported_with_both_lengths(corpus):
    lengths = iter([4, 4, 5, 5, 5, 5, 5, 5, 5, 5])

    def ragged(text):
        return [0.1] * next(lengths)

    doc = Document(corpus, embed=ragged)
    with pytest.raises(ValueError, match="4 and 5"):
        Retriever(doc, "MediumChunk").start()


def test_plain_callable_embed_works(corpus):
    fake = CountingEmbedder()
    doc = Document(corpus, embed=lambda text: fake.vector(text).tolist())
    res = Retriever(doc, "MediumChunk", topk=1)("the red planet Mars")
    assert res[0].docpath.endswith("space.md")


def test_several_embed_keys(corpus):
    a, b = CountingEmbedder(dim=32), CountingEmbedder(dim=48)
    doc = Document(corpus, embed={"a": a, "b": b})
    only_b = Retriever(doc, "MediumChunk", embed_keys=["b"], topk=1)
    assert only_b("milk cheese")[0].docpath.endswith("food.txt")
    assert a.batches == [] and b.batches
    both = Retriever(doc, "MediumChunk", topk=1)
    assert both("moon orbits")[0].docpath.endswith("space.md") and a.batches
    node = doc.store.get_nodes("MediumChunk")[0]
    assert node.embedding["a"].shape == (32,) and node.embedding["b"].shape == (48,)
    with pytest.raises(ValueError, match="unknown embed key"):
        Retriever(doc, "MediumChunk", embed_keys=["c"])


def test_register_index_after_start_sees_existing_nodes(corpus):
    from ragjet import IndexBase

    class Count(IndexBase):
        def __init__(self, store):
            self.store, self.seen = store, {}

        def update(self, nodes):
            self.seen.setdefault(nodes[0].group, set()).update(n.uid for n in nodes)

        def remove(self, uids, group_name=None):
            self.seen.get(group_name, set()).difference_update(uids)

        def query(self, query, group_name, **kw):
            return self.store.get_nodes(group_name, uids=sorted(self.seen.get(group_name, ())))

    doc = Document(corpus)
    Retriever(doc, "MediumChunk", similarity="bm25").start()
    doc.register_index("count", Count, doc.get_store())
    index = doc.store.get_index("count")
    assert len(index.seen["MediumChunk"]) == 3
    res = Retriever(doc, "MediumChunk", index="count", topk=2)("anything")
    assert len(res) == 2 and all(isinstance(n, DocNode) for n in res)
    doc.store.remove_nodes("MediumChunk", [res[0].uid])
    assert len(index.seen["MediumChunk"]) == 2


def test_an_index_returning_uids_is_told_the_one_result_shape(corpus):
    from ragjet import IndexBase

    class Uids(IndexBase):
        def update(self, nodes):
            self.uids = [n.uid for n in nodes]

        def remove(self, uids, group_name=None):
            pass

        def query(self, query, group_name, **kw):
            return self.uids

    doc = Document(corpus)
    doc.register_index("uids", Uids)
    with pytest.raises(TypeError, match=r"index 'uids' returned str items.*returns DocNodes.*store.get_nodes"):
        Retriever(doc, "MediumChunk", index="uids", topk=2)("anything")


def test_get_embed_placeholder_resolves(corpus, counting_embed):
    from ragjet import IndexBase

    class Holder(IndexBase):
        def __init__(self, store, embed):
            self.store, self.embed = store, embed

        def update(self, nodes):
            pass

        def remove(self, uids, group_name=None):
            pass

        def query(self, *a, **k):
            return []

    doc = Document(corpus, embed=counting_embed)
    doc.register_index("holder", Holder, doc.get_store(), embed=doc.get_embed())
    doc.start()
    holder = doc.store.get_index("holder")
    assert holder.store is doc.store and set(holder.embed) == {"default"}


class Truncating(CountingEmbedder):
    """Reports every text over 60 characters as truncated, as the local model counts the chunks it cuts."""

    truncated_count = 0

    def embed_batch(self, texts):
        self.truncated_count += sum(len(t) > 60 for t in texts)
        return super().embed_batch(texts)


def _truncation_warnings(doc: Document) -> list[str]:
    """The truncation warnings ragjet's logger emits while ``doc`` starts, each counted once (a handler of
    its own: pytest's capture sees a record once per handler it installed)."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = seen.append
    ragjet.LOG.addHandler(handler)
    try:
        Retriever(doc, "MediumChunk").start()
    finally:
        ragjet.LOG.removeHandler(handler)
    return [r.getMessage() for r in seen if "truncated" in r.getMessage()]


def test_truncation_warning_from_a_model_that_reports_it(corpus):
    warnings = _truncation_warnings(Document(corpus, embed=Truncating()))
    assert len(warnings) == 1 and "'MediumChunk'" in warnings[0]


def test_truncation_warns_once_per_group_over_many_batches(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(150):  # more files than one ingestion batch holds
        (folder / f"f{i:03}.txt").write_text(f"File {i} holds one sentence that is long enough to be truncated.")
    warnings = _truncation_warnings(Document(folder, embed=Truncating()))
    assert len(warnings) == 1 and warnings[0].startswith("150 of 150 chunks of group 'MediumChunk'")


def test_vectors_are_float32_arrays(corpus, counting_embed):
    doc = Document(corpus, embed=counting_embed)
    Retriever(doc, "MediumChunk").start()
    vec = doc.store.get_nodes("MediumChunk")[0].embedding["default"]
    assert isinstance(vec, np.ndarray) and vec.dtype == np.float32

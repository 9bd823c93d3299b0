"""JSONSplitter, JSONLSplitter, YAMLSplitter: chunks that are valid JSON, with their path."""
from __future__ import annotations

import json

import pytest

from ragjet.rag.doc_node import DocNode, MetadataMode
from ragjet.rag.transforms import TRANSFORMS, JSONLSplitter, JSONSplitter, YAMLSplitter, approx_token_counts

NESTED = '{"a": 1, "b": {"c": "hello world this is long text", "d": [1,2,3]}, "e": "x"}'


def test_nested_json_matches_lazyllm():
    # verified by running LazyLLM 1.4: JSONSplitter(chunk_size=20, overlap=0).split_text(NESTED, 0)
    chunks = JSONSplitter(chunk_size=20, overlap=0).split_text(NESTED)
    assert [(c.text, c.metadata["path"], c.metadata["depth"]) for c in chunks] == [
        ('{"a": 1}', "root", 0), ('{"c": "hello world this is long text"}', "b", 1),
        ('{"d": [1, 2, 3]}', "b", 1), ('{"e": "x"}', "root", 0)]
    assert [c.metadata["keys"] for c in chunks] == [["a"], ["c"], ["d"], ["e"]]
    assert all(c.metadata["filetype"] == "json" and c.metadata["type"] == "dict" for c in chunks)


def test_a_value_that_fits_is_one_chunk():
    # LazyLLM's test_simple_json input; LazyLLM 1.4 gives the same single chunk
    chunk, = JSONSplitter(chunk_size=100, overlap=0).split_text('{"name": "John", "age": 30, "city": "New York"}')
    assert chunk.text == '{"name": "John", "age": 30, "city": "New York"}'
    assert chunk.metadata["is_complete"] is True and chunk.metadata["path"] == "root"
    formatted, = JSONSplitter(chunk_size=100, overlap=0, compact_output=False).split_text('{"a": 1, "b": 2}')
    assert formatted.text == '{\n  "a": 1,\n  "b": 2\n}'


def test_arrays_long_strings_and_sizes():
    data = {"a": "This is a very long text field that will be split into multiple parts because it exceeds "
                 "the chunk size", "b": list(range(1, 40))}
    chunks = JSONSplitter(chunk_size=15, overlap=0).split_text(json.dumps(data))
    strings = [c for c in chunks if c.metadata["type"] == "string"]
    lists = [c for c in chunks if c.metadata["type"] == "list"]
    assert " ".join(c.text for c in strings) == data["a"]
    assert [n for c in lists for n in json.loads(c.text)] == data["b"]
    assert all(c.metadata["path"] == "b" for c in lists)
    assert max(approx_token_counts([c.text for c in chunks])) <= 15
    assert "path: b" in lists[0].get_metadata_str(MetadataMode.EMBED)
    assert "depth" not in lists[0].get_metadata_str(MetadataMode.EMBED)


def test_deep_paths_name_list_indexes():
    data = {"users": [{"name": "n" * 5, "bio": "word " * 40}]}
    chunks = JSONSplitter(chunk_size=20, overlap=0).split_text(json.dumps(data))
    assert {c.metadata["path"] for c in chunks} == {"users/[0]", "users/[0]/bio"}


def test_invalid_json_names_the_place_and_the_right_splitter():
    with pytest.raises(ValueError, match=r"line 2, column 7: Expecting value \(fix the file"):
        JSONSplitter().split_text('{"a": 1,\n "b": }')
    with pytest.raises(ValueError, match="line 2, column 1: Extra data .*use JSONLSplitter"):
        JSONSplitter().split_text('{"a": 1}\n{"b": 2}')
    node = DocNode(uid="n", text="{oops", global_metadata={"file_path": "/data/bad.json"})
    with pytest.raises(ValueError, match="^/data/bad.json: invalid JSON at line 1, column 2"):
        JSONSplitter().batch_forward([node])


def test_jsonl_records_one_chunk_each_with_their_line():
    # LazyLLM 1.4 gives the same two chunks for these lines (metadata without `line`)
    text = '{"id": 1, "name": "Alice"}\n{"id": 2, "name": "Bob"}\n\n{\n "id": 3\n}\n[1, 2]'
    chunks = JSONLSplitter(chunk_size=200, overlap=0).split_text(text)
    assert [(c.text, c.metadata["line"]) for c in chunks] == [
        ('{"id": 1, "name": "Alice"}', 1), ('{"id": 2, "name": "Bob"}', 2), ('{"id": 3}', 4), ("[1, 2]", 7)]
    assert all(c.metadata["filetype"] == "jsonl" for c in chunks)
    assert JSONLSplitter(chunk_size=200, overlap=0).split_text("") == []


def test_a_bad_jsonl_record_is_an_error_not_a_silent_skip():
    with pytest.raises(ValueError, match="invalid JSON Lines record at line 2, column 6"):
        JSONLSplitter().split_text('{"a": 1}\n{"b":')


def test_yaml_documents_as_json_chunks():
    pytest.importorskip("yaml")
    # LazyLLM 1.4 gives '{"name": "MyProject", "version": "1.0.0"}' for the first document
    text = "name: MyProject\nversion: 1.0.0\nreleased: 2024-01-01\n---\nother: 2\n"
    chunks = YAMLSplitter(chunk_size=100, overlap=0).split_text(text)
    assert [c.text for c in chunks] == ['{"name": "MyProject", "version": "1.0.0", "released": "2024-01-01"}',
                                        '{"other": 2}']
    assert chunks[0].metadata["filetype"] == "yaml"


def test_invalid_yaml_names_the_place():
    pytest.importorskip("yaml")
    with pytest.raises(ValueError, match="invalid YAML at line 3, column 2"):
        YAMLSplitter().split_text("a:\n  - x\n - y\n")


def test_yaml_without_pyyaml_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == "yaml":
            raise ImportError("no yaml")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    with pytest.raises(ImportError, match=r"pip install 'ragjet\[readers\]'"):
        YAMLSplitter().split_text("a: 1")


def test_registered_names():
    for cls in (JSONSplitter, JSONLSplitter, YAMLSplitter):
        assert TRANSFORMS.get(cls.__name__) is cls
    assert "compact_output=False" in JSONSplitter(compact_output=False).identity()

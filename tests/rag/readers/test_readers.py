"""Readers: exact decoding, each built-in format, directory walking options, and skipping bad files."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ragjet.rag.doc_node import LAZY_ROOT_NAME
from ragjet.rag.readers import (READERS, ReadReport, SimpleDirectoryReader, UnreadableFile, decode_bytes,
                                register_reader)
from sample_pdf import tiny_pdf


def read(path: Path, **kwargs) -> tuple[list, ReadReport]:
    reader = SimpleDirectoryReader(path, **kwargs)
    nodes = reader()
    return nodes, reader.report


def names(nodes) -> list[str]:
    return [n.global_metadata["file_name"] for n in nodes]


# -- text and encodings ---------------------------------------------------------------------------------
def test_utf8_text_and_metadata(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("héllo wörld", encoding="utf-8")
    nodes, report = read(tmp_path)
    assert [n.text for n in nodes] == ["héllo wörld"]
    node = nodes[0]
    assert node.group == LAZY_ROOT_NAME
    meta = node.global_metadata
    assert meta["file_path"] == meta["doc_id"] == str(path)
    assert meta["file_name"] == "a.txt" and meta["file_type"] == "txt"
    assert meta["file_size"] == path.stat().st_size
    assert meta["last_modified"] == path.stat().st_mtime
    assert (report.loaded, report.nodes, report.total_skipped) == (1, 1, 0)


def test_gb18030_chinese(tmp_path):
    text = "检索增强生成：先检索文档，再让大模型回答。"
    (tmp_path / "zh.txt").write_bytes(text.encode("gb18030"))
    nodes, _ = read(tmp_path)
    assert nodes[0].text == text


def test_crlf_preserved(tmp_path):
    (tmp_path / "crlf.txt").write_bytes(b"a\r\nb\r\n")
    nodes, _ = read(tmp_path)
    assert nodes[0].text == "a\r\nb\r\n"
    assert nodes[0].text.split("\r\n") == ["a", "b", ""]


def test_utf8_bom_stripped(tmp_path):
    (tmp_path / "bom.md").write_bytes(b"\xef\xbb\xbf# Title\n")
    nodes, _ = read(tmp_path)
    assert nodes[0].text == "# Title\n"


def test_decode_bytes_utf16_with_bom_and_fallbacks():
    assert decode_bytes("ünïcode".encode("utf-16")) == "ünïcode"
    assert decode_bytes(b"") == ""
    with pytest.raises(UnreadableFile) as info:
        decode_bytes(b"PK\x03\x04\x00\x00binary")
    assert info.value.category == "binary"


def test_binary_txt_skipped(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"\x00\x01\x02text\x00" * 10)
    (tmp_path / "ok.txt").write_text("fine")
    nodes, report = read(tmp_path)
    assert [n.text for n in nodes] == ["fine"]
    assert report.skipped == {"binary": [str(tmp_path / "x.txt")]}


def test_empty_and_blank_files_are_skipped_and_counted(tmp_path, caplog):
    (tmp_path / "blank.txt").write_text("  \n\t\n")
    (tmp_path / "empty.md").write_bytes(b"")
    nodes, report = read(tmp_path)
    assert nodes == [] and report.loaded == 0
    assert report.skipped == {"empty": [str(tmp_path / "blank.txt"), str(tmp_path / "empty.md")]}
    assert "empty.md (empty)" in caplog.text


PROSE = ("Retrieval finds the passages that answer a question; the model then reads them and writes the answer. "
         "Caching makes a second start fast. ")


def test_one_bad_byte_is_replaced_and_counted_not_a_reason_to_drop_the_file(tmp_path, caplog):
    text = PROSE * 6 + "Café, naïve and 中文 stay intact. " + PROSE * 5
    data = text.encode()
    middle = len(data) // 2
    (tmp_path / "damaged.txt").write_bytes(data[:middle] + b"\xff" + data[middle:])
    nodes, report = read(tmp_path)
    assert len(nodes) == 1 and nodes[0].text == text[:middle] + "\ufffd" + text[middle:]
    assert report.loaded == 1 and "1 invalid UTF-8 sequence replaced" in report.repaired[str(tmp_path / "damaged.txt")]
    assert "damaged.txt: 1 invalid UTF-8 sequence replaced by U+FFFD" in caplog.text
    assert "1 with an encoding guess or replaced bytes" in report.summary()


def test_legacy_encodings_decode_right_and_are_named(tmp_path, caplog):
    latin = ("Les élèves étudient à l'école; le café est très chaud et la crème brûlée est délicieuse. " * 9)
    chinese = "检索增强生成先找到相关段落，再让模型根据段落回答问题。第二次启动很快，因为文件没有变化。" * 8
    (tmp_path / "latin1.txt").write_bytes(latin.encode("latin-1"))
    (tmp_path / "gbk.txt").write_bytes(chinese.encode("gbk"))
    nodes, report = read(tmp_path)
    assert {Path(n.global_metadata["file_path"]).name: n.text for n in nodes} == {"latin1.txt": latin,
                                                                                    "gbk.txt": chinese}
    assert "GB18030" in report.repaired[str(tmp_path / "gbk.txt")]
    guess = report.repaired[str(tmp_path / "latin1.txt")]
    assert "charset_normalizer's guess" in guess and "confidence" in guess and "latin1.txt: not UTF-8" in caplog.text


# -- other formats ----------------------------------------------------------------------------------------
def test_html_drops_scripts_and_styles(tmp_path):
    (tmp_path / "page.html").write_text(
        "<!DOCTYPE html><html><head><title>T</title><style>body{color:red}</style>"
        "<script>alert('x')</script></head><body><h1>Heading</h1>\n\n\n\n<p>First <b>bold</b> para.</p>"
        "<noscript>enable js</noscript><template><p>hidden</p></template><p>Second</p></body></html>",
        encoding="utf-8")
    nodes, _ = read(tmp_path)
    text = nodes[0].text
    assert "Heading" in text and "bold" in text and "Second" in text
    for gone in ("color:red", "alert", "enable js", "hidden", "DOCTYPE", "<p>"):
        assert gone not in text
    assert "\n\n\n" not in text


def test_docx_paragraphs_then_tables(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("First paragraph.")
    document.add_paragraph("Second paragraph.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("name", "value"), ("alpha", "1")]):
        for c, cell_text in enumerate(row):
            table.cell(r, c).text = cell_text
    document.save(tmp_path / "doc.docx")
    nodes, _ = read(tmp_path)
    assert nodes[0].text == "First paragraph.\nSecond paragraph.\nname | value\nalpha | 1"
    assert nodes[0].global_metadata["file_type"] == "docx"


def test_pdf_one_part_per_page(tmp_path):
    pytest.importorskip("pypdf")
    (tmp_path / "hello.pdf").write_bytes(tiny_pdf("Hello PDF world"))
    nodes, report = read(tmp_path)
    assert len(nodes) == 1 and report.total_skipped == 0
    assert "Hello PDF world" in nodes[0].text
    assert nodes[0].metadata == {"page": 1}
    assert nodes[0].global_metadata["file_type"] == "pdf"


def test_broken_pdf_is_unreadable(tmp_path):
    pytest.importorskip("pypdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    nodes, report = read(tmp_path)
    assert nodes == []
    assert report.skipped == {"unreadable": [str(tmp_path / "broken.pdf")]}


def test_a_scanned_pdf_is_counted_and_named_as_such(tmp_path, ragjet_log):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)  # a page with no text layer, as a scanner writes one
    writer.add_blank_page(width=200, height=200)
    with open(tmp_path / "scan.pdf", "wb") as f:
        writer.write(f)
    (tmp_path / "a.txt").write_text("still read")
    nodes, report = read(tmp_path)
    assert [n.text for n in nodes] == ["still read"]
    assert report.skipped == {"scanned": [str(tmp_path / "scan.pdf")]}
    log = ragjet_log.text
    assert "scan.pdf" in log and "scanned PDF: its 2 page(s) hold no text" in log and "OCR" in log
    assert "1 scanned" in report.summary()


def test_a_docx_that_is_a_zip_of_something_else_is_named(tmp_path):
    pytest.importorskip("docx")
    import zipfile

    with zipfile.ZipFile(tmp_path / "fake.docx", "w") as archive:
        archive.writestr("notes.txt", "not a Word document")
    (tmp_path / "a.txt").write_text("still read")
    nodes, report = read(tmp_path)
    assert [n.text for n in nodes] == ["still read"]
    assert report.skipped == {"unreadable": [str(tmp_path / "fake.docx")]}


def test_missing_extra_skips_with_warning(tmp_path, monkeypatch, ragjet_log):
    monkeypatch.setitem(sys.modules, "pypdf", None)
    (tmp_path / "hello.pdf").write_bytes(tiny_pdf("Hello"))
    (tmp_path / "a.txt").write_text("still read")
    nodes, report = read(tmp_path)
    assert [n.text for n in nodes] == ["still read"]
    assert report.skipped == {"missing-extra": [str(tmp_path / "hello.pdf")]}
    assert "ragjet[readers]" in ragjet_log.text and "hello.pdf" in ragjet_log.text


# -- skipping -------------------------------------------------------------------------------------------
def test_unsupported_extension_skipped(tmp_path, ragjet_log):
    (tmp_path / "data.xyz").write_text("?")
    (tmp_path / "a.txt").write_text("a")
    nodes, report = read(tmp_path)
    assert names(nodes) == ["a.txt"]
    assert report.skipped == {"unsupported": [str(tmp_path / "data.xyz")]}
    assert "data.xyz" in ragjet_log.text and ".xyz" in ragjet_log.text


def test_failing_reader_does_not_abort(tmp_path):
    def explode(path: Path) -> str:
        raise RuntimeError("reader bug")

    (tmp_path / "a.boom").write_text("x")
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "c.txt").write_text("c")
    nodes, report = read(tmp_path, file_extractor={"*.boom": explode})
    assert [n.text for n in nodes] == ["b", "c"]
    assert report.loaded == 2
    assert report.skipped == {"error": [str(tmp_path / "a.boom")]}


def test_reader_returning_wrong_type_is_an_error(tmp_path):
    (tmp_path / "a.odd").write_text("x")
    _, report = read(tmp_path, file_extractor={".odd": lambda path: 42})
    assert report.skipped == {"error": [str(tmp_path / "a.odd")]}


def test_report_summary_counts(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_bytes(b"\x00\x00")
    (tmp_path / "c.xyz").write_text("c")
    _, report = read(tmp_path)
    assert report.summary() == "read 1 file (1 part); skipped 2: 1 unsupported, 1 binary"
    full = ReadReport(loaded=12, nodes=30, skipped={"unreadable": ["u"], "binary": ["b"], "unsupported": ["x"]})
    assert full.summary() == "read 12 files (30 parts); skipped 3: 1 unsupported, 1 binary, 1 unreadable"
    assert ReadReport(loaded=2, nodes=5).summary() == "read 2 files (5 parts)"


# -- choosing files -------------------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ("a.md", "b.txt", "sub/c.md", "sub/deep/d.txt", "drafts/e.md", ".hidden.txt", ".git/f.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return tmp_path


def test_non_recursive_by_default(tree):
    nodes, _ = read(tree)
    assert names(nodes) == ["a.md", "b.txt"]


def test_recursive_sorted_and_hidden_excluded(tree):
    nodes, _ = read(tree, recursive=True)
    assert [n.text for n in nodes] == ["a.md", "b.txt", "drafts/e.md", "sub/c.md", "sub/deep/d.txt"]


def test_hidden_included_on_request(tree):
    nodes, _ = read(tree, recursive=True, exclude_hidden=False)
    assert {".hidden.txt", ".git/f.txt"} <= {n.text for n in nodes}


def test_required_exts(tree):
    nodes, _ = read(tree, recursive=True, required_exts=[".md"])
    assert [n.text for n in nodes] == ["a.md", "drafts/e.md", "sub/c.md"]
    nodes, _ = read(tree, recursive=True, required_exts=["TXT"])
    assert [n.text for n in nodes] == ["b.txt", "sub/deep/d.txt"]


def test_exclude_patterns(tree):
    nodes, _ = read(tree, recursive=True, exclude=["drafts", "*.txt"])
    assert [n.text for n in nodes] == ["a.md", "sub/c.md"]
    nodes, _ = read(tree, recursive=True, exclude=["sub/*"])
    assert [n.text for n in nodes] == ["a.md", "b.txt", "drafts/e.md"]


def test_input_files(tree):
    files = [tree / "sub" / "c.md", str(tree / "a.md")]
    nodes = SimpleDirectoryReader(input_files=files).load_data()
    assert [n.text for n in nodes] == ["a.md", "sub/c.md"]


def test_single_file_as_input_dir(tree):
    nodes, _ = read(tree / "sub" / "c.md")
    assert [n.text for n in nodes] == ["sub/c.md"]


def test_num_files_limit(tree):
    nodes, _ = read(tree, recursive=True, num_files_limit=2)
    assert [n.text for n in nodes] == ["a.md", "b.txt"]


def test_missing_dir_raises_with_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        SimpleDirectoryReader(missing)
    with pytest.raises(FileNotFoundError, match="gone.txt"):
        SimpleDirectoryReader(input_files=[tmp_path / "gone.txt"])


# -- custom readers and determinism ----------------------------------------------------------------------
def test_file_extractor_yml(tmp_path):
    def read_yml(path: Path) -> list[tuple[str, dict]]:
        return [(line, {"line": i}) for i, line in enumerate(path.read_text().splitlines())]

    (tmp_path / "conf.yml").write_text("a: 1\nb: 2\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "x.conf").write_text("k=v")
    nodes, report = read(tmp_path, recursive=True,
                         file_extractor={"*.yml": read_yml, "**/*.conf": lambda p: p.read_text()})
    assert [(n.text, n.metadata) for n in nodes] == [("a: 1", {"line": 0}), ("b: 2", {"line": 1}), ("k=v", {})]
    assert nodes[0].global_metadata is nodes[1].global_metadata
    assert nodes[0].global_metadata["file_type"] == "yml"
    assert report.total_skipped == 0


def test_file_extractor_overrides_builtin_and_accepts_docnodes(tmp_path):
    from ragjet.rag.doc_node import DocNode

    (tmp_path / "a.txt").write_text("original")
    nodes, _ = read(tmp_path, file_extractor={"*.txt": lambda p: [DocNode(text="custom", metadata={"k": 1})]})
    assert [(n.text, n.metadata, n.group) for n in nodes] == [("custom", {"k": 1}, LAZY_ROOT_NAME)]


def test_register_reader(tmp_path):
    @register_reader("RJTEST")
    def read_rjtest(path: Path) -> list[str]:
        return [path.read_text().upper()]

    assert READERS.get(".rjtest") is read_rjtest
    (tmp_path / "a.rjtest").write_text("shout")
    nodes, _ = read(tmp_path)
    assert [n.text for n in nodes] == ["SHOUT"]


def test_uids_deterministic(tree):
    first, _ = read(tree, recursive=True)
    second, _ = read(tree, recursive=True)
    assert [n.uid for n in first] == [n.uid for n in second]
    assert len({n.uid for n in first}) == len(first)

"""XMLSplitter and HTMLSplitter: the text of elements and sections, with where they sit."""
from __future__ import annotations

import pytest

from ragjet.rag.doc_node import MetadataMode
from ragjet.rag.transforms import TRANSFORMS, HTMLSplitter, XMLSplitter, approx_token_counts

LIBRARY = '<library><book id="1"><title>Python Programming</title><author>John Doe</author></book></library>'


def test_xml_elements_match_lazyllm():
    # verified by running LazyLLM 1.4: XMLSplitter(chunk_size=100, overlap=0, keep_tags=True, keep_trace=True)
    chunks = XMLSplitter(chunk_size=100, overlap=0, keep_tags=True, keep_trace=True).split_text(LIBRARY)
    assert [(c.text, c.metadata["tag"], c.metadata["trace"]) for c in chunks] == [
        ("Python Programming", "title", ["library", 'book id="1"', "title"]),
        ("John Doe", "author", ["library", 'book id="1"', "author"])]
    assert all("filetype" not in c.metadata for c in chunks)  # as LazyLLM's test_basic_xml_split expects


def test_xml_attributes_and_text_between_children():
    """LazyLLM drops the text that follows a child element ("world" below); ragjet keeps it."""
    chunks = XMLSplitter(chunk_size=100, overlap=0).split_text(
        '<root><element type="text" lang="en">Content here</element><p>Hello <b>bold</b> world</p></root>')
    assert [c.text for c in chunks] == ["Content here", "Hello world", "bold"]
    assert chunks[0].metadata["attr_type"] == "text" and chunks[0].metadata["attributes"] == {"type": "text",
                                                                                                "lang": "en"}
    assert "trace" not in chunks[0].metadata and "tag" not in chunks[0].metadata


def test_invalid_xml_names_the_place():
    with pytest.raises(ValueError, match=r"invalid XML at line 1, column 16: .*HTMLSplitter"):
        XMLSplitter().split_text("<unclosed><tag>")


def test_html_sections_match_lazyllm():
    # verified by running LazyLLM 1.4: HTMLSplitter(chunk_size=100, overlap=0) on this document
    html = ("<html><body><article><h2>Section 1</h2><p>Section 1 content.</p></article>"
            "<footer><p>Footer content</p></footer></body></html>")
    chunks = HTMLSplitter(chunk_size=100, overlap=0).split_text(html)
    assert [(c.text, c.metadata["section_type"], c.metadata["heading_text"]) for c in chunks] == [
        ("Section 1\nSection 1 content.", "article", "Section 1"), ("Footer content", "footer", "")]
    assert chunks[0].metadata["heading_level"] == 2 and chunks[0].metadata["filetype"] == "html"


def test_html_headings_scripts_and_inline_text():
    html = ("<html><head><title>T</title><style>body{}</style></head><body><h1>Main</h1><p>Intro <b>para</b>."
            "</p><script>x()</script><h2>Next</h2><ul><li>a</li><li>b</li></ul></body></html>")
    chunks = HTMLSplitter(chunk_size=100, overlap=0).split_text(html)
    assert [c.text for c in chunks] == ["T", "Main\nIntro para.", "Next\na\nb"]
    assert [c.metadata["heading_text"] for c in chunks] == ["", "Main", "Next"]
    assert "heading_text: Main" in chunks[1].get_metadata_str(MetadataMode.EMBED)
    assert "has_heading" not in chunks[1].get_metadata_str(MetadataMode.EMBED)


def test_html_long_section_is_cut_to_size():
    html = "<body><h1>Long</h1>" + "<p>A sentence with several words in it.</p>" * 40 + "</body>"
    chunks = HTMLSplitter(chunk_size=50, overlap=0).split_text(html)
    assert len(chunks) > 1 and max(approx_token_counts([c.text for c in chunks])) <= 50
    assert all(c.metadata["heading_text"] == "Long" for c in chunks)
    assert HTMLSplitter().split_text("") == []


def test_registered_names():
    assert TRANSFORMS.get("XMLSplitter") is XMLSplitter and TRANSFORMS.get("HTMLSplitter") is HTMLSplitter

"""Lines a PDF wrapped inside a Chinese sentence are joined back; paragraph ends, headings and list items stay."""
from pathlib import Path

import pytest

from ragjet.text.wrapped_lines import join_wrapped_lines

LECTURE_PDF = (Path(__file__).resolve().parents[4] / "shared" / "lecture12" / "docs"
               / "附件1-北京市引进人才管理办法（试行）.pdf")


def test_a_wrap_inside_a_sentence_is_joined_without_a_space():
    assert join_wrapped_lines("围绕城市总体规划布\n局，立足首都，坚持政治站位，\n坚持首善标准") == \
        "围绕城市总体规划布局，立足首都，坚持政治站位，坚持首善标准"
    assert join_wrapped_lines("获得 3 项以上\n（含）发明专利") == "获得 3 项以上（含）发明专利"


def test_paragraph_ends_headings_and_list_items_keep_their_lines():
    kept = ["制定本办法。\n第二条 围绕", "可快速办理引进手续：\n（一）专家", "入选专家；\n（二）入选人",
            "结合本市实际 \n第二条", "第五章 附则\n第十九条 本办法", "如下\n（一）在京承担", "条件如下\n二、材料",
            "English lines\nstay as they are", "한국어 문장\n다음 줄"]
    for text in kept:
        assert join_wrapped_lines(text) == text


@pytest.mark.skipif(not LECTURE_PDF.exists(), reason=f"shared lecture documents absent: {LECTURE_PDF}")
def test_the_lectures_chinese_pdf_reads_as_whole_sentences():
    pytest.importorskip("pypdf")
    from ragjet.rag.readers.pdf import read_pdf

    text = "\n".join(part for part, _ in read_pdf(LECTURE_PDF))
    assert "城市总体规划布局" in text and "符合以下条件之一的人员来京工作的" in text
    assert "\n第三条" in text and "\n（一）" in text

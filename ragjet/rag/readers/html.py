"""HTML: the visible text of the page, without scripts, styles and markup."""
from __future__ import annotations

import re
from pathlib import Path

from ragjet.rag.readers.encoding import decode_bytes
from ragjet.rag.readers.registry import register_reader
from ragjet.registry import missing_extra

_INVISIBLE_TAGS = ("script", "style", "noscript", "template")
_BLANK_RUNS = re.compile(r"\n{3,}")


@register_reader(".html", ".htm")
def read_html(path: Path) -> list[str]:
    """The page's text, one line per block, with runs of blank lines collapsed to one."""
    try:
        from bs4 import BeautifulSoup
    except ImportError:
        raise missing_extra("beautifulsoup4", "readers") from None
    soup = BeautifulSoup(decode_bytes(path.read_bytes()), "html.parser")
    for tag in soup(_INVISIBLE_TAGS):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return [_BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()]

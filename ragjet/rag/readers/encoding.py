"""Turning a file's bytes into text without losing or mangling any of it.

Files are read as bytes and decoded here so that nothing is normalised behind the caller's back: line endings
stay as they are in the file (CRLF stays CRLF). Chinese files saved as GB18030/GBK are common, so that encoding is
tried right after UTF-8, before falling back to charset_normalizer's guess.
"""
from __future__ import annotations

import codecs

from ragjet.rag.readers.registry import UnreadableFile

BINARY_SNIFF_BYTES = 8192

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
              (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def looks_binary(data: bytes) -> bool:
    """True when ``data`` has a NUL byte in its first 8 KiB: text files (other than UTF-16/32) never do."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def decode_bytes(data: bytes) -> str:
    """Decode a text file's bytes exactly: strip a byte-order mark, then try strict UTF-8, strict GB18030 and
    charset_normalizer's best guess. Raises `UnreadableFile` for binary data or when nothing decodes."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableFile(f"invalid {codec} after its byte-order mark: {exc.reason}") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if looks_binary(data):
        raise UnreadableFile("binary")
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableFile("not UTF-8, not GB18030, and charset_normalizer found no encoding that fits")
    return str(best)

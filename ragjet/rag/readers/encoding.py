"""Turning a file's bytes into text without losing or mangling any of it.

Files are read as bytes and decoded here so that nothing is normalised behind the caller's back: line endings
stay as they are in the file (CRLF stays CRLF). The order of attempts:

1. a byte-order mark names the encoding;
2. strict UTF-8;
3. UTF-8 with a few damaged bytes (a bad sector, a truncated copy): each invalid sequence becomes U+FFFD and
   is counted, rather than the whole file being dropped for one byte;
4. strict GB18030, common for Chinese files, kept only when the result reads as Chinese (runs of CJK
   characters): Latin-1 bytes before an ASCII letter also decode as GB18030, into stray CJK characters;
5. charset_normalizer's guess, named with its confidence;
6. UTF-8 with replacements as the last resort, when under a third of the sequences are invalid.

Every decoding other than 1 and 2 is reported with `note_decoding` (the directory reader logs it with the
file's path and counts it in its `ReadReport`).
"""
from __future__ import annotations

import codecs

from ragjet.rag.readers.registry import UnreadableFile
from ragjet.rag.readers.report import note_decoding

BINARY_SNIFF_BYTES = 8192
# UTF-8 with damage, not another encoding: at most this share of the non-ASCII sequences is invalid, or the
# invalid ones are at most one per this many bytes.
MAX_DAMAGED_SHARE = 0.1
BYTES_PER_DAMAGE = 1000
LAST_RESORT_SHARE = 1 / 3
WESTERN = {"cp1252", "latin_1", "iso8859_15"}
MIN_CJK_SHARE = 0.9  # GB18030: CJK characters among the non-ASCII ones...
MIN_CJK_RUN_SHARE = 0.5  # ...and the share of them next to another non-ASCII character

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
              (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def looks_binary(data: bytes) -> bool:
    """True when ``data`` has a NUL byte in its first 8 KiB: text files (other than UTF-16/32) never do."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def decode_bytes(data: bytes) -> str:
    """Decode a text file's bytes (see the module's order). Raises `UnreadableFile` for binary data or when
    nothing decodes."""
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
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text, bad = utf8_with_replacements(data)
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # non-ASCII characters decoded, at C speed
    if bad <= MAX_DAMAGED_SHARE * (bad + good) or bad * BYTES_PER_DAMAGE <= len(data):
        note_decoding(f"{_count(bad, 'invalid UTF-8 sequence')} replaced by U+FFFD")
        return text
    chinese = _gb18030(data)
    if chinese is not None:
        note_decoding("not UTF-8: decoded as GB18030 (strict, and it reads as Chinese)")
        return chinese
    guessed = _guess(data)
    if guessed is not None:
        return guessed
    if bad <= LAST_RESORT_SHARE * (bad + good + text.count("\n") + 1):
        note_decoding(f"no encoding fits: read as UTF-8 with {_count(bad, 'invalid sequence')} replaced by U+FFFD")
        return text
    raise UnreadableFile("not UTF-8, not GB18030, and charset_normalizer found no encoding that fits")


def utf8_with_replacements(data: bytes) -> tuple[str, int]:
    """``data`` decoded as UTF-8 with each invalid sequence replaced by U+FFFD, and how many were replaced
    (U+FFFD characters the file itself holds are not counted)."""
    text = data.decode("utf-8", "replace")
    return text, text.count("\ufffd") - data.count("\ufffd".encode())


def _guess(data: bytes) -> str | None:
    """charset_normalizer's best decoding, the Western one first among equally good guesses (cp1250 and
    cp1252 often tie on French or German text, and Western files are the more common), noted with its
    confidence and the encodings that fit as well."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    tied = [m for m in matches if (m.chaos, m.coherence) == (matches[0].chaos, matches[0].coherence)]
    best = next((m for m in tied if WESTERN & set(m.could_be_from_charset)), tied[0])
    others = [m.encoding for m in tied if m is not best]
    note_decoding(f"not UTF-8: decoded as {best.encoding}, charset_normalizer's guess (confidence "
                  f"{1 - best.chaos:.0%}" + (f"; {', '.join(others)} fit as well)" if others else ")"))
    return str(best)


def _gb18030(data: bytes) -> str | None:
    """``data`` as strict GB18030 when that reads as Chinese: CJK characters in runs, not one per accented
    Latin letter."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    wide = [ch for ch in text if ord(ch) > 127]
    cjk = [i for i, ch in enumerate(text) if _is_cjk(ch)]
    if not wide or len(cjk) < MIN_CJK_SHARE * len(wide):
        return None
    in_runs = sum(1 for i in cjk if (i > 0 and ord(text[i - 1]) > 127) or (i + 1 < len(text) and ord(text[i + 1]) > 127))
    return text if in_runs >= MIN_CJK_RUN_SHARE * len(cjk) else None


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF or 0x3400 <= code <= 0x4DBF


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

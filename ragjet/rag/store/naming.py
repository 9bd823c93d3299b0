"""Names both vector databases accept: collection prefixes, collection and field names made of a group and an
embed key, metadata keys a filter may name, and where the ingestion ledger of a database server lives."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Optional

from ...home import ragjet_home

NAME_OK = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PART_OK = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*\Z")


def check_prefix(prefix: str) -> str:
    if not NAME_OK.match(prefix or ""):
        raise ValueError(f"collection_prefix must start with a letter and hold only letters, digits and '_', "
                         f"got {prefix!r}")
    return prefix


def safe_part(text: str, max_len: int = 100) -> str:
    """``text`` as part of a collection or field name both Chroma and Milvus accept: kept when it is letters
    and digits joined by single ``_``, else cleaned and given a hash suffix, so distinct texts stay distinct."""
    if _PART_OK.match(text) and len(text) <= max_len:
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{re.sub(r'[^A-Za-z0-9]', '_', text)[: max_len - 11]}_{digest}"


def collection_name(prefix: str, group: str, key: Optional[str] = None) -> str:
    """``{prefix}_{group}``, or ``{prefix}_{group}__{key}`` for a group's vectors of one embed key."""
    name = f"{prefix}_{safe_part(group)}"
    return name if key is None else f"{name}__{safe_part(key)}"


def remote_ledger_path(kind: str, *identity: Optional[str]) -> Path:
    """Where the ingestion ledger of a database server lives: in ragjet's home, one file per server and prefix."""
    digest = hashlib.sha1("".join(p or "" for p in identity).encode()).hexdigest()[:12]
    return ragjet_home() / "ledgers" / f"{kind}-{digest}.sqlite"

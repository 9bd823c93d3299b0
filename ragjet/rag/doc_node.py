"""DocNode: one piece of a document (a whole file, a chunk, a sentence, a word) and how it is shown.

Nodes are light (``__slots__``, dicts created only when used, per-file metadata shared by reference) because a
group can hold hundreds of thousands of them: the lecture's word list is 370k nodes. Their uids are
deterministic, a hash of group, parent and position and text, so a second run produces the same ids and
incremental ingestion can tell what is already stored.
"""
from __future__ import annotations

import hashlib
import json
import re
from enum import Enum, auto
from typing import Any, Optional

LAZY_ROOT_NAME = "lazyllm_root"

# Keys that readers put into every file's global metadata. They describe where a node came from, not what it
# says, so they are hidden from the embedding model and the LLM unless a node opts them back in.
SYSTEM_METADATA_KEYS = ("file_name", "file_path", "file_type", "file_size", "last_modified", "page", "doc_id")


class MetadataMode(Enum):
    """Which metadata `DocNode.get_text` puts before the text: for the embedder, for the LLM, all or none."""

    ALL = auto()
    EMBED = auto()
    LLM = auto()
    NONE = auto()


def make_uid(*parts: object) -> str:
    """A stable 32-hex-digit id from ``parts``: the same inputs give the same uid in every process."""
    joined = "\x1f".join([p if isinstance(p, str) else str(p) for p in parts])
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class DocNode:
    """A node of a node group. ``text`` is its content; ``metadata`` its own keys; ``global_metadata`` the
    file-level keys shared by every node of the same file; ``embedding`` one vector per embed key."""

    __slots__ = ("_uid", "_group", "_content", "_metadata", "_global_metadata", "_excluded_embed",
                 "_excluded_llm", "_parent", "_children", "embedding", "similarity_score", "relevance_score",
                 "__weakref__")

    def __init__(self, uid: Optional[str] = None, text: str = "", group: Optional[str] = None,
                 embedding: Optional[dict[str, Any]] = None, parent: "DocNode | str | None" = None,
                 metadata: Optional[dict[str, Any]] = None, global_metadata: Optional[dict[str, Any]] = None,
                 excluded_embed_metadata_keys: Optional[list[str]] = None,
                 excluded_llm_metadata_keys: Optional[list[str]] = None, content: Optional[str] = None) -> None:
        self._content = text if content is None else content
        self._group = group
        self._uid = uid
        self._metadata = metadata
        self._global_metadata = global_metadata
        self._excluded_embed = excluded_embed_metadata_keys
        self._excluded_llm = excluded_llm_metadata_keys
        self._parent = parent
        self._children: Optional[dict[str, list[DocNode]]] = None
        self.embedding = embedding
        self.similarity_score: Optional[float] = None
        self.relevance_score: Optional[float] = None

    # -- identity -------------------------------------------------------------------------------------
    @property
    def uid(self) -> str:
        if self._uid is None:
            parent = self.parent_uid or ""
            self._uid = make_uid(self._group, parent, self._content)
        return self._uid

    @property
    def group(self) -> Optional[str]:
        return self._group

    @property
    def text(self) -> str:
        return self._content

    @text.setter
    def text(self, value: str) -> None:
        self._content = value

    @property
    def content(self) -> str:
        return self._content

    # -- metadata -------------------------------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = value

    @property
    def global_metadata(self) -> dict[str, Any]:
        if self._global_metadata is None:
            parent = self._parent if isinstance(self._parent, DocNode) else None
            self._global_metadata = parent.global_metadata if parent is not None else {}
        return self._global_metadata

    @global_metadata.setter
    def global_metadata(self, value: dict[str, Any]) -> None:
        self._global_metadata = value

    @property
    def excluded_embed_metadata_keys(self) -> list[str]:
        if self._excluded_embed is None:
            self._excluded_embed = []
        return self._excluded_embed

    @excluded_embed_metadata_keys.setter
    def excluded_embed_metadata_keys(self, value: list[str]) -> None:
        self._excluded_embed = value

    @property
    def excluded_llm_metadata_keys(self) -> list[str]:
        if self._excluded_llm is None:
            self._excluded_llm = []
        return self._excluded_llm

    @excluded_llm_metadata_keys.setter
    def excluded_llm_metadata_keys(self, value: list[str]) -> None:
        self._excluded_llm = value

    @property
    def docpath(self) -> Optional[str]:
        """The file this node comes from (None for nodes made by hand)."""
        return self.global_metadata.get("file_path")

    def _visible_metadata(self, mode: MetadataMode) -> dict[str, Any]:
        merged = {**self.global_metadata, **(self._metadata or {})}
        if mode is MetadataMode.NONE:
            return {}
        if mode is MetadataMode.ALL:
            return merged
        excluded = set(self._excluded_embed or ()) if mode is MetadataMode.EMBED else set(self._excluded_llm or ())
        own = self._metadata or {}
        return {k: v for k, v in merged.items()
                if k not in excluded and (k in own or k not in SYSTEM_METADATA_KEYS)}

    def get_metadata_str(self, mode: MetadataMode = MetadataMode.ALL) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self._visible_metadata(mode).items())

    def get_text(self, metadata_mode: MetadataMode = MetadataMode.NONE) -> str:
        """The text as the embedder (EMBED), the LLM (LLM) or a person (ALL / NONE) should see it."""
        if metadata_mode is MetadataMode.NONE:
            return self._content
        meta = self.get_metadata_str(metadata_mode)
        return f"{meta}\n\n{self._content}" if meta else self._content

    def get_content(self, metadata_mode: MetadataMode = MetadataMode.LLM) -> str:
        """The text as handed to an LLM: its content, after any metadata meant for the LLM."""
        return self.get_text(metadata_mode)

    # -- tree -----------------------------------------------------------------------------------------
    @property
    def parent(self) -> "DocNode | str | None":
        return self._parent

    @parent.setter
    def parent(self, value: "DocNode | str | None") -> None:
        self._parent = value

    @property
    def parent_uid(self) -> Optional[str]:
        p = self._parent
        return p.uid if isinstance(p, DocNode) else p

    @property
    def children(self) -> dict[str, list["DocNode"]]:
        if self._children is None:
            self._children = {}
        return self._children

    @children.setter
    def children(self, value: dict[str, list["DocNode"]]) -> None:
        self._children = value

    @property
    def root_node(self) -> "DocNode":
        """The node of the file this node comes from (LazyLLM's name for `root`)."""
        return self.root()

    def root(self) -> "DocNode":
        node = self
        while isinstance(node._parent, DocNode):
            node = node._parent
        return node

    # -- misc -----------------------------------------------------------------------------------------
    def has_embedding(self, key: str) -> bool:
        return bool(self.embedding) and key in self.embedding

    def with_score(self, score: float) -> "DocNode":
        """A shallow copy carrying ``similarity_score``: results never mutate the stored node, so concurrent
        retrievers on the same group cannot overwrite each other's scores."""
        clone = DocNode.__new__(DocNode)
        for name in _COPIED_SLOTS:
            setattr(clone, name, getattr(self, name))
        clone.similarity_score = score
        return clone

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "group": self._group, "content": self._content,
                "metadata": dict(self._metadata or {}), "file": self.docpath,
                "similarity_score": self.similarity_score, "relevance_score": self.relevance_score}

    def __repr__(self) -> str:
        text = self._content if len(self._content) <= 40 else self._content[:37] + "..."
        return f"DocNode(group={self._group!r}, uid={self._uid!r}, text={text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocNode) and other.uid == self.uid

    def __hash__(self) -> int:
        return hash(self.uid)


_COPIED_SLOTS = tuple(s for s in DocNode.__slots__ if s != "__weakref__")


OUTPUT_FORMATS = (None, "content", "dict")


def check_output_options(topk: int, output_format: Optional[str]) -> None:
    """Validate what a retriever or reranker is asked to return."""
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {output_format!r}")
    if topk <= 0:
        raise ValueError(f"topk must be positive, got {topk}")


class JsonDocNode(DocNode):
    """LazyLLM's node of a JSON value (a dict or a list): ``text`` is its JSON, ``json_object`` the value, and
    ``formatter_str`` (kept in the metadata) picks what the embedder reads: ``[a,b]`` the values of keys (or
    list indices) a and b as a list, ``{a,b}`` them as a dict, ``[k]`` one value, ``[i:j]`` a slice; groups
    chain left to right (``[items][0:2]``)."""

    __slots__ = ("json_object",)

    def __init__(self, uid: Optional[str] = None, content: Any = None, group: Optional[str] = None,
                 embedding: Optional[dict[str, Any]] = None, parent: "DocNode | str | None" = None,
                 metadata: Optional[dict[str, Any]] = None, global_metadata: Optional[dict[str, Any]] = None, *,
                 formatter_str: Optional[str] = None) -> None:
        try:
            text = json.dumps(content, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"JsonDocNode content must be JSON (a dict or a list of JSON values): {exc}") from None
        metadata = dict(metadata or {})
        if formatter_str is not None:
            metadata["formatter_str"] = formatter_str
        super().__init__(uid=uid, text=text, group=group, embedding=embedding, parent=parent,
                         metadata=metadata or None, global_metadata=global_metadata)
        self.json_object = content

    def get_content(self, metadata_mode: MetadataMode = MetadataMode.EMBED) -> str:
        """For the embedder, the JSON of what ``formatter_str`` picks; else the whole JSON text."""
        if metadata_mode is MetadataMode.EMBED:
            return json.dumps(pick_json(self.json_object, self.metadata.get("formatter_str", "")), ensure_ascii=False)
        return self.text


_JSON_GROUP = re.compile(r"\[([^\]]*)\]|\{([^}]*)\}")


def pick_json(value: Any, formatter: str) -> Any:
    """``value`` narrowed by a `JsonDocNode` formatter string (empty: the value itself)."""
    for brackets, braces in _JSON_GROUP.findall(formatter or ""):
        spec = brackets or braces
        if brackets and ":" in spec:
            start, _, stop = spec.partition(":")
            value = value[int(start) if start.strip() else None:int(stop) if stop.strip() else None]
            continue
        keys = [_json_key(value, k.strip()) for k in spec.split(",") if k.strip()]
        if braces:
            value = {str(k): value[k] for k in keys}
        else:
            value = value[keys[0]] if len(keys) == 1 else [value[k] for k in keys]
    return value


def _json_key(value: Any, key: str) -> Any:
    return int(key) if isinstance(value, list) else key


def format_nodes(nodes: list[DocNode], output_format: Optional[str], join: bool | str) -> Any:
    """What a retriever or reranker hands on: the nodes, their contents ('content', one string when ``join``
    is True or a separator), or their dicts ('dict')."""
    if output_format is None:
        return nodes
    items = [n.get_content() for n in nodes] if output_format == "content" else [n.to_dict() for n in nodes]
    if join is False or output_format != "content":
        return items
    return ("" if join is True else join).join(items)

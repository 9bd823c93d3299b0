"""Write a bundled sentence-transformers model's ONNX file once and keep it, checksummed, in ragjet's home.

The graph is written from the model's weights by `bert_onnx` (no torch: ~2 s, once); later loads open the
ONNX file with onnxruntime in a fraction of a second. The checksum is re-verified only when the file's size or
mtime changed, so a normal load costs no hashing.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional

from ...hashing import sha256_file
from ...log import LOG
from .bert_onnx import bert_onnx


def _stamp(path: Path) -> dict[str, float]:
    st = path.stat()
    return {"size": st.st_size, "mtime": st.st_mtime}


def cached_onnx(model_dir: Path, cache_dir: Path, quantize: Optional[str] = None) -> Path:
    """The ONNX file for ``model_dir`` (exported now if missing, stale or corrupt), optionally int8."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    fp32 = _ensure(cache_dir / "model.onnx", model_dir / "model.safetensors",
                   lambda out: _export(model_dir, out))
    if quantize is None:
        return fp32
    if quantize != "int8":
        raise ValueError(f"unknown quantize {quantize!r}; supported: 'int8'")
    return _ensure(cache_dir / "model.int8.onnx", fp32, lambda out: _quantize_int8(fp32, out))


def _ensure(target: Path, source: Path, build) -> Path:
    meta_path = target.with_suffix(target.suffix + ".json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
    if meta and target.exists() and meta.get("source") == _stamp(source):
        if meta.get("stamp") == _stamp(target) or meta.get("sha256") == sha256_file(target):
            return target
        LOG.warning("cached model %s is corrupt (checksum mismatch); rebuilding it", target)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        build(out)
        digest = sha256_file(out)
        os.replace(out, target)
    meta_path.write_text(json.dumps({"source": _stamp(source), "sha256": digest, "stamp": _stamp(target)}))
    return target


def _export(model_dir: Path, out: Path) -> None:
    LOG.info("writing %s as an ONNX graph once (cached in %s)", model_dir, out.parent.parent)
    bert_onnx(model_dir, out)


def _quantize_int8(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    LOG.info("quantising %s to int8 (per-channel MatMul weights)", fp32.name)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])

"""Export a bundled sentence-transformers model to ONNX once and keep it, checksummed, in ragjet's home.

torch is needed only here: after the first export the embedder loads the ONNX file with onnxruntime in a
fraction of a second, without importing torch (whose import alone costs ~5 s on this class of machine).
The checksum is re-verified only when the file's size or mtime changed, so a normal load costs no hashing.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Optional

from ..hashing import sha256_file
from ..log import LOG
from ..registry import missing_extra

ONNX_OPSET = 17


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
    LOG.info("exporting %s to ONNX once (needs torch, ~10 s; cached in %s)", model_dir, out.parent.parent)
    try:
        import torch
        from transformers import AutoModel
    except ImportError:
        raise missing_extra("torch and transformers (needed once to export the model to ONNX)", "local") from None

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: D401 - torch signature
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones(1, 8, dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Hidden(model), dummy, str(out), input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False)


def _quantize_int8(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    LOG.info("quantising %s to int8 (per-channel MatMul weights)", fp32.name)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])

"""A BERT encoder written as an ONNX graph straight from its safetensors weights: no torch.

A sentence-transformers model such as all-MiniLM-L6-v2 is a BERT encoder (embeddings, then layers of
self-attention and a GELU feed-forward block, each followed by a residual LayerNorm). onnxruntime runs it from
an ONNX file; exporting one through torch meant installing torch, transformers and sentence-transformers
(hundreds of MB, ~1 minute of a fresh install) for a file made once. The graph is small enough to write here
with the ``onnx`` package: the same operations HuggingFace's ``BertModel`` runs, in the same order, with the
weights read from the model's ``model.safetensors`` (parsed with numpy). Its output is ``last_hidden_state``,
which `LocalEmbedding` pools.
"""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ...registry import missing_extra

ONNX_OPSET = 17  # LayerNormalization is an operator from 17 on
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file (an 8-byte header length, a JSON header, the raw data)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}; ragjet reads {', '.join(_DTYPES)}")
        start, end = info["data_offsets"]
        raw = np.frombuffer(data, dtype=_DTYPES[info["dtype"]], count=(end - start) // np.dtype(
            _DTYPES[info["dtype"]]).itemsize, offset=8 + length + start)
        tensors[name] = raw.reshape(info["shape"])
    return tensors


class _Graph:
    """The nodes and initializers of a graph under construction; each op returns its output's name."""

    def __init__(self, helper: Any, numpy_helper: Any) -> None:
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.weights: list[Any] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.weights.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs: Any) -> str:
        self._count += 1
        out = f"{kind.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        """``x @ W.T + b`` for a torch ``Linear`` named ``prefix``."""
        w = self.const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T.astype(np.float32))
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("Add", self.op("MatMul", x, w), b)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, eps: float) -> str:
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"].astype(np.float32))
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=eps)


def bert_onnx(model_dir: Path, out: Path) -> None:
    """Write the ONNX graph of the BERT encoder in ``model_dir`` (``config.json`` + ``model.safetensors``) to
    ``out``: inputs ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, batch x sequence), output
    ``last_hidden_state``."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise missing_extra("onnx", "local") from None
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu" or config.get(
            "position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{model_dir}: ragjet writes the ONNX graph of a BERT encoder with absolute positions and "
                         f"GELU; this model is {config.get('model_type')!r} with {config.get('hidden_act')!r}")
    weights = {k.removeprefix("bert."): v for k, v in read_safetensors(model_dir / "model.safetensors").items()}
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    head_dim, eps = hidden // heads, float(config.get("layer_norm_eps", 1e-12))
    g = _Graph(helper, numpy_helper)
    f32 = lambda value: g.const(f"c{len(g.weights)}", np.asarray(value, dtype=np.float32))  # noqa: E731
    i64 = lambda value: g.const(f"c{len(g.weights)}", np.asarray(value, dtype=np.int64))  # noqa: E731

    # embeddings: words + positions + token types, then LayerNorm
    words = g.op("Gather", g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids")
    length = g.op("Shape", "input_ids", start=1, end=2)  # [sequence length]
    position = g.op("Slice", g.const("position_embeddings", weights["embeddings.position_embeddings.weight"]),
                    i64([0]), length, i64([0]))  # the first `length` rows
    types = g.op("Gather", g.const("token_type_embeddings", weights["embeddings.token_type_embeddings.weight"]),
                 "token_type_ids")
    h = g.layer_norm(g.op("Add", g.op("Add", words, position), types), weights, "embeddings.LayerNorm", eps)

    # the attention mask as an additive bias over the keys: 0 where attended, the float minimum where padded
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    bias = g.op("Mul", g.op("Sub", f32(1.0), mask), f32(np.finfo(np.float32).min))
    bias = g.op("Unsqueeze", bias, i64([1, 2]))  # batch x 1 x 1 x keys
    split_heads = i64([0, 0, heads, head_dim])
    merge_heads = i64([0, 0, hidden])
    scale = f32(1.0 / math.sqrt(head_dim))
    for i in range(int(config["num_hidden_layers"])):
        layer = f"encoder.layer.{i}"

        def heads_of(name: str, perm: list[int], layer: str = layer) -> str:
            projected = g.linear(h, weights, f"{layer}.attention.self.{name}")
            return g.op("Transpose", g.op("Reshape", projected, split_heads), perm=perm)

        q, k, v = heads_of("query", [0, 2, 1, 3]), heads_of("key", [0, 2, 3, 1]), heads_of("value", [0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)
        attended = g.linear(context, weights, f"{layer}.attention.output.dense")
        h = g.layer_norm(g.op("Add", attended, h), weights, f"{layer}.attention.output.LayerNorm", eps)
        inner = g.linear(h, weights, f"{layer}.intermediate.dense")
        gelu = g.op("Mul", g.op("Mul", inner, f32(0.5)),
                    g.op("Add", f32(1.0), g.op("Erf", g.op("Div", inner, f32(math.sqrt(2.0))))))
        h = g.layer_norm(g.op("Add", g.linear(gelu, weights, f"{layer}.output.dense"), h), weights,
                         f"{layer}.output.LayerNorm", eps)
    g.nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"]))

    dims = ["batch", "seq"]
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, dims)
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, hidden])
    graph = helper.make_graph(g.nodes, "bert", inputs, [output], g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="ragjet")
    model.ir_version = min(model.ir_version, 8)  # what onnxruntime releases of the last years read
    onnx.checker.check_model(model)
    onnx.save(model, str(out))

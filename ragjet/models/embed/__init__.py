"""Embedding models: the contract a `Document` reads an embedder through (`embed_model`), the local dense
embedders (`local_embedding` on an ONNX file that `onnx_export` / `bert_onnx` write; the multilingual
`use_embedding`, kept loaded by `use_copy`), the BM25 sparse embedder and the embedding reranker."""

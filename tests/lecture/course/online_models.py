"""A user's own ``online_models.py`` for the course's chapter-12 programs: local models in place of the online
ones, the one file a user changes (the course intends it: "use your own models here").

The names are the course's: ``llm``, ``embedding_model`` (doubao, 4096-dim in the course), ``custom_embedding_model``
(bge-m3, 1024-dim) and ``rerank_model``. The programs that write vectors into a database or an index of their own
hard-code those dimensions (``dimension=4096``, ``dim=1024``), so the local multilingual embedder's 512-dim
vectors are given with zeros after them: zeros change no cosine and no inner product. The course itself
disagrees with itself here: its HNSW program indexes ``embedding_model`` in 1024 dimensions (its
``local_models.py`` one, bge-large-zh-v1.5), so ``COURSE_EMBEDDING_DIM`` sets that model's size.
"""
import os

import numpy as np

import lazyllm

MULTILINGUAL = "universal-sentence-encoder-multilingual-3"


class ZeroPadded:
    """``model`` with its vectors padded with zeros to ``dim`` numbers."""

    def __init__(self, model, dim):
        self.model, self.dim = model, dim
        self.model_id = f"{model.model_id}+zeros-to-{dim}"
        self.batch_size = model.batch_size

    def start(self):
        self.model.start()
        return self

    def embed_batch(self, texts):
        vectors = self.model.embed_batch(texts)
        return np.pad(vectors, ((0, 0), (0, self.dim - vectors.shape[1])))

    def __call__(self, text):
        return self.embed_batch([text])[0].tolist()


_use = lazyllm.TrainableModule(MULTILINGUAL)
embedding_model = ZeroPadded(_use, int(os.environ.get("COURSE_EMBEDDING_DIM", "4096")))
custom_embedding_model = ZeroPadded(_use, 1024)
rerank_model = lazyllm.TrainableModule(MULTILINGUAL, type="rerank", embed=_use)
llm = lazyllm.TrainableModule("Qwen2.5-Coder-0.5B-Instruct", stream=False, max_tokens=200)

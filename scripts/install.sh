#!/usr/bin/env bash
# Install ragjet and all its extras into the active Python environment (use a venv).
# torch is pinned and installed first: a bare `torch` requirement would pull a multi-GB CUDA build,
# while torch==2.13.0 resolves to the CPU build. It is needed once, to export the embedder to ONNX.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
python -m pip install --quiet --disable-pip-version-check -e ".[dev]"

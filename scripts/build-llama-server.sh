#!/usr/bin/env bash
# Build llama.cpp's own C++ server (`llama-server`) from the llama.cpp sources vendored in the installed
# llama-cpp-python release, and put it at $RAGJET_HOME/bin/llama-server (default ~/.cache/ragjet/bin).
#
# Why: llama-cpp-python's Python server answers one request at a time. The C++ server has parallel slots
# with continuous batching (`--parallel N`), so several clients share each forward pass and the total
# throughput grows with concurrency. `deploy.LlamaCpp` uses this binary when it finds it (PATH,
# $RAGJET_LLAMA_SERVER or $RAGJET_HOME/bin) and falls back to the Python server otherwise.
#
# Cost: a download of the llama-cpp-python sdist (~50 MB, from PyPI) and a few minutes of compiling.
# GGML_NATIVE=OFF keeps the binary portable across x86-64 CPUs, like scripts/install.sh does for the wheel.
set -euo pipefail
home="${RAGJET_HOME:-$HOME/.cache/ragjet}"
dest="$home/bin/llama-server"
version="$(python -c 'import llama_cpp; print(llama_cpp.__version__)')"
work="${TMPDIR:-/tmp}/ragjet-llama-server-$version"
if [ -x "$dest" ] && [ "$(cat "$dest.version" 2>/dev/null)" = "$version" ]; then
    echo "llama-server $version is already at $dest"
    exit 0
fi
mkdir -p "$work" "$home/bin"
if [ ! -d "$work/llama_cpp_python-$version" ]; then
    python -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$work" "llama-cpp-python==$version"
    tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
fi
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$src" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >/dev/null
cmake --build "$work/build" --target llama-server -j "$(nproc)"
install -m 755 "$work/build/bin/llama-server" "$dest"
echo "$version" > "$dest.version"
echo "llama-server $version installed at $dest"

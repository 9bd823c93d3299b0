"""`ragjet.config`, LazyLLM's ``lazyllm.config``: typed settings from RAGJET_* (then LAZYLLM_*) variables."""
import pytest

import ragjet as lazyllm
from ragjet.home import ragjet_home
from ragjet.settings import Config


def test_a_setting_reads_its_variable_when_read(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGJET_HOME", str(tmp_path / "a"))
    assert lazyllm.config["home"] == str(tmp_path / "a") and ragjet_home() == tmp_path / "a"
    monkeypatch.delenv("RAGJET_HOME")
    monkeypatch.setenv("LAZYLLM_HOME", str(tmp_path / "b"))
    assert lazyllm.config["home"] == str(tmp_path / "b")


def test_add_temp_refresh_and_types(monkeypatch):
    config = Config().add("workers", int, 4, "WORKERS", description="pool size").add("debug", bool, False, "DEBUG")
    assert config["workers"] == 4 and config["ragjet_workers"] == 4
    monkeypatch.setenv("LAZYLLM_WORKERS", "8")
    monkeypatch.setenv("RAGJET_DEBUG", "on")
    assert config["workers"] == 8 and config["debug"] is True
    with config.temp("workers", 2):
        assert config["workers"] == 2
    assert config["workers"] == 8
    config["workers"] = 3
    assert config.get_all_configs() == {"debug": True, "workers": 3}
    config.refresh("workers")
    assert config["workers"] == 8 and "workers" in config and "nope" not in config
    assert config.describe()["workers"] == "pool size ($RAGJET_WORKERS)"


def test_bad_settings_are_named(monkeypatch):
    config = Config().add("workers", int, 4, "WORKERS").add("mode", str, "fast", "MODE", options=["fast", "exact"])
    with pytest.raises(KeyError, match=r"unknown config key 'wrokers'; known: mode, workers"):
        config["wrokers"]
    with pytest.raises(TypeError, match="config 'workers' takes a int, got str"):
        config["workers"] = "8"
    with pytest.raises(ValueError, match=r"config 'mode' is 'slow'; it takes one of \['fast', 'exact'\]"):
        config["mode"] = "slow"
    monkeypatch.setenv("RAGJET_WORKERS", "many")
    with pytest.raises(ValueError, match=r"\$RAGJET_WORKERS='many' is not a int"):
        config["workers"]


def test_lazyllm_configs_path():
    from ragjet.configs import config

    assert config is lazyllm.config


def test_the_environment_is_read_in_settings_and_home_only():
    """One home per fact: every variable ragjet reads goes through ``ragjet.settings`` (`config` entries, and
    `environ` / `environment` / `environment_default` for variables of other programs and child processes)."""
    import re
    from pathlib import Path

    import ragjet

    package = Path(ragjet.__file__).parent
    readers = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                     if re.search(r"\bos\.(environ|getenv|putenv)\b", path.read_text(encoding="utf-8"))
                     and path.name not in ("settings.py", "home.py"))
    assert readers == []


def test_environ_tells_set_but_empty_from_unset(monkeypatch):
    from ragjet.settings import environ, environment, environment_default

    monkeypatch.delenv("RAGJET_TEST_A", raising=False)
    monkeypatch.setenv("RAGJET_TEST_B", "")
    assert environ("RAGJET_TEST_A") is None and environ("RAGJET_TEST_B") == ""
    assert environ("RAGJET_TEST_A", "RAGJET_TEST_B") == ""
    assert environment(RAGJET_TEST_A="x")["RAGJET_TEST_A"] == "x" and "RAGJET_TEST_A" not in environment()
    monkeypatch.setenv("RAGJET_TEST_C", "mine")
    environment_default("RAGJET_TEST_C", "default")
    assert environ("RAGJET_TEST_C") == "mine"

import subprocess
import sys

from conftest import needs_local_model
from ragjet.cli import build_parser, main


def test_every_command_has_help(capsys):
    parser = build_parser()
    for argv in (["--help"], ["search", "--help"], ["bench", "--help"], ["bench", "index", "--help"]):
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 0
    assert "--docs" in capsys.readouterr().out


def test_search_lexical_on_a_folder(corpus, capsys):
    assert main(["search", "--docs", str(corpus), "--embed", "none", "--similarity", "bm25", "cheese milk"]) == 0
    out = capsys.readouterr().out
    assert "food.txt" in out and "score" in out


def test_search_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["search", "--docs", str(tmp_path / "missing"), "--embed", "none", "x"]) == 2
    assert "missing" in capsys.readouterr().err


@needs_local_model
def test_search_with_no_arguments_uses_the_sample_corpus():
    out = subprocess.run([sys.executable, "-m", "ragjet", "search"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "02-second-start.md" in out.stdout.split("\n\n")[1]


def test_output_piped_into_a_reader_that_stops_early_is_no_error(tmp_path):
    """``ragjet search ... | head``: the reader closes the pipe, and ragjet ends without a traceback."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "big.txt").write_text("\n\n".join(f"The planet number {i} orbits a star." for i in range(4000)))
    proc = subprocess.Popen([sys.executable, "-m", "ragjet", "search", "--docs", str(docs), "--embed", "none",
                             "--topk", "4000", "planet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does, long before the output ends
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 1 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_ask_without_models_answers_with_passages(corpus, capsys):
    assert main(["ask", "--docs", str(corpus), "--embed", "none", "--llm", "none", "cheese milk"]) == 0
    out = capsys.readouterr().out
    assert "Cheese is made from milk" in out and "Sources:" in out and "food.txt" in out


def test_store_option_becomes_store_conf(corpus, tmp_path, capsys):
    from ragjet.cli.options import parse_store
    assert parse_store("map") is None
    assert parse_store("milvus:dbs/m.db") == {"type": "milvus", "kwargs": {"uri": "dbs/m.db"}}
    assert parse_store("chroma:dbs/c") == {"type": "chroma", "kwargs": {"dir": "dbs/c"}}
    assert parse_store("chroma:http://127.0.0.1:8000") == {"type": "chroma", "kwargs": {"uri": "http://127.0.0.1:8000"}}
    db = tmp_path / "s.sqlite"
    argv = ["search", "--docs", str(corpus), "--store", f"map:{db}", "--embed", "none", "--similarity", "bm25", "moon"]
    assert main(argv) == 0 and db.exists()


def test_unknown_store_type_in_option(capsys):
    import pytest
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--store", "redis:x", "q"])
    assert "unknown store type 'redis'" in capsys.readouterr().err


def test_index_command_is_incremental(corpus, tmp_path, capsys):
    argv = ["index", "--docs", str(corpus), "--store", f"map:{tmp_path / 's.sqlite'}", "--embed", "none",
            "--similarity", "bm25"]
    assert main(argv) == 0
    assert "3 files (3 parsed" in capsys.readouterr().out
    assert main(argv) == 0
    assert "3 files (0 parsed" in capsys.readouterr().out

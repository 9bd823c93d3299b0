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

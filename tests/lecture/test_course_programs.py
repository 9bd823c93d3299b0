"""The course's chapter-12 programs (LazyAGI/Tutorial ``rag/codes/chapter12``), run unedited with ``ragjet run`` on
the lecture's own documents, each checked for its result, not only its exit code.

The programs and documents are in ``../shared/lecture12`` (tests skip when it is absent). The one file changed is
the user's ``online_models.py`` (``course/online_models.py`` here: local models); the programs' course-machine
folders (``/mnt/lustre/...``) are mapped to this machine's copies with ``--path``. Each runs in a fresh process
in its own folder (the programs write ``dbs/...`` beside them).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import SHARED_DATA

LECTURE = SHARED_DATA.parent / "lecture12"
CODE, DOCS = LECTURE / "code", LECTURE / "docs"
STAND_IN = Path(__file__).with_name("course") / "online_models.py"
COURSE_ROOT = "/mnt/lustre/share_data/dist"
SECURITIES = "证券公司客户资金账户管理规则"

pytestmark = pytest.mark.skipif(not (CODE.is_dir() and DOCS.is_dir()),
                                reason=f"the course's programs and documents are not in {LECTURE}")


def _needs(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: pip install 'ragjet[dev]'")


def _needs_chat_model() -> None:
    from ragjet.models.catalogue import QWEN_CODER_05B

    if not QWEN_CODER_05B.available():
        pytest.skip(f"the course's answers need the default chat model: {QWEN_CODER_05B.install_command}")


@pytest.fixture(scope="module")
def course_data(tmp_path_factory) -> dict[str, Path]:
    """The course's three data folders on this machine: ``test_docs`` (the lecture's documents), ``index`` (the
    word list, with the word ``lazyllm`` the course's copy holds) and ``cmrc2018/data_kb`` (CMRC paragraphs, one
    article per file)."""
    root = tmp_path_factory.mktemp("course-data")
    index = root / "index"
    index.mkdir()
    words = (SHARED_DATA / "words_alpha.txt").read_bytes()
    (index / "words_alpha.txt").write_bytes(words.rstrip(b"\r\n") + b"\r\nlazyllm\r\n")
    kb = root / "data_kb"
    kb.mkdir()
    for i, article in enumerate(json.loads((SHARED_DATA / "cmrc2018_trial.json").read_text("utf-8"))["data"]):
        text = "\n".join(p["context"] for p in article["paragraphs"])
        (kb / f"{i:03d}.txt").write_text(text, encoding="utf-8")
    return {"test_docs": DOCS, "index": index, "cmrc2018/data_kb": kb}


def run_program(name: str, folder: Path, data: dict[str, Path], env: dict[str, str] | None = None,
                timeout: float = 900) -> subprocess.CompletedProcess:
    """``ragjet run`` the course's program ``name`` unedited, from ``folder``, beside the user's model file."""
    (folder / "dbs").mkdir(parents=True, exist_ok=True)  # pymilvus by hand needs it; the stores make it themselves
    shutil.copy(CODE / name, folder / name)
    shutil.copy(STAND_IN, folder / "online_models.py")
    paths = [f"--path={COURSE_ROOT}/{course}={here}" for course, here in data.items()]
    return subprocess.run([sys.executable, "-m", "ragjet", "run", *paths, name], cwd=folder, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **(env or {})})


def _ok(proc: subprocess.CompletedProcess) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def test_use_different_vector_store_finds_niucheshui_on_every_store(course_data, tmp_path):
    """The lecture's headline demo: map, chroma and milvus, each asked 牛车水 (whose passage is in the 85 KB
    part_30.txt, a file longer than a Milvus text column)."""
    _needs("chromadb", "pymilvus", "milvus_lite")
    proc = run_program("use_diffierent_vector_store.py", tmp_path, course_data)
    output = _ok(proc)
    results = proc.stdout.split("Store type: ")[1:]  # the program's closing print: one line per store
    assert [r.split(":")[0] for r in results] == ["map", "chroma", "milvus"], output[-3000:]
    blocks = re.split(r"Init time: [\d.e-]+, retrieval time: [\d.e-]+s", proc.stderr)[1:]  # its log
    assert len(blocks) == 3, output[-3000:]
    for block in blocks:  # each store's three passages, logged after its timing line
        assert block.count("\n======\n") == 2 and "牛车水" in block, block[:2000]


def test_trie_and_linear_indexes_find_every_word_of_the_course(course_data, tmp_path):
    output = _ok(run_program("retriever_with_custom_index_trie_tree.py", tmp_path, course_data))
    for word in ("a", "lazyllm", "zwitterionic"):
        assert f"query: {word}, linear time:" in output and f"linear res: {word}\n" in output, output[-3000:]
        assert f"trie res: {word}\n" in output, output[-3000:]


def test_hnsw_custom_index_returns_what_the_default_index_returns(course_data, tmp_path):
    _needs("hnswlib")
    output = _ok(run_program("retriever_with_custom_index_hnsw.py", tmp_path, course_data,
                             env={"COURSE_EMBEDDING_DIM": "1024"}))

    def logged(marker: str) -> list[str]:  # the passages the program logged after ``marker``, up to the next line
        text = re.split(r"\n\d\d:\d\d:\d\d ", output.split(marker, 1)[1])[0]
        return [passage.strip() for passage in text.split("\n---------\n")]

    assert len(logged("default res:")) == 3 and logged("HNSW res:") == logged("default res:"), output[-3000:]


def test_pymilvus_by_hand_finds_turing_and_filters_by_subject(course_data, tmp_path):
    _needs("pymilvus", "milvus_lite")
    output = _ok(run_program("use_original_milvus.py", tmp_path, course_data))
    first, filtered = output.split("Search result:")[1:3]
    assert "Alan Turing was the first person" in first.split("},")[0], first[:1500]
    assert "'subject': 'biology'" in filtered and "'subject': 'history'" not in filtered, filtered[:1500]


def test_quantized_llm_without_a_gpu_says_so_at_once(course_data, tmp_path):
    started = time.monotonic()
    proc = run_program("use_quantized_llm.py", tmp_path, course_data, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "GPU" in output or "vllm" in output.lower(), output[-2000:]
    assert time.monotonic() - started < 60  # an error, not a model load


@pytest.mark.parametrize("name", ["rag_with_lazyllm_milvus.py", "rag_with_original_milvus.py"])
def test_rag_programs_answer_the_securities_question_from_the_regulation(course_data, tmp_path, name):
    _needs("pymilvus", "milvus_lite")
    _needs_chat_model()
    proc = run_program(name, tmp_path, course_data)
    _ok(proc)
    assert _drawn_from(proc.stdout, _regulation()), proc.stdout[-3000:]


def _regulation() -> str:
    from ragjet.rag.readers import SimpleDirectoryReader

    return "".join(n.text for n in SimpleDirectoryReader(input_files=[str(DOCS / f"{SECURITIES}.pdf")])())


def _drawn_from(answer: str, source: str, run: int = 6) -> bool:
    """Whether ``answer`` repeats a run of ``run`` Chinese characters of ``source`` (spaces ignored): it
    quotes the document rather than only the question (whose longest run, 证券管理的基本, is 6 minus one)."""
    answer, source = re.sub(r"\s", "", answer), re.sub(r"\s", "", source)
    return any(answer[i:i + run] in source for i in range(len(answer) - run + 1)
               if re.fullmatch(r"[\u4e00-\u9fff]+", answer[i:i + run]) and answer[i:i + run] not in QUESTIONS)


QUESTIONS = "证券管理有哪些准则？证券管理的基本规范？"


def test_rag_use_milvus_store_answers_over_cmrc(course_data, tmp_path):
    _needs("pymilvus", "milvus_lite")
    _needs_chat_model()
    output = _ok(run_program("rag_use_milvus_store.py", tmp_path, course_data))
    assert output.strip(), output


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_rag_final_serves_the_page_and_answers_from_the_regulation(course_data, tmp_path):
    """The lecture's final pipeline behind its web page (port 23492, as the program says)."""
    _needs("pymilvus", "milvus_lite", "fastapi", "uvicorn")
    _needs_chat_model()
    if _port_open(23492):
        pytest.skip("port 23492, which the program serves on, is taken")
    tmp_path.mkdir(exist_ok=True)
    shutil.copy(CODE / "rag_final.py", tmp_path / "rag_final.py")
    shutil.copy(STAND_IN, tmp_path / "online_models.py")
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "ragjet", "run", f"--path={COURSE_ROOT}/test_docs={DOCS}",
                             "rag_final.py"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    try:
        deadline = time.monotonic() + 600
        while not _port_open(23492):
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the page did not come up"
            time.sleep(0.5)
        page = httpx.get("http://127.0.0.1:23492/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
        reply = httpx.post("http://127.0.0.1:23492/v1/chat/completions", timeout=600,
                           json={"messages": [{"role": "user", "content": "证券公司客户资金账户管理有哪些规定？"}]})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["choices"][0]["message"]["content"].strip()
        assert any(SECURITIES in (source.get("file") or "") for source in body["sources"]), body["sources"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_the_courses_local_models_name_models_ragjet_maps_by_alias(course_data, tmp_path):
    """``local_models.py`` names bge-large-zh-v1.5, bge-reranker-large and internlm2-chat-20b: each is an error
    that names the bundled model and the alias, and with the aliases the file runs unedited."""
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copy(CODE / "local_models.py", folder / "local_models.py")
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, "-m", "ragjet", "run", "local_models.py"], cwd=folder, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 1
    assert "RAGJET_MODEL_ALIASES='bge-large-zh-v1.5=universal-sentence-encoder-multilingual-3'" in proc.stderr
    aliases = ["bge-large-zh-v1.5=universal-sentence-encoder-multilingual-3",
               "bge-reranker-large=universal-sentence-encoder-multilingual-3:rerank"]
    proc = subprocess.run([sys.executable, "-m", "ragjet", "run", *(f"--model={a}" for a in aliases),
                           "local_models.py"], cwd=folder, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1 and "RAGJET_MODEL_ALIASES='internlm2-chat-20b=Qwen2.5-Coder-0.5B-Instruct'" \
        in proc.stderr, proc.stderr[-2000:]
    _needs_chat_model()
    proc = subprocess.run([sys.executable, "-m", "ragjet", "run", *(f"--model={a}" for a in aliases),
                           "--model=internlm2-chat-20b=Qwen2.5-Coder-0.5B-Instruct", "local_models.py"], cwd=folder,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]

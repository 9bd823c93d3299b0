"""``ragjet run``: a program written for ``import lazyllm`` runs on ragjet unedited."""
from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent('''
    import sys
    import lazyllm
    from lazyllm.tools.rag import IndexBase, LazyLLMStoreBase, DocNode
    from lazyllm.tools.rag.utils import parallel_do_embedding
    from lazyllm.common import override
    from my_models import embed

    import ragjet
    assert lazyllm is ragjet and IndexBase is ragjet.IndexBase and LazyLLMStoreBase is ragjet.StoreBase

    docs = lazyllm.Document(dataset_path="/mnt/course/corpus", embed=embed)
    retriever = lazyllm.Retriever(docs, group_name="MediumChunk", similarity="bm25", topk=1)
    print("ANSWER", retriever("red planet")[0].text.strip(), sys.argv[1:])
''')


def _run(tmp_path, *args, program=PROGRAM):
    (tmp_path / "prog.py").write_text(program)
    (tmp_path / "my_models.py").write_text("def embed(text):\n    return [float(len(text)), 1.0]\n")
    return subprocess.run([sys.executable, "-m", "ragjet", "run", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_a_lazyllm_program_runs_unedited_with_its_folders_mapped(corpus, tmp_path):
    proc = _run(tmp_path, f"--path=/mnt/course={corpus.parent}", "--path=/elsewhere=/nowhere", "prog.py", "x", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "ANSWER" in proc.stdout and "red planet" in proc.stdout and "['x', '-v']" in proc.stdout


def test_the_programs_own_error_is_shown_as_python_shows_it(tmp_path):
    proc = _run(tmp_path, "prog.py", program="import lazyllm\nraise RuntimeError('boom in the program')\n")
    assert proc.returncode == 1 and "RuntimeError: boom in the program" in proc.stderr and "Traceback" in proc.stderr
    proc = _run(tmp_path, "prog.py", program="import sys\nsys.exit(3)\n")
    assert proc.returncode == 3


def test_a_missing_program_or_lazyllm_path_is_named(tmp_path):
    proc = _run(tmp_path, "missing.py")
    assert proc.returncode == 2 and "no program at missing.py" in proc.stderr
    proc = _run(tmp_path, "prog.py", program="import lazyllm.tools.agent\n")
    assert proc.returncode == 1 and "No module named 'lazyllm.tools.agent'" in proc.stderr


def test_parallel_do_embedding_fills_what_is_missing_in_batches(counting_embed):
    from ragjet.rag.doc_node import DocNode
    from ragjet.rag.embedding import make_embedders, parallel_do_embedding

    embed = make_embedders(counting_embed)
    nodes = [DocNode(uid=f"n{i}", text=f"word{i}", group="block") for i in range(5)]
    nodes[0].embedding = {"default": [1.0] * 64}
    other = DocNode(uid="o", text="other", group="words")
    changed = parallel_do_embedding(embed, [], nodes + [other], group_embed_keys={"block": ["__default__"]})
    assert [n.uid for n in changed] == ["n0", "n1", "n2", "n3", "n4"]
    assert counting_embed.batches == [["word1", "word2", "word3", "word4"]]  # one batch, n0's vector reused
    assert all(len(n.embedding["__default__"]) == 64 for n in nodes) and other.embedding is None
    parallel_do_embedding(embed, None, nodes)  # "__default__" is "default": nothing is embedded again
    assert len(counting_embed.batches) == 1 and all(len(n.embedding["default"]) == 64 for n in nodes)
    assert embed["default"]("word1") == counting_embed.vector("word1").tolist()

"""Flows: the lecture's pipeline shape, parallel output modes and concurrency, bind and ppl.input, errors."""
from __future__ import annotations

import threading

import pytest

import ragjet as lazyllm
from ragjet.flow import FlowError, package
from ragjet.flow.parallel import _pool


class Node:
    def __init__(self, text: str) -> None:
        self.text = text

    def get_content(self) -> str:
        return self.text


def test_lecture_shape_with_stand_ins():
    seen = {}

    def retriever(prefix):
        return lambda query: [Node(f"{prefix}{i}:{query}") for i in range(2)]

    def reranker(nodes, query):
        seen["rerank_query"] = query
        return nodes[:3]

    def llm(inputs):
        seen["llm_input"] = inputs
        return f"answer to {inputs['query']} from {len(inputs['context_str'].splitlines())} lines"

    with lazyllm.pipeline() as ppl:
        with lazyllm.parallel().sum as ppl.prl:
            ppl.prl.r1 = retriever("m")
            ppl.prl.r2 = retriever("s")
        ppl.reranker = reranker | lazyllm.bind(query=ppl.input)
        ppl.formatter = (lambda nodes, query: dict(context_str="\n".join(node.get_content() for node in nodes),
                                                   query=query)) | lazyllm.bind(query=ppl.input)
        ppl.llm = llm

    assert ppl("question") == "answer to question from 3 lines"
    assert seen["rerank_query"] == "question"
    assert seen["llm_input"] == {"context_str": "m0:question\nm1:question\ns0:question", "query": "question"}
    assert len(ppl) == 4 and len(ppl.prl) == 2 and callable(ppl.prl.r1) and ppl.reranker._f is reranker


def test_lecture_shape_with_real_retrievers(corpus, counting_embed):
    docs = lazyllm.Document(corpus, embed=counting_embed)
    docs.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    seen = []
    with lazyllm.pipeline() as ppl:
        with lazyllm.parallel().sum as ppl.prl:
            ppl.prl.r1 = lazyllm.Retriever(docs, group_name="MediumChunk", topk=6)
            ppl.prl.r2 = lazyllm.Retriever(docs, group_name="sentence", target="MediumChunk", topk=6)
        ppl.reranker = (lambda nodes, query: (seen.append(len(nodes)), nodes[:1])[1]) | lazyllm.bind(query=ppl.input)
        ppl.formatter = (lambda nodes, query: dict(context_str="\n".join(node.get_content() for node in nodes),
                                                   query=query)) | lazyllm.bind(query=ppl.input)
        ppl.llm = lambda inputs: inputs
    out = ppl("Mars is called the red planet")
    assert out["query"] == "Mars is called the red planet" and "red planet" in out["context_str"]
    assert seen == [len(ppl.prl.r1(out["query"])) + len(ppl.prl.r2(out["query"]))]


def test_parallel_output_modes_keep_branch_order():
    branches = dict(a=lambda x: x + 1, b=lambda x: x * 10, c=lambda x: -x)
    assert lazyllm.parallel(**branches)(2) == (3, 20, -2)
    assert isinstance(lazyllm.parallel(**branches)(2), package)
    assert lazyllm.parallel(**branches).sum(2) == 21
    assert lazyllm.parallel(**branches).asdict(2) == {"a": 3, "b": 20, "c": -2}
    out = lazyllm.parallel(**branches).astuple(2)
    assert out == (3, 20, -2) and type(out) is tuple
    assert lazyllm.parallel(**branches).aslist(2) == [3, 20, -2]
    assert lazyllm.parallel(**branches).join()(2) == "320-2"
    assert lazyllm.parallel(**branches).join(", ")(2) == "3, 20, -2"


def test_parallel_sum_of_lists_and_strings():
    assert lazyllm.parallel(lambda x: [x], lambda x: [x, x], lambda x: []).sum("n") == ["n", "n", "n"]
    assert lazyllm.parallel(lambda x: x.upper(), lambda x: x).sum("ab") == "ABab"
    with pytest.raises(TypeError, match="cannot add"):
        lazyllm.parallel(lambda x: [x], lambda x: None).sum(1)


def test_parallel_with_block_and_mode_errors():
    with lazyllm.parallel().asdict as prl:
        prl.first = str.upper
        prl.second = str.lower
    assert prl("Ab") == {"first": "AB", "second": "ab"}
    with pytest.raises(ValueError, match="#1"):
        lazyllm.parallel(str.upper, str.lower).asdict("x")
    with pytest.raises(ValueError, match="one output mode"):
        lazyllm.parallel(str.upper).sum.astuple


def test_package_output_is_spread_over_next_step_tuple_is_not():
    add = lambda a, b: a + b  # noqa: E731
    assert lazyllm.pipeline(lazyllm.parallel(lambda x: x, lambda x: x * 2), add)(3) == 9
    assert lazyllm.pipeline(lazyllm.parallel(lambda x: x, lambda x: x * 2).astuple, len)(3) == 2
    assert lazyllm.pipeline(add, str)(1, 2) == "3"


def test_parallel_branches_run_concurrently():
    barrier = threading.Barrier(2, timeout=5)

    def meet(tag):
        return lambda x: (barrier.wait(), f"{tag}{x}")[1]

    assert lazyllm.parallel(meet("a"), meet("b")).astuple(1) == ("a1", "b1")


def test_nested_parallel_runs_all_leaves_concurrently():
    leaves = threading.Barrier(4, timeout=5)
    inner = [threading.Barrier(2, timeout=5) for _ in range(2)]

    def leaf(k, tag):
        def run(x):
            inner[k].wait()
            leaves.wait()
            return [f"{tag}{x}"]
        return run

    prl = lazyllm.parallel(lazyllm.parallel(leaf(0, "a"), leaf(0, "b")).sum,
                           lazyllm.parallel(leaf(1, "c"), leaf(1, "d")).sum).sum
    assert prl(0) == ["a0", "b0", "c0", "d0"]


def test_nested_parallel_wider_than_the_pool_does_not_deadlock():
    width = _pool()._max_workers + 2
    prl = lazyllm.parallel(*[lazyllm.parallel(*[lambda x: [x]] * width).sum] * width).sum
    result = []
    worker = threading.Thread(target=lambda: result.append(prl(7)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert result == [[7] * width * width], "nested parallel deadlocked on a full pool"


def test_failing_branch_is_named_and_chained():
    def boom(x):
        raise ValueError("bad branch")

    with pytest.raises(FlowError, match="parallel branch 'broken' failed: ValueError: bad branch") as info:
        lazyllm.parallel(ok=lambda x: x, broken=boom)(1)
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(FlowError, match="parallel branch #0") as info:
        lazyllm.parallel(boom, lambda x: x)(1)
    assert isinstance(info.value.__cause__, ValueError)


def test_failing_step_is_named_with_its_path():
    def boom(x):
        raise KeyError("missing")

    with lazyllm.pipeline() as ppl:
        ppl.first = str.strip
        with lazyllm.parallel() as ppl.prl:
            ppl.prl.fine = str.upper
            ppl.prl.bad = boom
    with pytest.raises(FlowError) as info:
        ppl(" x ")
    assert info.value.path == ("pipeline step 'prl'", "parallel branch 'bad'")
    assert isinstance(info.value.__cause__, KeyError) and "missing" in str(info.value)
    with pytest.raises(FlowError, match="pipeline step #1"):
        lazyllm.pipeline(str.strip, boom)("x")


def test_pipeline_input_under_concurrent_calls():
    with lazyllm.pipeline() as ppl:
        ppl.shout = str.upper
        ppl.pause = lambda x: (barrier.wait(), x)[1]
        ppl.pair = (lambda up, original: (up, original)) | lazyllm.bind(original=ppl.input)

    n = 6
    barrier = threading.Barrier(n, timeout=5)
    results: dict[int, tuple] = {}

    def call(i):
        results[i] = ppl(f"q{i}")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: (f"Q{i}", f"q{i}") for i in range(n)}


def test_pipeline_input_resolves_to_its_own_pipeline_when_nested():
    with lazyllm.pipeline() as outer:
        outer.double = lambda x: x * 2
        with lazyllm.pipeline() as outer.inner:
            outer.inner.tag = (lambda x, a, b: f"{x}|{a}|{b}") | lazyllm.bind(a=outer.input, b=outer.inner.input)
    assert outer("a") == "aa|a|aa"


def test_pipeline_input_outside_a_call_is_an_error():
    ppl = lazyllm.pipeline(str.upper)
    with pytest.raises(RuntimeError, match="outside a call"):
        lazyllm.bind(str, ppl.input)()


def test_bind_positional_and_kwargs():
    def f(*args, **kwargs):
        return args, kwargs

    assert lazyllm.bind(f, k=1)("x") == (("x",), {"k": 1})
    assert (f | lazyllm.bind(k=1))("x", j=2) == (("x",), {"k": 1, "j": 2})
    assert lazyllm.bind(f, 1, 2)("ignored") == ((1, 2), {})
    assert (f | lazyllm.bind(1, k=3))("ignored") == ((1,), {"k": 3})
    with lazyllm.pipeline() as ppl:
        ppl.up = str.upper
        ppl.both = f | lazyllm.bind(ppl.input, "const", seen=ppl.input)
    assert ppl("q") == (("q", "const"), {"seen": "q"})
    with pytest.raises(TypeError, match="already bound"):
        lazyllm.bind(f, k=1)("x", k=2)


def test_bind_forwards_attributes_to_the_wrapped_callable():
    class Model:
        topk = 3

        def __call__(self, x, query):
            return x, query

    bound = Model() | lazyllm.bind(query="q")
    assert bound.topk == 3 and bound("x") == ("x", "q")


def test_steps_may_be_callables_objects_and_nested_pipelines():
    class Add:
        def __init__(self, n):
            self.n = n

        def __call__(self, x):
            return x + self.n

    def double(x):
        return x * 2

    inner = lazyllm.pipeline(Add(1), double)
    assert lazyllm.pipeline(double, inner, lambda x: x - 1, Add(100))(3) == 113
    assert lazyllm.pipeline([double, double])(1) == 4
    assert lazyllm.pipeline(a=double, b=Add(1))(5) == 11


def test_empty_flows_return_their_input():
    assert lazyllm.pipeline()("same") == "same"
    assert lazyllm.parallel().sum("same") == "same"


def test_last_step_generator_is_returned_unconsumed():
    consumed = []

    def stream(x):
        for ch in x:
            consumed.append(ch)
            yield ch

    out = lazyllm.pipeline(str.upper, stream)("ab")
    assert consumed == [] and list(out) == ["A", "B"]


def test_step_assignment_rules():
    with pytest.raises(TypeError, match="must be callable"):
        lazyllm.pipeline(a=3)
    with lazyllm.pipeline() as ppl:
        ppl.a = str.upper
        with pytest.raises(ValueError, match="already has a step named 'a'"):
            ppl.a = str.lower
        with pytest.raises(ValueError, match="reserved"):
            ppl.input = str.lower
    with pytest.raises(AttributeError, match="inside its `with` block"):
        ppl.a = str.lower
    assert ppl("x") == "X"

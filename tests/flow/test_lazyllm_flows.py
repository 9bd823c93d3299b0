"""LazyLLM's flow toolbox with LazyLLM's documented results (its flow tests and README), run on ragjet with
``import ragjet as lazyllm``: nested and unassigned flows, the short name inside ``with ... as ppl.x``, bind to
earlier outputs and ``_0`` … ``_9``, diverter, warp, switch, ifs, loop. Where ragjet differs on purpose, the
test says so and docs/lazyllm-compat.md lists it."""
from __future__ import annotations

import textwrap
import threading
import time

import pytest

import ragjet as lazyllm
from ragjet import bind, diverter, ifs, loop, parallel, pipeline, switch, warp


def add_one(x): return x + 1
def xy2z(x, y, z=0): return x + y + 2 * z
def is_1(x): return x == 1
def is_2(x): return x == 2
def is_3(x): return x == 3
def t1(x): return 2 * x
def t2(x): return 3 * x
def t3(x): return x


def test_unassigned_nested_flows_are_steps_not_dropped():
    """Before: `p('0')` gave '03' (the inner flows were silently dropped); LazyLLM gives '0123'."""
    with pipeline() as p:
        p.f0 = lambda x: x
        with pipeline() as inner:
            inner.a = lambda x: x + "1"
            inner.b = lambda x: x + "2"
        p.f3 = lambda x: x + "3"
    assert p("0") == "0123" and p.inner is inner
    with pipeline() as q:
        q.first = lambda x: x
        with parallel().sum as prl:
            prl.a = lambda x: [x, 1]
            prl.b = lambda x: [x, 2]
    assert q(0) == [0, 1, 0, 2]


def test_the_short_name_of_a_flow_opened_as_an_attribute(tmp_path):
    """LazyLLM's README RAG example writes `with parallel().sum as ppl.prl:` then `prl.retriever1 = ...`;
    before, `prl` raised NameError. It works at module level (as in LazyLLM) and inside a function."""
    module = textwrap.dedent("""
        import ragjet as lazyllm
        with lazyllm.pipeline() as ppl:
            with lazyllm.parallel().sum as ppl.prl:
                prl.r1 = lambda q: [q + ' from r1']
                prl.r2 = lambda q: [q + ' from r2']
            ppl.join = lambda nodes: ' | '.join(nodes)
        RESULT = ppl('q')
    """)
    scope: dict = {}
    exec(compile(module, str(tmp_path / "example.py"), "exec"), scope)
    assert scope["RESULT"] == "q from r1 | q from r2" and scope["prl"] is scope["ppl"].prl

    def build():
        with pipeline() as ppl:
            with parallel().asdict as ppl.prl:
                prl.a = add_one  # noqa: F821 - bound by the flow for the block, as LazyLLM does
                prl.b = t1  # noqa: F821
        return ppl
    assert build()(3) == {"a": 4, "b": 6}
    assert "prl" not in globals()  # in a function the name lives as long as its block


def test_bind_to_earlier_outputs_and_positional_placeholders():
    with pipeline() as p:
        p.f1 = add_one
        p.f2 = add_one
        p.f3 = xy2z | bind(y=p.input, z=p.f1)
    assert p(2) == 12  # 4 + 2 + 2 * 3, LazyLLM's test_pipeline
    with pipeline() as p:
        p.f1 = add_one
        p.f2 = add_one
        p.f3 = xy2z | bind(y=p.input, z=p.output("f1"))
    assert p(3) == 16  # 5 + 3 + 2 * 4
    with pipeline() as p:
        p.f1 = add_one
        p.f2 = add_one
        p.f3 = add_one
        with parallel().sum as p.subp:
            p.subp.f3 = xy2z | bind(y=p.input, z=p.output(p.f1))
            p.subp.f4 = xy2z | bind(y=p.input, z=p.output("f2"))
    assert p(3) == 36  # (6 + 3 + 8) + (6 + 3 + 10); LazyLLM needs save_pipeline_result() for this nesting
    swap = pipeline(lambda a, b: lazyllm.package((a, b)), bind(lambda x, y: f"{x}-{y}", lazyllm._1, lazyllm._0))
    assert swap("a", "b") == "b-a"
    with pipeline() as p:
        p.pair = lambda x: {"idx": x, "double": 2 * x}
        p.pick = (lambda d, idx: (d["double"], idx)) | bind(idx=p.output("pair")["idx"])
    assert p(5) == (10, 5)


def test_bind_to_the_output_of_another_pipeline_is_a_clear_error():
    with pipeline() as q:
        q.f1 = add_one
        q.f2 = add_one
    later = q.output("f2")
    with pipeline() as r:
        r.early = (lambda x, z: x + z) | bind(z=later)
    with pytest.raises(lazyllm.flow.FlowError, match="outside a call of its pipeline"):
        r(1)
    with pytest.raises(KeyError, match="no step named 'nope'"):
        q.output("nope")


def test_diverter_and_warp():
    assert diverter(add_one, add_one)(1, 2) == (2, 3)
    assert diverter(lambda x: x + 1, lambda x: x * 2, lambda x: -x)(1, 2, 3) == (2, 4, -3)
    div = diverter(a=lambda x: x + 1, b=lambda x: x * 2, c=lambda x: -x).asdict
    assert div(1, 2, 3) == {"a": 2, "b": 4, "c": -3}
    assert div(dict(c=3, b=2, a=1)) == {"a": 2, "b": 4, "c": -3}
    assert warp(add_one)(1, 2, 3) == (2, 3, 4)
    assert warp(add_one, t1).sum([1, 2]) == 10  # several steps are one pipeline per item: 4 + 6
    with pytest.raises(ValueError, match="3 branches but its input has 2 items"):
        diverter(add_one, add_one, add_one)(1, 2)


def test_switch_ifs_and_loop():
    assert switch({is_1: t1, is_2: t2}, judge_on_full_input=True)(1) == 2
    assert switch({is_1: t1, is_2: t2}, judge_on_full_input=True)(2) == 6
    assert switch({is_1: t1, is_2: t2, "default": t3}, judge_on_full_input=True)(3) == 3
    with pytest.raises(ValueError, match="no case of this switch matches 3.*'default'"):
        switch({is_1: t1, is_2: t2})(3)  # LazyLLM returns None here: a silent wrong answer
    with switch(judge_on_full_input=True) as sw:
        sw.case[is_1::t1]
        sw.case(is_2, t2)
        sw.case[is_3, t3]
    assert sw(1) == 2 and sw(2) == 6 and sw(3) == 3
    with switch(conversion=lambda x: x / 10, judge_on_full_input=True) as sw:
        sw.case[is_1:t1]
        sw.case(is_2, t2)
        sw.case[is_3, t3]
    assert sw(10) == 20 and sw(20) == 60 and sw(30) == 30
    with switch(judge_on_full_input=False) as sw:
        sw.case[is_1:t1]
        sw.case(is_2, t2)
        sw.case[is_3, t3]
    assert sw(1, 30) == 60 and sw(2, 10) == 30 and sw(3, 5) == 5
    assert ifs(is_1, t3, t1)(1) == 1 and ifs(is_1, t3, t1)(2) == 4
    assert loop(add_one, count=2)(0) == 2
    with loop(count=2) as lp:
        lp.f1 = add_one
        lp.f2 = add_one
    assert lp(1) == 5
    with loop(stop_condition=lambda x: x > 10) as lp:
        lp.f1 = add_one
        lp.f2 = add_one
    assert lp(1) == 11
    with pytest.raises(ValueError, match="never end"):
        loop(add_one)


def test_a_failing_step_names_the_step_and_its_flows():
    def broken(x):
        raise ZeroDivisionError("bad")

    with pipeline() as ppl:
        ppl.f1 = add_one
        with parallel() as ppl.prl:
            ppl.prl.ok = add_one
            ppl.prl.f2 = broken
    with pytest.raises(lazyllm.flow.FlowError, match=r"pipeline step 'prl' > parallel branch 'f2' failed: "
                                                      r"ZeroDivisionError: bad"):
        ppl(1)


def test_the_new_flows_keep_branches_concurrent():
    """Every branch waits at a barrier for the others: the call returns only if they all run at once."""
    import threading

    for flow, args in ((diverter, (1, 2, 3)), (warp, (1, 2, 3)), (parallel, (1,))):
        barrier = threading.Barrier(3, timeout=10)

        def meet(x, barrier=barrier):
            barrier.wait()
            return x
        branches = (meet,) if flow is warp else (meet, meet, meet)
        assert len(flow(*branches)(*args)) == 3
    seen: list[str] = []

    def one_at_a_time(x):
        seen.append(threading.current_thread().name)
        return x
    parallel.sequential(one_at_a_time, one_at_a_time)(1)
    assert seen == [threading.current_thread().name] * 2


def test_a_step_returning_kwargs_passes_them_by_name():
    with lazyllm.pipeline() as ppl:
        ppl.split = lambda x: lazyllm.kwargs(a=x, b=x * 2)
        ppl.add = lambda a, b: a + b
    assert ppl(3) == 9
    assert lazyllm.pipeline(lambda a, b=1: a - b)(lazyllm.kwargs(a=5, b=2)) == 3


def test_an_unpacked_output_fills_several_positional_arguments():
    with lazyllm.pipeline() as ppl:
        ppl.prl = lazyllm.parallel(lambda x: x + 1, lambda x: x * 2)
        ppl.ignored = lambda *a: "ignored"
        ppl.f = lazyllm.bind(lambda a, b, c: (a, b, c), ppl.output("prl", unpack=True), ppl.input)
    assert ppl(3) == (4, 6, 3)
    with lazyllm.pipeline() as ppl:
        ppl.prl = lazyllm.parallel(lambda x: x + 1, lambda x: x * 2)
        ppl.ignored = lambda *a: "ignored"
        ppl.f = lazyllm.bind(lambda a, b: (a, b), ppl.output("prl"), ppl.input)
    assert ppl(3) == ((4, 6), 3)


def test_lazyllm_bind_unpack_test():
    """LazyLLM's tests/basic_tests/test_flow.py::test_bind_pipeline_unpack."""
    def func(x, y, z):
        return lazyllm.package(x, y, z)

    for bound, expected in (
            (lambda ppl: lazyllm.bind(func, ppl.output("f1")[0], ppl.output("f1")[2], ppl.output("f1")[1]), (1, 3, 2)),
            (lambda ppl: lazyllm.bind(func, ppl.output("f1")[0], ppl.output("f1", unpack=True)[2:0:-1]), (1, 3, 2)),
            (lambda ppl: lazyllm.bind(func, ppl.output("f1", unpack=True)), (1, 2, 3))):
        with lazyllm.pipeline() as ppl:
            ppl.f1 = func
            with lazyllm.parallel() as ppl.pp:
                ppl.pp.func2 = func
                ppl.pp.func3 = func
            ppl.fout = bound(ppl)
        assert ppl(1, 2, 3) == expected


def test_package_as_lazyllm_documents_it():
    p = lazyllm.package(1, 2, 3)
    assert p == (1, 2, 3) and p[1] == 2 and isinstance(p[1:], lazyllm.package)
    assert p + lazyllm.package([4, 5]) == (1, 2, 3, 4, 5) and isinstance(p + (4,), lazyllm.package)


def test_lazyllm_graph_test():
    """LazyLLM's tests/basic_tests/test_flow.py::test_graph, with the slow node at 0.2 s."""
    def test1(x):
        time.sleep(0.2)
        return f"1 get {x};"

    def test2(x): return f"2 get {x};"
    def test3(x): return f"3 get {x};"
    def add(x, y): return x + y
    def concat(x, y): return [x, y]

    with lazyllm.graph() as g:
        g.test1 = test1
        g.test2 = test2
        g.test3 = test3
        g.add = add
        g.concat = concat
    g.add_edge(g.start_node_name, ["test1", "test2", "test3"])
    g.add_edge(["test1", "test2"], "add")
    g.add_edge(["add", "test3"], "concat")
    g.add_edge("concat", g.end_node_name)
    assert g(1) == ["1 get 1;2 get 1;", "3 get 1;"]


def test_graph_documented_examples():
    with lazyllm.graph() as g:
        g.add = lambda x, y: x + y
        g.multiply = lambda x: x * 2
    g.add_edge("__start__", "add")
    g.add_const_edge(5, "add")
    g.add_edge("add", "multiply")
    g.add_edge("multiply", "__end__")
    assert g(3) == 16 and g._constants == [5]
    assert (g.start_node.name, g.end_node.name) == ("__start__", "__end__")
    with lazyllm.graph() as g:
        g.node1 = lambda x: x * 2
        g.node2 = lambda x: x + 1
        g.node3 = lambda x, y: x + y
    g.add_edge("__start__", "node1")
    g.add_edge("node1", "node2")
    g.add_edge("node1", "node3", formatter=lambda v: v * 10)
    g.add_edge("node2", "node3")
    g.add_edge("node3", "__end__")
    assert [n.name for n in g.topological_sort()] == ["__start__", "node1", "node2", "node3", "__end__"]
    assert g._nodes["node1"].outputs == [g._nodes["node2"], g._nodes["node3"]] and g(1) == 23
    g.add_edge("node3", "node1")
    with pytest.raises(ValueError, match="cycle through"):
        g(1)


def test_graph_arg_names_and_keyword_inputs():
    with lazyllm.graph() as g:
        g.sub = lambda a, b: a - b
        g.split = lambda x: lazyllm.kwargs(a=x, b=1)
        g.sub2 = lambda a, b: a - b
    g.set_node_arg_name([["b", "a"]])
    g.add_edge("__start__", "sub")
    g.add_const_edge(10, "sub")
    g.add_edge("sub", "split")
    g.add_edge("split", "sub2")
    g.add_edge("sub2", "__end__")
    assert g._nodes["sub"].arg_names == ["b", "a"] and g(3) == 6  # sub(b=3, a=10) = 7, then 7 - 1


def test_graph_branches_run_at_once_and_errors_name_the_node():
    meet = threading.Barrier(3, timeout=10)  # broken unless the three branches run at the same time

    def slow(x):
        meet.wait()
        return x

    with lazyllm.graph() as g:
        g.a, g.b, g.c = slow, slow, slow
        g.join = lambda *xs: sum(xs)
    g.add_edge("__start__", ["a", "b", "c"])
    g.add_edge(["a", "b", "c"], "join")
    g.add_edge("join", "__end__")
    assert g(2) == 6
    with lazyllm.graph() as bad:
        bad.f = lambda x: 1 / x
    bad.add_edge("__start__", "f")
    bad.add_edge("f", "__end__")
    with pytest.raises(lazyllm.flow.FlowError, match="graph node 'f' failed: ZeroDivisionError"):
        bad(0)
    with pytest.raises(KeyError, match="graph has no node 'g'; its nodes: __start__, __end__, f"):
        bad.add_edge("f", "g")
    with pytest.raises(ValueError, match="already has an edge f → __end__"):
        bad.add_edge("f", "__end__")
    with lazyllm.graph() as dangling:
        dangling.f = abs
    dangling.add_edge("__start__", "f")
    with pytest.raises(ValueError, match="nothing reaches __end__"):
        dangling(-1)


def test_a_loop_judging_the_first_item_passes_the_rest_on_as_a_package():
    """LazyLLM: with judge_on_full_input=False, what a loop passes on (and returns) stays a package."""
    from ragjet import loop

    def double(x):
        return x * 2 >= 32, x * 2

    flow = loop(double, stop_condition=lambda done: done, judge_on_full_input=False, count=10)
    assert flow(1) == (32,) and isinstance(flow(1), tuple)


def test_a_barrier_holds_each_branch_until_all_reach_it():
    """LazyLLM's barrier: branches of a parallel wait at it for each other."""
    import threading

    from ragjet import barrier, parallel, pipeline

    seen, lock = [], threading.Lock()

    def step(name):
        def record(x):
            with lock:
                seen.append((name, x))
            return x + 1
        return record

    flow = pipeline(step("in"), parallel(pipeline(step("a"), barrier, step("a")),
                                         pipeline(step("b"), step("b"), step("b"), barrier, step("b"))))
    assert flow(0) == (3, 5)
    before = seen.index(("a", 2))  # branch a's step after the barrier ran after branch b reached it
    assert ("b", 3) in seen[:before]
    assert barrier(7) == 7 and parallel.sequential(pipeline(barrier, step("s")), step("t"))(1) == (2, 2)

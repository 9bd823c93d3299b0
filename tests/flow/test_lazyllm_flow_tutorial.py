"""The snippets of LazyLLM's flow tutorial (docs/en/Best Practice/flow.md), each with the output it asserts,
run with ``import ragjet as lazyllm``. Left out: the one built on LazyLLM's ``component_register`` groups."""
import ragjet as lazyllm
from ragjet import _0, bind, parallel, pipeline


def f1(input, input2=0): return input + input2 + 1
def f2(input): return input + 3
def f3(input): return f'f3-{input}'
def f4(in1, in2, in3): return f'get [{in1}], [{in2}], [{in3}]'


def test_functions_functors_and_functor_classes():
    class Functor(object):
        def __call__(self, x): return x * x

    def g1(input): return input + 1
    g2 = lambda x: x * 2  # noqa: E731
    assert pipeline(g1, g2, Functor(), Functor)(1) == 256
    with pipeline() as p:
        p.f1 = g1
        p.f2 = g2
        p.f3 = Functor()
    assert p(1) == 16
    assert pipeline(str.strip, str, int)(" 7 ") == 7  # a class whose instances are not callable converts


def test_parameter_binding_three_ways():
    for bound in (lambda p: bind(f4, p.input, _0, p.f2), lambda p: f4 | bind(p.input, _0, p.f2),
                  lambda p: f4 | bind(p.input, _0, in3=p.f2)):
        with pipeline() as p:
            p.f1 = f1
            p.f2 = f2
            p.f3 = f3
            p.f4 = bound(p)
        assert p(1) == 'get [1], [f3-5], [5]'


# The tutorial's functions for a structured input (it defines them once for its two examples).
def g1(input): return dict(a=input[0], b=input[1])
def g2(input): return input['a'] + input['b']
def g3(input, extra): return f'[{input} + {extra}]'


def test_binding_items_of_nested_inputs():
    with pipeline() as p1:
        p1.f1 = g1
        with pipeline() as p1.p2:
            p2.f2 = g2  # noqa: F821  (the block's short name)
            p2.f3 = g3 | bind(extra=p2.input['b'])  # noqa: F821
        p1.f3 = g3 | bind(extra=p1.input[0])
    assert p1([1, 2]) == '[[3 + 2] + 1]'


def test_pipeline_bind_passes_the_outer_input_in():
    with pipeline() as p1:
        p1.f1 = g1
        p1.f2 = g2
        with pipeline().bind(extra=p1.input[0]) as p1.p2:
            p2.f3 = g3  # noqa: F821
        p1.p3 = pipeline(g3) | bind(extra=p1.input[1])
    assert p1([1, 2]) == '[[3 + 1] + 2]'


def test_auto_capture():
    def g4(in1, in2): return f'get [{in1}], [{in2}]'

    with pipeline(auto_capture=True) as p:
        p1 = f1  # noqa: F841
        p2 = f2  # noqa: F841
        p3 = f3  # noqa: F841
        p4 = g4 | bind(p.input, _0)  # noqa: F841
    assert p(1) == 'get [1], [f3-5]'


def test_parallel_post_processing_and_sequential():
    def g(input): return input

    with parallel() as p:
        p.f1 = g
        p.f2 = g
    assert p(1) == (1, 1)
    with parallel().asdict as p:
        p.f1 = g
        p.f2 = g
    assert p(1) == dict(f1=1, f2=1)
    with parallel().sum as p:
        p.f1 = g
        p.f2 = g
    assert p(1) == 2
    with parallel.sequential() as p:
        p.f1 = g
        p.f2 = g
    assert p(1) == (1, 1)
    assert lazyllm.pipeline is pipeline

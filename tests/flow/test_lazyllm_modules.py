"""LazyLLM's module bases on ragjet: `ModuleBase` (its documented submodules example, forward, start once and
depth first, kwargs spread) and `ActionModule` (a function or a flow as a module, its models started with it)."""
import pytest

import ragjet as lazyllm


class Startable(lazyllm.Startable):
    """Stands for a ragjet model in the submodule tests: an object that declares `ragjet.Startable`."""

    started: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self) -> "Startable":
        Startable.started.append(self.name)
        return self

    def __call__(self, x):
        return f"{self.name}({x})"


class Runs:
    """Has a ``start`` but does not declare `Startable` (a user's thread, a helper whose start takes arguments)."""

    def start(self, *needed):
        raise AssertionError("a module must not start what does not declare Startable")


def test_a_module_starts_only_what_declares_startable():
    class Module(lazyllm.ModuleBase):
        def __init__(self):
            super().__init__()
            self.worker = Runs()
            self.deploy = lazyllm.deploy.LlamaCpp()
            self.docs = lazyllm.Document(".")

    module = Module()
    assert [type(s).__name__ for s in module.submodules] == ["Document"]


def test_the_documented_submodules_example():
    class Module(lazyllm.module.ModuleBase):
        pass

    class Module2(lazyllm.module.ModuleBase):
        def __init__(self):
            super(__class__, self).__init__()
            self.m = Module()

    m = Module2()
    assert repr(m.submodules) == "[<Module type=Module>]"
    m.m3 = Module()
    assert repr(m.submodules) == "[<Module type=Module>, <Module type=Module>]"


def test_forward_is_called_and_kwargs_are_spread():
    class Adder(lazyllm.ModuleBase):
        def forward(self, a, b=0):
            return a + b

    adder = Adder()
    assert adder(1, b=2) == 3 and adder(lazyllm.kwargs(a=4, b=5)) == 9
    with pytest.raises(NotImplementedError, match="must implement forward"):
        lazyllm.ModuleBase()(1)


def test_start_starts_what_the_module_holds_depth_first_and_once():
    Startable.started = []

    class Inner(lazyllm.ModuleBase):
        def __init__(self):
            super().__init__()
            self.llm = Startable("inner llm")

    class Outer(lazyllm.ModuleBase):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.embed = Startable("embed")
            self._private = Startable("private")  # a helper of the module's own, not a submodule

    outer = Outer()
    assert outer.start() is outer and outer.update() is outer
    assert Startable.started == ["inner llm", "embed"]
    found = []
    outer.for_each(lambda m: isinstance(m, Startable), lambda m: found.append(m.name))
    assert found == ["inner llm", "embed"]


def test_action_module_wraps_a_flow_and_starts_its_models():
    Startable.started = []
    llm = Startable("llm")
    with lazyllm.pipeline() as ppl:
        ppl.clean = str.strip
        ppl.llm = llm | lazyllm.bind()
    action = lazyllm.ActionModule(ppl).start()
    assert action("  hi ") == "llm(hi)" and Startable.started == ["llm"]
    assert lazyllm.ActionModule(lambda x: x + 1, lambda x: x * 2)(3) == 8
    with pytest.raises(TypeError, match="needs an action"):
        lazyllm.ActionModule()


def test_a_module_is_a_step_of_a_flow():
    class Upper(lazyllm.ModuleBase):
        def forward(self, text):
            return text.upper()

    with lazyllm.pipeline() as ppl:
        ppl.upper = Upper()
        ppl.exclaim = lambda s: s + "!"
    assert ppl("hey") == "HEY!"

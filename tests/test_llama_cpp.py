"""The llama.cpp text generator, against a stand-in ``llama_cpp`` module (the real one is a
5-minute source build that CI does not make; ``benchmarks/text_episode.py --llm-teachers`` runs
the real one)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from teachgym import llama_cpp as backend
from teachgym.errors import ConfigError
from teachgym.text_engines import make_generator


class _Perf:
    def __init__(self, counters: dict[str, float]) -> None:
        self.__dict__.update(counters)


class _FakeLlama:
    """Completes ``prompt`` with text that shows the seed and the prompt's length; counts prefill
    tokens (characters here) beyond the prefix shared with the previous prompt, as llama.cpp does."""

    instances: list[_FakeLlama] = []

    def __init__(self, model_path: str, **options: object) -> None:
        self.model_path, self.options = model_path, options
        self.previous = ""
        self.ctx = self
        self.counters = {"t_p_eval_ms": 0.0, "n_p_eval": 0.0, "t_eval_ms": 0.0, "n_eval": 0.0}
        self.calls: list[dict[str, object]] = []
        _FakeLlama.instances.append(self)

    def create_completion(self, prompt: str, **kwargs: object) -> dict[str, object]:
        shared = 0
        while shared < min(len(prompt), len(self.previous)) and prompt[shared] == self.previous[shared]:
            shared += 1
        self.previous = prompt
        self.counters["n_p_eval"] += len(prompt) - shared
        self.counters["t_p_eval_ms"] += len(prompt) - shared
        self.counters["n_eval"] += 3
        self.counters["t_eval_ms"] += 30
        self.calls.append({"prompt": prompt, **kwargs})
        text = f" {kwargs['seed']} {len(prompt)}"
        return {"choices": [{"text": text}], "usage": {"prompt_tokens": len(prompt), "completion_tokens": 3}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    module = types.ModuleType("llama_cpp")
    module.Llama = _FakeLlama  # type: ignore[attr-defined]
    module.llama_perf_context = lambda ctx: _Perf(ctx.counters)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    monkeypatch.setattr(backend, "available", lambda: True)
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_completions_are_seeded_from_one_draw_and_stop_at_a_blank_line(fake: Path) -> None:
    generator = make_generator(f"llama.cpp:{fake}", max_new_tokens=20, temperature=0.5)
    assert isinstance(generator, backend.LlamaCppGenerator)
    rng = np.random.default_rng(0)
    first = generator.complete(["Problem: 1+1\nAnswer: 2\n\nProblem:"] * 3, rng)
    assert len(set(first)) == 3  # one seed per prompt
    prompts = ["Problem: 1+1\nAnswer: 2\n\nProblem:"] * 3
    again = make_generator(f"llama.cpp:{fake}").complete(prompts, np.random.default_rng(0))
    assert [c.split()[0] for c in again] == [c.split()[0] for c in first]  # same rng, same seeds
    call = _FakeLlama.instances[0].calls[0]
    assert call["max_tokens"] == 20 and call["temperature"] == 0.5 and call["stop"] == ["\n\n"]


def test_it_draws_from_the_callers_generator_as_transformers_does(fake: Path) -> None:
    """One draw per call whatever the number of prompts, so the caller's later draws (shots) do
    not depend on the backend."""
    rng, reference = np.random.default_rng(1), np.random.default_rng(1)
    make_generator(f"llama.cpp:{fake}").complete(["a", "b", "c"], rng)
    reference.integers(2**63 - 1)
    assert rng.integers(10**9) == reference.integers(10**9)


def test_a_shared_prefix_is_read_once_and_counted(fake: Path) -> None:
    generator = make_generator(f"llama.cpp:{fake}")
    header = "Practice problems:\n\n" * 10
    generator.complete([header + "Problem: 1", header + "Problem: 2"], np.random.default_rng(0))
    stats = generator.stats
    assert stats["completions"] == 2 and stats["generated_tokens"] == 6
    assert stats["prompt_tokens"] == 2 * len(header + "Problem: 1")
    assert stats["prefill_tokens"] == len(header + "Problem: 1") + 1  # the second reads one new token
    assert stats["generation_seconds"] == pytest.approx(0.06)


def test_bad_arguments_are_refused(fake: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"expected 'smollm2' or a \.gguf file"):
        make_generator(f"llama.cpp:{tmp_path / 'missing.gguf'}")
    with pytest.raises(ConfigError, match="max_new_tokens=0"):
        backend.LlamaCppGenerator(str(fake), max_new_tokens=0)
    with pytest.raises(ConfigError, match="stop="):
        backend.LlamaCppGenerator(str(fake), stop=("",))


def test_without_llama_cpp_python_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from teachgym.errors import UnsupportedError

    monkeypatch.setattr(backend, "available", lambda: False)
    with pytest.raises(UnsupportedError, match="pip install llama-cpp-python"):
        make_generator("llama.cpp:smollm2")

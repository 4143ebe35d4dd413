"""Wall time of one default episode of each language-model (text) id on the CPU.

    python benchmarks/text_episode.py [--seed 0] [--json PATH]

Runs one episode of every registered id whose student is the LM student, under the ``uniform``
teacher with the id's default settings and one torch thread, and splits the time into the
student's training (``learn``), its assessment (greedy decoding of the held-out answers) and the
rest (the env, the engine and the teacher). Prints a table and optionally writes JSON records
``{"name", "value", "unit", "target"}``. Target: one episode in <= 60 s.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write JSON records here")
    args = parser.parse_args()
    torch.set_num_threads(1)
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
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text("".join(json.dumps(r) + "\n" for r in records))


if __name__ == "__main__":
    main()

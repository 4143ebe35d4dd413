"""The teacher registry and the baselines: they run, they differ, and references rank above."""

from __future__ import annotations

import inspect

import gymnasium as gym
import numpy as np
import pytest

import teachgym
from teachgym import agents
from teachgym.errors import ConfigError, UnknownNameError, UnsupportedError
from teachgym.rollout import run_episode
from tests.conftest import make_env


def test_names_and_specs() -> None:
    assert {"random", "uniform", "round-robin", "weakest-skill", "oracle"} <= set(agents.names())
    for name in agents.names():
        spec = agents.spec(name)
        assert spec.paper and spec.summary and spec.families
    assert agents.spec("oracle").reference
    assert not agents.spec("weakest-skill").reference


def test_unknown_teacher_is_refused_with_the_known_names() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    with pytest.raises(UnknownNameError, match=r"'nobody'.*weakest-skill"):
        agents.make("nobody", env)


def test_oracle_refuses_a_neural_student() -> None:
    env = gym.make("teachgym/SkillList-Synthetic-v0")
    with pytest.raises(UnsupportedError, match="oracle"):
        agents.make("oracle", env)


class _EchoLLM:
    """A stand-in language model that always writes one correct example (keeps the test offline)."""

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
        return [" What is 12 + 34?\nAnswer: 46\n\n"] * len(prompts)


def _offline_knobs(name: str, env: gym.Env) -> dict:
    """Teachers that prompt a language model get the stand-in instead of SmolLM2."""
    factory = agents.spec(name, env.unwrapped.family).factory
    return {"generator": _EchoLLM()} if "generator" in inspect.signature(factory).parameters else {}


@pytest.mark.parametrize("name", agents.names())
def test_every_teacher_plays_every_env_it_supports(name: str) -> None:
    for env_id in teachgym.envs.ids():
        env = make_env(env_id, num_steps=3)
        if not agents.supports(name, env):
            continue
        try:
            teacher = agents.make(name, env, **_offline_knobs(name, env))
        except UnsupportedError:  # e.g. oracle on a neural student: refused clearly, tested above
            continue
        result = run_episode(env, teacher, seed=0, agent=name)
        assert len(result.curve) == 3


def _final_test(name: str, seeds: range) -> np.ndarray:
    env = gym.make("teachgym/SkillList-Sim-v0")
    teacher = agents.make(name, env)
    return np.array([run_episode(env, teacher, seed).test_accuracy for seed in seeds])


def _paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95% normal interval of the mean paired difference a - b (same seed = same student)."""
    diff = a - b
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
    return diff.mean() - half, diff.mean() + half


def test_teachers_differ_on_sim() -> None:
    """weakest-skill beats random, and oracle beats weakest-skill, on final test accuracy: the paired
    95% interval over 20 seeds lies above zero."""
    seeds = range(20)
    random, weakest, oracle = (_final_test(n, seeds) for n in ("random", "weakest-skill", "oracle"))
    assert _paired_interval(weakest, random)[0] > 0
    assert _paired_interval(oracle, weakest)[0] > 0


def test_round_robin_cycles_through_skills() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    teacher = agents.make("round-robin", env)
    obs, info = env.reset(seed=0)
    teacher.reset(env.observation_space, env.action_space, seed=0)
    num_skills = env.action_space.shape[0]
    chosen = [int(np.argmax(teacher.act(obs, info).sum(axis=1))) for _ in range(num_skills + 1)]
    assert chosen == [*range(num_skills), 0]


def test_weakest_skill_targets_the_missing_skills() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    teacher = agents.make("weakest-skill", env)
    teacher.reset(env.observation_space, env.action_space, seed=0)
    obs, info = env.reset(seed=0)
    obs = {**obs, "profile": np.linspace(0.0, 1.0, len(obs["profile"]), dtype=np.float32)}
    per_skill = teacher.act(obs, info).sum(axis=1)
    assert np.all(np.diff(per_skill) < 0) and per_skill[-1] == 0


def test_plain_functions_and_predict_models_adapt_to_teachers() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0", num_steps=2)

    def constant(obs):
        return np.ones(env.action_space.shape, np.float32)

    class Model:
        def predict(self, obs, deterministic=True):
            return np.ones(env.action_space.shape, np.float32), None

    class ActOnly:
        def act(self, obs, info):
            return np.ones(env.action_space.shape, np.float32)

    for policy in (constant, Model(), ActOnly()):
        result = run_episode(env, agents.as_teacher(policy), seed=0)
        assert len(result.curve) == 2
        assert len(run_episode(env, policy, seed=0).curve) == 2  # run_episode adapts by itself
    with pytest.raises(ConfigError, match="cannot use 3 as a teacher"):
        agents.as_teacher(3)


def test_teacher_knobs_are_checked() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    assert agents.make("weakest-skill", env, sharpness=2.0).sharpness == 2.0
    with pytest.raises(ConfigError, match="sharpness=-1"):
        agents.make("weakest-skill", env, sharpness=-1.0)
    with pytest.raises(ConfigError, match=r"unexpected keyword argument 'speed'"):
        agents.make("uniform", env, speed=2)


def test_teacher_randomness_is_not_the_env_stream() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    env.reset(seed=5)
    assert agents.teacher_rng(5).integers(2**62) != np.random.default_rng(5).integers(2**62)


def test_one_name_may_serve_several_kinds_but_never_twice_for_one() -> None:
    intervention = gym.make("teachgym/Intervention-Sim-v0")
    allocation = gym.make("teachgym/SkillList-Sim-v0")
    assert type(agents.make("random", intervention)) is not type(agents.make("random", allocation))
    assert {"SkillList", "Intervention"} <= set(agents.spec("random").families)

    with pytest.raises(ConfigError, match="already registered for kinds \\['allocation'\\]"):

        @agents.register("random", kinds=("allocation",), paper="-", summary="-")
        class Duplicate:
            pass

"""The batched vector env: one population student for N envs, with the trajectories of N single envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ENV_IDS, make_env, valid_action
from gymnasium.vector.utils import concatenate, create_empty_array

import teachgym
from teachgym.errors import ConfigError, InvalidActionError
from teachgym.seeding import children
from teachgym.students.members import learn_each
from teachgym.vector import TeachingVectorEnv

SIM = "teachgym/SkillList-Sim-v0"


def make_native(env_id: str, num_envs: int, **kwargs: object) -> gym.vector.VectorEnv:
    settings = {**teachgym.envs.quick_settings(env_id), **kwargs}
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **settings)


def info_of(infos: dict, index: int) -> dict:
    """Env ``index``'s info out of a vector env's masked info dict."""
    out = {}
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict):
            if infos[f"_{key}"][index]:
                out[key] = info_of(value, index)
        elif infos[f"_{key}"][index]:
            out[key] = value[index].item() if isinstance(value[index], np.generic) else value[index]
    return out


def assert_same(a: object, b: object, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where  # type: ignore[arg-type]
        for i, (x, y) in enumerate(zip(a, b, strict=True)):  # type: ignore[call-overload]
            assert_same(x, y, f"{where}[{i}]")
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_native_vector_env_equals_single_envs(env_id: str) -> None:
    """Every observation, reward, end flag and info of N=2 native envs equals that of two single
    envs with the same seeds and actions, through a whole episode and the autoreset after it."""
    num_envs, seed = 2, 5
    singles = [make_env(env_id) for _ in range(num_envs)]
    native = make_native(env_id, num_envs)
    assert isinstance(native.unwrapped, TeachingVectorEnv)
    assert native.unwrapped.student.num_members == num_envs
    last = [env.reset(seed=seed + i) for i, env in enumerate(singles)]
    observations, infos = native.reset(seed=seed)
    space = singles[0].action_space
    rngs = [np.random.default_rng(i) for i in range(num_envs)]
    num_steps = singles[0].unwrapped.num_steps
    for step in range(num_steps + 2):
        actions = [valid_action(space, step, rngs[i], last[i][0].get("action_mask")) for i in range(num_envs)]
        batched = concatenate(space, actions, create_empty_array(space, num_envs))
        observations, rewards, terminations, truncations, infos = native.step(batched)
        for i, env in enumerate(singles):
            if step == num_steps:  # the native env autoresets here (NEXT_STEP): reward 0, no end
                obs, info = env.reset()
                expected = (obs, 0.0, False, False, info)
            else:
                expected = env.step(actions[i])
            where = f"{env_id} step {step} env {i}"
            for key in expected[0]:
                assert_same(expected[0][key], observations[key][i], f"{where} obs {key}")
            got = (rewards[i], terminations[i], truncations[i])
            assert (expected[1], expected[2], expected[3]) == got, where
            assert_same(expected[4], info_of(infos, i), f"{where} info")
            last[i] = expected
    native.close()


def test_reset_mask_resets_only_those_envs_as_single_envs_would() -> None:
    native = make_native(SIM, 3)
    native.reset(seed=0)
    ones = np.ones((3, *native.single_action_space.shape), np.float32)
    for _ in range(4):
        before, *_ = native.step(ones)
    mask = np.array([False, True, False])
    after, infos = native.reset(seed=[None, 40, None], options={"reset_mask": mask})
    fresh, _ = make_env(SIM).reset(seed=40)
    for key, value in fresh.items():
        np.testing.assert_array_equal(after[key][1], value)
        np.testing.assert_array_equal(after[key][[0, 2]], before[key][[0, 2]])
    assert list(infos["_step"]) == [False, True, False]
    with pytest.raises(ConfigError, match="reset_mask"):
        native.reset(options={"reset_mask": np.array([1, 0, 1])})


def test_an_invalid_action_in_one_env_is_refused_and_changes_no_env() -> None:
    actions = np.ones((3, *make_env(SIM).action_space.shape), np.float32)
    bad = actions.copy()
    bad[1, 0, 0] = np.nan
    native, untouched = make_native(SIM, 3), make_native(SIM, 3)
    native.reset(seed=1)
    untouched.reset(seed=1)
    with pytest.raises(InvalidActionError, match="env 1 of the vector env"):
        native.step(bad)
    for _ in range(3):
        got, expected = native.step(actions), untouched.step(actions)
        for key in got[0]:
            np.testing.assert_array_equal(got[0][key], expected[0][key])
        np.testing.assert_array_equal(got[1], expected[1])


def test_vector_env_refuses_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="num_envs"):
        make_native(SIM, 0)
    with pytest.raises(ConfigError, match="render_mode"):
        make_native(SIM, 2, render_mode="ansi")
    native = make_native(SIM, 2)
    with pytest.raises(ConfigError, match="one per env"):
        native.reset(seed=[1, 2, 3])


def test_members_trained_on_different_numbers_of_examples_equal_single_students() -> None:
    """Batches of different sizes (e.g. intervention lessons) train in groups; each member's Adam
    counts its own updates, so every member still equals a one-member student (bitwise)."""
    env = make_env("teachgym/SkillList-Synthetic-v0").unwrapped
    config, domain = env.config, env.domain
    seeds = children(np.random.SeedSequence(3), 3)
    population = config.population(domain, 3)
    population.reset_each(seeds)
    rng = np.random.default_rng(0)
    sizes = [[5, 12, 5], [9, 9, 1], [0, 7, 7]]
    batches = [[_batch(env, size, rng) for size in step] for step in sizes]
    for step in batches:
        learn_each(population, [0, 1, 2], step)
    for p in range(3):
        alone = config.population(domain, 1)
        alone.reset(seeds[p])
        for step in batches:
            alone.learn(step[p])
        for mine, theirs in zip(population._get_stacked(), alone._get_stacked(), strict=True):
            assert torch.equal(mine[p : p + 1], theirs)


def _batch(env: gym.Env, size: int, rng: np.random.Generator):
    weights = np.ones((1, env.skills.num_skills, env.skills.num_levels))
    counts = teachgym.engines.allocate(weights, size) if size else np.zeros(weights.shape, np.int64)
    return env.engine.generate(teachgym.engines.Plan(counts), rng)


def test_sb3_trains_on_the_native_vector_env() -> None:
    from stable_baselines3 import PPO

    from teachgym.rl.vec_env import SB3VecEnv

    venv = SB3VecEnv(make_native(SIM, 4, num_steps=5))
    model = PPO("MultiInputPolicy", venv, n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    observations = venv.reset()
    assert observations["profile"].shape == (4, venv.observation_space["profile"].shape[0])

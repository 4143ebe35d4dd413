"""Contracts every registered id keeps: env checkers, determinism, pickling, vectorization."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import teachgym
from tests.conftest import make_env, rollout, valid_action


def test_registry_lists_the_skill_list_family() -> None:
    ids = teachgym.envs.ids()
    for variant in ("Sim", "Digits", "Synthetic"):
        assert f"teachgym/SkillList-{variant}-v0" in ids


def test_gymnasium_check_env(env_id: str) -> None:
    env = make_env(env_id)
    gym_check_env(env.unwrapped, skip_render_check=True)


def test_stable_baselines3_check_env(env_id: str) -> None:
    env = make_env(env_id)
    if isinstance(env.action_space, gym.spaces.Sequence):
        pytest.skip("SB3 supports no Sequence/Text spaces: the text families are for LLM teachers, not SB3")
    if isinstance(env.action_space, gym.spaces.Box):  # allocation weights live in [0, 1], not [-1, 1]
        with pytest.warns(UserWarning, match="symmetric and normalized Box"):
            sb3_check_env(env.unwrapped, warn=True)
    else:
        sb3_check_env(env.unwrapped, warn=True)


def test_an_unknown_keyword_is_a_type_error(env_id: str) -> None:
    """Python's convention, which wrappers rely on: TorchRL's ``GymEnv`` passes ``frameskip`` and
    retries without it on exactly this ``TypeError``."""
    pattern = r"unexpected keyword argument 'frameskip'; expected any of \["
    with pytest.raises(TypeError, match=pattern):
        gym.make(env_id, frameskip=4)
    with pytest.raises(TypeError, match=pattern):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", frameskip=4)


def test_torchrl_check_env_specs(env_id: str) -> None:
    """TorchRL takes every non-text id unchanged, by id and wrapped (``check_env_specs`` rolls out
    a few random steps and checks every spec against what the env returned)."""
    from torchrl.envs import GymEnv, GymWrapper
    from torchrl.envs.utils import check_env_specs

    if isinstance(make_env(env_id).action_space, gym.spaces.Sequence):
        pytest.skip("TorchRL has no spec for Sequence/Text spaces: the text families are for LLM teachers")
    settings = teachgym.envs.quick_settings(env_id)
    check_env_specs(GymEnv(env_id, **settings), seed=0)
    check_env_specs(GymWrapper(make_env(env_id)), seed=0)


def _assert_same_trace(a: list, b: list) -> None:
    assert len(a) == len(b)
    for (obs_a, r_a, te_a, tr_a, info_a), (obs_b, r_b, te_b, tr_b, info_b) in zip(a, b, strict=True):
        assert obs_a.keys() == obs_b.keys()
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        assert (r_a, te_a, tr_a) == (r_b, te_b, tr_b)
        assert info_a == info_b


def test_same_seed_same_episode(env_id: str) -> None:
    _assert_same_trace(rollout(env_id, seed=7, policy="random"), rollout(env_id, seed=7, policy="random"))


def test_different_seeds_differ(env_id: str) -> None:
    a, b = rollout(env_id, seed=1), rollout(env_id, seed=2)
    assert any(
        x[4] != y[4] or any(not np.array_equal(x[0][k], y[0][k]) for k in x[0])
        for x, y in zip(a, b, strict=True)
    ), "two seeds gave the same episode"


def test_episode_ends_by_truncation_with_budget_spent(env_id: str) -> None:
    trace = rollout(env_id, seed=0)
    obs, _, terminated, truncated, info = trace[-1]
    assert truncated and not terminated
    assert obs["budget"][0] == 0.0
    assert not any(step[3] for step in trace[:-1])
    env = make_env(env_id).unwrapped
    assert len(trace) - 1 == env.num_steps
    assert info["examples_used"] == env.num_steps * env.examples_per_step


def test_returns_telescope_to_the_gain_in_progress(env_id: str) -> None:
    """The return is the final minus the initial ``progress()`` (mean validation accuracy with the
    default objective; families with further reward parts say what they add)."""
    env = make_env(env_id)
    obs, _ = env.reset(seed=3)
    start, total, done, step = env.unwrapped.progress(), 0.0, False, 0
    while not done:
        obs, reward, terminated, truncated, info = env.step(
            valid_action(env.action_space, step, None, obs.get("action_mask"))
        )
        total, done, step = total + reward, terminated or truncated, step + 1
    assert total == pytest.approx(env.unwrapped.progress() - start)
    assert info["mean_accuracy"] == pytest.approx(env.unwrapped.mean_accuracy())


def test_pickle_round_trip_continues_identically(env_id: str) -> None:
    env = make_env(env_id).unwrapped
    env.reset(seed=5)
    action = valid_action(env.action_space, 0)
    env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    obs_a, r_a, *_ = env.step(action)
    obs_b, r_b, *_ = clone.step(action)
    assert r_a == r_b
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key])


def test_sync_vector_env(env_id: str) -> None:
    envs = gym.make_vec(env_id, num_envs=4, vectorization_mode="sync", **teachgym.envs.quick_settings(env_id))
    obs, _ = envs.reset(seed=[0, 1, 2, 3])
    assert obs["budget"].shape[0] == 4
    actions = [valid_action(envs.single_action_space, i) for i in range(4)]
    # Sequence (text) actions batch as a tuple of per-env actions; arrays batch by stacking.
    actions = (
        tuple(actions) if isinstance(envs.single_action_space, gym.spaces.Sequence) else np.stack(actions)
    )
    obs, rewards, _terminated, _truncated, _ = envs.step(actions)
    assert rewards.shape == (4,)
    assert envs.single_observation_space.contains({k: v[0] for k, v in obs.items()})
    envs.close()


def test_ansi_render(env_id: str) -> None:
    env = make_env(env_id, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    skills = env.unwrapped.skills.names
    assert isinstance(text, str) and text.startswith("step 0/")
    # Families that hide the student's state show its profile only once the episode is over.
    assert all(name in text for name in skills) == env.unwrapped.reveals_profile

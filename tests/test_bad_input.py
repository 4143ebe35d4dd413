"""Bad input is refused with a clear ValueError, and a refused step changes nothing."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

from teachgym.errors import ConfigError, EpisodeStateError, InvalidActionError
from tests.conftest import make_env, valid_action


def _snapshot(value):
    """A comparable copy of ``value``: arrays, tensors and generators by content (torch's pickle
    embeds storage addresses, so pickled bytes differ between two dumps of the same tensor)."""
    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().numpy().tobytes(), tuple(value.shape))
    if isinstance(value, torch.Generator):
        return ("torch-rng", value.get_state().numpy().tobytes())
    if isinstance(value, np.random.Generator):
        return ("rng", repr(value.bit_generator.state))
    if isinstance(value, np.ndarray):
        return ("array", value.tobytes(), value.shape)
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_snapshot(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__name__, _snapshot(vars(value)))
    return pickle.dumps(value)


def _state(env):
    """Everything that could change: the student, the budget, the profile and every generator."""
    unwrapped = env.unwrapped
    return _snapshot(
        {
            "student": unwrapped.student,
            "episodes": unwrapped.state,
            "env_rng": unwrapped.np_random,
        }
    )


def _bad_box_actions(shape: tuple[int, ...]) -> dict[str, tuple[object, str]]:
    ones = np.ones(shape, np.float32)
    nan, inf, negative, big = ones.copy(), ones.copy(), ones.copy(), ones.copy()
    nan.flat[0], inf.flat[0], negative.flat[0], big.flat[0] = np.nan, np.inf, -0.5, 7.0
    return {
        "nan": (nan, "NaN or inf"),
        "inf": (inf, "NaN or inf"),
        "negative": (negative, "outside"),
        "above the bound": (big, "outside"),
        "all zero": (np.zeros(shape, np.float32), "all zero"),
        "wrong shape": (np.ones((shape[0] + 1, *shape[1:]), np.float32), r"shape .* does not match"),
        "flat": (np.ones(int(np.prod(shape)) + 1), "shape"),
        "text": ("teach addition", "dtype"),
        "ragged": ([[1.0], [1.0, 2.0]], "not an array|dtype"),
        "none": (None, "dtype"),
        "bool": (np.ones(shape, bool), "dtype bool"),
        "complex": (np.ones(shape, complex), "dtype complex"),
        "timedelta": (np.ones(shape, "m8[s]"), "dtype timedelta"),
        "masked": (np.ma.masked_array(np.ones(shape), mask=np.zeros(shape, bool)), "masked"),
    }


def _bad_discrete_actions(n: int) -> dict[str, tuple[object, str]]:
    return {
        "negative": (-1, "out of range"),
        "too large": (n, "out of range"),
        "huge": (2**62, "out of range"),
        "float": (1.5, "not an integer"),
        "whole float": (1.0, "not an integer"),
        "nan": (np.nan, "not an integer"),
        "text": ("one", "not an integer"),
        "none": (None, "not an integer"),
        "bool": (True, "bool"),
        "vector": (np.array([0, 1]), "not an integer"),
    }


def _bad_text_actions() -> dict[str, tuple[object, str]]:
    pair = ("What is 12 + 34?", "46")
    return {
        "a string": ("What is 12 + 34? 46", "expected a tuple or list"),
        "an array": (np.array([pair]), "expected a tuple or list"),
        "none": (None, "expected a tuple or list"),
        "a dict": ({"prompt": "answer"}, "expected a tuple or list"),
        "too many": ((pair,) * 10_000, "at most examples_per_step"),
        "a triple": ((pair, ("a", "b", "c")), r"action\[1\] .* expected a \(prompt, answer\) pair"),
        "a bare string": (("What is 1 + 1?",), r"action\[0\] .* expected a \(prompt, answer\) pair"),
        "none inside": ((None,), r"action\[0\] .* expected a \(prompt, answer\) pair"),
    }


def bad_actions(space: gym.Space) -> dict[str, tuple[object, str]]:
    """Actions outside ``space`` and the message each must be refused with."""
    if isinstance(space, gym.spaces.Sequence):
        return _bad_text_actions()
    if isinstance(space, gym.spaces.Discrete):
        return _bad_discrete_actions(int(space.n))
    if isinstance(space, gym.spaces.Box):
        return _bad_box_actions(space.shape)
    raise NotImplementedError(f"no bad actions for {space}; add them here")


def test_bad_actions_are_refused_and_change_nothing(env_id: str) -> None:
    env = make_env(env_id)
    env.reset(seed=0)
    env.step(valid_action(env.action_space, 0))
    before = _state(env)
    for case, (action, message) in bad_actions(env.action_space).items():
        with pytest.raises(InvalidActionError, match=message) as error:
            env.step(action)
        assert isinstance(error.value, ValueError), case
        assert _state(env) == before, f"refusing the {case} action changed the env"
    # The episode goes on as if the refused steps had never been tried.
    reference = make_env(env_id)
    reference.reset(seed=0)
    reference.step(valid_action(env.action_space, 0))
    good = valid_action(env.action_space, 1)
    obs_a, r_a, *_ = env.step(good)
    assert _state(env) != before, "the snapshot must see what a step changes"
    obs_b, r_b, *_ = reference.step(good)
    assert r_a == r_b
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_stepz": 3}, r"unexpected keyword argument 'num_stepz'"),
        ({"num_steps": 0}, "num_steps=0"),
        ({"num_steps": 2.5}, "num_steps=2.5 has type float"),
        ({"examples_per_step": -1}, "examples_per_step=-1"),
        ({"domain": "chess"}, "unknown domain 'chess'"),
        ({"student": "genius"}, "unknown student 'genius'"),
        ({"engine": "magic"}, "unknown engine 'magic'"),
        ({"objective": "happiness"}, "unknown objective 'happiness'"),
        ({"student_options": {"learning_rate": -1.0}}, "learning_rate"),
        ({"student_options": {"speed": 3}}, r"unexpected keyword argument 'speed'"),
        ({"domain_options": {"colour": 1}}, r"unexpected keyword argument 'colour'"),
        ({"render_mode": "human"}, "render_mode='human'"),
    ],
)
def test_bad_env_kwargs_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gym.make("teachgym/SkillList-Sim-v0", **kwargs)


def test_neural_student_on_latent_domain_is_refused() -> None:
    with pytest.raises(ConfigError, match="student 'mlp' reads 'features'"):
        gym.make("teachgym/SkillList-Sim-v0", student="mlp")


def test_step_out_of_order_is_refused() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0", num_steps=1, disable_env_checker=True).unwrapped
    with pytest.raises(EpisodeStateError, match="before reset"):
        env.step(np.ones(env.action_space.shape))
    env.reset(seed=0)
    env.step(np.ones(env.action_space.shape))
    with pytest.raises(EpisodeStateError, match="budget is spent"):
        env.step(np.ones(env.action_space.shape))


def test_objective_is_checked_at_reset_not_after_a_step() -> None:
    def broken(previous, current, cost):
        return [1.0, 2.0, 3.0]

    env = gym.make("teachgym/SkillList-Sim-v0", objective=broken, disable_env_checker=True)
    with pytest.raises(ConfigError, match="expected a finite scalar"):
        env.reset(seed=0)


def test_scalar_objectives_are_accepted() -> None:
    def gain(previous, current, cost):
        return float(current.mean[0] - previous.mean[0])

    env = gym.make("teachgym/SkillList-Sim-v0", objective=gain)
    env.reset(seed=0)
    _, reward, *_ = env.step(np.ones(env.action_space.shape, np.float32))
    assert np.isfinite(reward)


def test_reset_options_are_refused() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    with pytest.raises(ConfigError, match="reset\\(\\) takes no options"):
        env.reset(seed=0, options={"level": 3})

"""The SB3 policy adapters: each env family's spaces mapped to ones an SB3 policy can act in (allocations,
masked discrete choices, flattened observations; text refused), and the vector wrappers that carry
them and seed every student."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from stable_baselines3 import PPO

import teachgym  # noqa: F401  (registers the ids)
from teachgym.actions import as_allocation, as_discrete
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.rl.adapters import ALLOCATION_SCALE, PolicyAdapter, PolicyEnv, PolicyVectorEnv, policy_env
from teachgym.rl.seed_stream import StudentSeedStream
from teachgym.rl.vec_env import SB3VecEnv
from tests.test_train import SHORT, SKILL_LIST

#: One cheap id per family that SB3 can act on.
FAMILY_IDS = [
    "teachgym/SkillList-Sim-v0",
    "teachgym/SkillTree-Sim-v0",
    "teachgym/Curriculum-Addition-v0",
    "teachgym/Rehearsal-Sim-v0",
    "teachgym/Intervention-Sim-v0",
    "teachgym/Tutor-Sim-v0",
]


def allocation_adapter(env_id: str = SKILL_LIST) -> tuple[gym.Env, PolicyAdapter]:
    env = gym.make(env_id, **SHORT)
    return env, PolicyAdapter(env.observation_space, env.action_space, name=env_id)


def test_allocation_mapping() -> None:
    env, adapter = allocation_adapter()
    assert adapter.kind == "allocation" and adapter.policy_name == "MultiInputPolicy"
    assert adapter.action_space == spaces.Box(-1.0, 1.0, (24,), np.float32)
    uniform = adapter.action(np.zeros(24, np.float32))
    assert uniform.shape == (8, 3) and uniform.dtype == np.float32
    np.testing.assert_array_equal(uniform, np.ones((8, 3), np.float32))
    one_hot = -np.ones(24, np.float32)
    one_hot[5] = 1.0
    weights = adapter.action(one_hot)
    assert weights.reshape(-1)[5] == 1.0
    np.testing.assert_allclose(np.delete(weights.reshape(-1), 5), np.exp(-2 * ALLOCATION_SCALE), rtol=1e-6)
    # The shares are those of exp(3 a), row-major (skill, level) as the policy's flat action.
    a = np.random.default_rng(0).uniform(-1, 1, 24)
    expected = np.exp(ALLOCATION_SCALE * a) / np.exp(ALLOCATION_SCALE * a).sum()
    got = adapter.action(a).reshape(-1)
    np.testing.assert_allclose(got / got.sum(), expected, rtol=1e-5)
    env.close()


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        24,
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    )
)
def test_allocation_adapter_never_gives_an_invalid_action(action: np.ndarray) -> None:
    env_space = spaces.Box(0.0, 1.0, (8, 3), np.float32)
    adapter = PolicyAdapter(spaces.Dict({"profile": spaces.Box(0, 1, (8,), np.float32)}), env_space)
    weights = adapter.action(action)
    assert weights in env_space
    as_allocation(weights, env_space)  # the env's own check: finite, in bounds, not all zero
    batch = adapter.actions(np.stack([action, np.zeros(24)]))
    np.testing.assert_array_equal(batch[0], weights)


def test_discrete_adapter_maps_masked_actions_to_the_first_allowed() -> None:
    obs_space = spaces.Dict({"action_mask": spaces.MultiBinary(4), "x": spaces.Box(0, 1, (2,), np.float32)})
    adapter = PolicyAdapter(obs_space, spaces.Discrete(4))
    assert adapter.kind == "discrete" and adapter.mask_key == "action_mask"
    assert adapter.action_space == spaces.Discrete(4)
    rng = np.random.default_rng(0)
    for _ in range(300):
        mask = rng.integers(0, 2, 4).astype(np.int8)
        mask[0] = rng.integers(0, 2)  # sometimes even 0 is masked out
        raw = rng.integers(-3, 7)
        action = adapter.action(np.int64(raw), {"action_mask": mask})
        allowed = np.flatnonzero(mask)
        if 0 <= raw < 4 and mask[raw]:
            assert action == raw  # an allowed action is left alone
        else:
            assert action == (allowed[0] if len(allowed) else 0)
        as_discrete(action, spaces.Discrete(4))
    masks = rng.integers(0, 2, (50, 4)).astype(np.int8)
    masks[:, 0] = 1  # Intervention: none is always allowed
    raws = rng.integers(0, 4, 50)
    batch = adapter.actions(raws, {"action_mask": masks})
    assert all(masks[i, batch[i]] for i in range(50))
    assert batch.tolist() == [adapter.action(r, {"action_mask": m}) for r, m in zip(raws, masks, strict=True)]


@pytest.mark.parametrize("env_id", FAMILY_IDS, ids=[i.split("/")[1] for i in FAMILY_IDS])
def test_every_family_runs_in_policy_spaces(env_id: str) -> None:
    """SB3 builds a policy for each family's adapted spaces, and random policy actions (masked moves
    included) never make the env refuse a step."""
    kwargs = {"num_steps": 6, **({"budget_fraction": 0.34} if "Intervention" in env_id else {})}
    env = PolicyEnv(gym.make(env_id, **kwargs))
    assert isinstance(env.observation_space, spaces.Dict)
    for sub in env.observation_space.spaces.values():
        assert isinstance(sub, (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary))
    model = PPO(env.adapter.policy_name, env, n_steps=6, batch_size=6, seed=0, device="cpu")
    env.action_space.seed(0)
    for seed in range(2):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            assert obs in env.observation_space
            action = env.action_space.sample() if seed == 0 else model.predict(obs, deterministic=True)[0]
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    env.close()


def test_text_actions_and_observations_are_refused() -> None:
    """OpenEnded's spaces (written examples; recent errors as text): no SB3 policy."""
    text = spaces.Text(20)
    examples = spaces.Sequence(spaces.Tuple((text, text)))
    profile = spaces.Box(0, 1, (7,), np.float32)
    with pytest.raises(UnsupportedError, match=r"action space is Sequence\(.*\(text actions"):
        PolicyAdapter(spaces.Dict({"profile": profile}), examples, name="OpenEnded")
    with pytest.raises(UnsupportedError, match=r"OpenEnded's observation entry 'errors' is Sequence"):
        PolicyAdapter(
            spaces.Dict({"profile": profile, "errors": examples}), spaces.Discrete(2), name="OpenEnded"
        )
    with pytest.raises(ConfigError, match="policy_env wraps a gymnasium Env or VectorEnv"):
        policy_env("SkillList")
    # A nested Dict or Tuple of supported spaces is flattened to a float Box.
    nested = spaces.Dict({"pair": spaces.Tuple((spaces.Discrete(3), profile)), "profile": profile})
    adapter = PolicyAdapter(nested, spaces.Discrete(2))
    assert adapter.observation_space["pair"] == spaces.Box(0, 1, (10,), np.float32)
    obs = {"pair": (2, np.full(7, 0.5, np.float32)), "profile": np.zeros(7, np.float32)}
    np.testing.assert_array_equal(adapter.observation(obs)["pair"], [0, 0, 1] + [0.5] * 7)
    batch = {
        "pair": (np.array([2, 0]), np.full((2, 7), 0.5, np.float32)),
        "profile": np.zeros((2, 7), np.float32),
    }
    np.testing.assert_array_equal(adapter.observations(batch, 2)["pair"][1], [1, 0, 0] + [0.5] * 7)


def test_vector_adapter_keeps_each_masks_through_partial_resets() -> None:
    """Intervention in a native vector env, through SB3VecEnv: always-'reveal' policy actions are mapped to
    'none' once a sub-env's interventions are spent, across episodes that end apart."""
    venv = gym.make_vec(
        "teachgym/Intervention-Sim-v0",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        num_steps=6,
        budget_fraction=0.34,
    )
    wrapped = PolicyVectorEnv(venv)
    env = SB3VecEnv(wrapped)
    env.reset()
    for _ in range(20):  # more than three episodes
        mask = wrapped._last_obs["action_mask"].copy()
        mapped = wrapped.adapter.actions(np.full(3, 3), wrapped._last_obs)
        assert mapped.tolist() == [3 if m[3] else 0 for m in mask]
        env.step(np.full(3, 3))
    env.close()


def test_student_seed_stream_seeds_every_episode() -> None:
    venv = gym.make_vec(SKILL_LIST, num_envs=2, vectorization_mode="vector_entry_point", **SHORT)
    stream = StudentSeedStream(venv, 5_000_000)
    env = SB3VecEnv(PolicyVectorEnv(stream))
    first = env.reset()
    fresh = gym.make(SKILL_LIST, **SHORT)
    np.testing.assert_array_equal(first["profile"][1], fresh.reset(seed=5_000_001)[0]["profile"])
    for _ in range(5):
        obs, _, dones, _ = env.step(np.zeros((2, 24), np.float32))
    assert dones.all() and stream.episodes_started == 4  # two episodes each, seeds 5_000_000..3
    np.testing.assert_array_equal(obs["profile"][0], fresh.reset(seed=5_000_002)[0]["profile"])
    env.close()

"""SB3VecEnv: a Gymnasium 1.x vector env as an SB3 VecEnv (same-step autoreset, seeds, infos, PPO)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import check_for_correct_spaces, is_vectorized_observation
from stable_baselines3.common.vec_env import DummyVecEnv, VecCheckNan, VecMonitor

import teachgym  # noqa: F401  (registers the ids)
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.rl.vec_env import SB3VecEnv, info_to_list

ENV_ID = "teachgym/SkillList-Sim-v0"
NUM_STEPS = 5  # episode length
NUM_ENVS = 3
SEED = 7


def make_vec(mode: str = "sync", autoreset: str = "NextStep", num_envs: int = NUM_ENVS) -> VectorEnv:
    return gym.make_vec(
        ENV_ID,
        num_envs=num_envs,
        vectorization_mode=mode,
        vector_kwargs={"autoreset_mode": autoreset},
        num_steps=NUM_STEPS,
    )


def actions(step: int, num_envs: int = NUM_ENVS) -> np.ndarray:
    """Different, fixed allocations per step and sub-env (Box(0, 1, (8, 3)))."""
    rng = np.random.default_rng([step, 123])
    return rng.uniform(0.05, 1.0, (num_envs, 8, 3)).astype(np.float32)


def assert_obs_equal(a: Any, b: Any) -> None:
    assert isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


class RecordingWrapper(VectorWrapper):
    """Keeps a copy of every batch of observations the vector env's step returns."""

    def __init__(self, env: VectorEnv) -> None:
        super().__init__(env)
        self.step_obs: list[dict[str, np.ndarray]] = []

    def step(self, actions: Any) -> Any:
        result = self.env.step(actions)
        self.step_obs.append(deepcopy(result[0]))
        return result


# check_env's advice on this env's spaces (2-D Boxes, a [0, 1] action Box) is not what is tested here.
@pytest.mark.filterwarnings("ignore:Your observation .* has an unconventional shape")
@pytest.mark.filterwarnings("ignore:We recommend you to use a symmetric and normalized Box action space")
def test_sb3_checks_and_dict_observations() -> None:
    check_env(gym.make(ENV_ID, num_steps=NUM_STEPS))  # SB3's own check of one sub-env
    venv = make_vec()
    env = SB3VecEnv(venv)
    assert env.num_envs == NUM_ENVS
    assert env.observation_space == venv.single_observation_space
    assert env.action_space == venv.single_action_space
    check_for_correct_spaces(env, venv.single_observation_space, venv.single_action_space)
    # VecMonitor (asks env_is_wrapped(Monitor)) and VecCheckNan run the VecEnv API on every step.
    checked = VecCheckNan(VecMonitor(env), raise_exception=True)
    obs = checked.reset()
    assert isinstance(obs, dict)
    assert is_vectorized_observation(obs, env.observation_space)  # type: ignore[arg-type]  # takes dicts
    assert all(value.shape == (NUM_ENVS, *env.observation_space[key].shape) for key, value in obs.items())
    assert obs in venv.observation_space
    for step in range(NUM_STEPS):
        obs, rewards, dones, infos = checked.step(actions(step))
        assert rewards.shape == (NUM_ENVS,) and rewards.dtype == np.float32
        assert obs in venv.observation_space
    assert dones.all()
    assert all(info["episode"]["l"] == NUM_STEPS for info in infos)
    checked.close()


@pytest.mark.parametrize(
    ("mode", "autoreset"),
    [("sync", "NextStep"), ("sync", "SameStep"), ("sync", "Disabled"), ("async", "NextStep")],
)
def test_same_as_dummy_vec_env(mode: str, autoreset: str) -> None:
    """Step for step what SB3's DummyVecEnv does over gymnasium.make envs with the same seeds."""
    env = SB3VecEnv(make_vec(mode, autoreset))
    reference = DummyVecEnv([lambda: gym.make(ENV_ID, num_steps=NUM_STEPS) for _ in range(NUM_ENVS)])
    assert env.seed(SEED) == reference.seed(SEED) == [SEED + i for i in range(NUM_ENVS)]
    assert_obs_equal(env.reset(), reference.reset())
    for step in range(2 * NUM_STEPS + 2):
        obs, rewards, dones, infos = env.step(actions(step))
        ref_obs, ref_rewards, ref_dones, ref_infos = reference.step(actions(step))
        assert_obs_equal(obs, ref_obs)
        np.testing.assert_array_equal(rewards, ref_rewards)
        np.testing.assert_array_equal(dones, ref_dones)
        for info, ref_info in zip(infos, ref_infos, strict=True):
            assert info.keys() == ref_info.keys()
            assert info["TimeLimit.truncated"] == ref_info["TimeLimit.truncated"]
            if "terminal_observation" in ref_info:
                assert_obs_equal(info["terminal_observation"], ref_info["terminal_observation"])
            np.testing.assert_array_equal(info["mean_accuracy"], ref_info["mean_accuracy"])
    env.close()
    reference.close()


def test_episode_ends_terminal_observation_and_next_reset() -> None:
    recorder = RecordingWrapper(make_vec())
    env = SB3VecEnv(recorder)
    assert env.supports_reset_mask  # found through the wrapper: the sync vectorizer has it
    env.seed(SEED)
    env.reset()
    # What each sub-env does alone: reset(seed=SEED + i), the same actions, then reset() without a seed.
    singles = [gym.make(ENV_ID, num_steps=NUM_STEPS) for _ in range(NUM_ENVS)]
    for i, single in enumerate(singles):
        single.reset(seed=SEED + i)
    for step in range(2 * NUM_STEPS):
        obs, _, dones, infos = env.step(actions(step))
        ends = (step + 1) % NUM_STEPS == 0
        assert dones.tolist() == [ends] * NUM_ENVS
        for i, (single, info) in enumerate(zip(singles, infos, strict=True)):
            single_obs, _, terminated, truncated, _ = single.step(actions(step)[i])
            assert (terminated, truncated) == (False, ends)
            assert info["TimeLimit.truncated"] is ends
            if ends:
                last = {key: value[i] for key, value in recorder.step_obs[-1].items()}
                assert_obs_equal(info["terminal_observation"], last)
                assert_obs_equal(info["terminal_observation"], single_obs)
                assert "test_profile" in info  # the last step's info, not the reset's
                single_obs, _ = single.reset()  # seed None: the sub-env's generator continues
            else:
                assert "terminal_observation" not in info
            assert_obs_equal({key: value[i] for key, value in obs.items()}, single_obs)
    env.close()


def test_seed_is_used_at_the_next_reset_only() -> None:
    env = SB3VecEnv(make_vec())
    env.seed(SEED)
    first = env.reset()
    assert env._seeds == [None] * NUM_ENVS
    again = env.reset()  # no seed: a new draw, not a repeat
    assert not np.array_equal(first["profile"], again["profile"])
    env.seed(SEED)
    assert_obs_equal(env.reset(), first)
    fresh = [gym.make(ENV_ID, num_steps=NUM_STEPS).reset(seed=SEED + i)[0] for i in range(NUM_ENVS)]
    np.testing.assert_array_equal(first["profile"], np.stack([obs["profile"] for obs in fresh]))
    env.close()


def test_ppo_learns() -> None:
    env = SB3VecEnv(make_vec(num_envs=4))
    model = PPO("MultiInputPolicy", env, n_steps=8, batch_size=8, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=32)
    assert model.num_timesteps == 32
    env.close()


@pytest.mark.parametrize("bad", [lambda: gym.make(ENV_ID, num_steps=NUM_STEPS), lambda: "SkillList"])
def test_refuses_what_is_not_a_vector_env(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"gymnasium\.vector\.VectorEnv"):
        SB3VecEnv(bad())


def test_refuses_spaces_sb3_cannot_take() -> None:
    venv = CountingVectorEnv([2, 2])
    venv.single_action_space = spaces.Tuple([spaces.Discrete(2)])
    with pytest.raises(UnsupportedError, match="action spaces"):
        SB3VecEnv(venv)


def test_attributes_methods_and_wrappers() -> None:
    env = SB3VecEnv(make_vec())
    assert env.get_attr("num_steps") == [NUM_STEPS] * NUM_ENVS
    assert env.get_attr("num_steps", indices=[2]) == [NUM_STEPS]
    env.set_attr("marker", "x", indices=1)
    assert env.get_attr("marker", indices=[1]) == ["x"]
    with pytest.raises(AttributeError):
        env.get_attr("marker", indices=[0])
    env.set_attr("marker", "y")
    assert env.get_attr("marker") == ["y"] * NUM_ENVS
    env.seed(SEED)
    env.reset()
    assert env.env_method("render", indices=[0]) == [None]  # render_mode None
    assert env.env_is_wrapped(Monitor) == [False] * NUM_ENVS
    assert env.has_attr("num_steps") and not env.has_attr("no_such_attribute")
    env.close()


def test_info_to_list() -> None:
    info = {
        "a": np.array([1, 0, 3]),
        "_a": np.array([True, False, True]),
        "nested": {"b": np.array([0.5, 0.25, 0.0]), "_b": np.array([False, True, False])},
        "_nested": np.array([False, True, False]),
        "unmasked": np.array(["x", "y", "z"], dtype=object),
    }
    assert info_to_list(info, 3) == [
        {"a": 1, "unmasked": "x"},
        {"nested": {"b": 0.25}, "unmasked": "y"},
        {"a": 3, "unmasked": "z"},
    ]
    with pytest.raises(UnsupportedError, match="length num_envs=3"):
        info_to_list({"a": np.zeros(2)}, 3)


# -- a tiny native batched env (no sub-env objects), as a vector_entry_point env is -----------------


class CountingVectorEnv(VectorEnv):
    """Sub-env ``i`` counts its steps and is truncated after ``lengths[i]`` of them; NEXT_STEP autoreset.

    ``reset(options={"reset_mask": m})`` resets only the masked rows when ``mask_support`` is true
    (and says so in ``metadata``); otherwise it resets every row whatever the options say.
    """

    def __init__(self, lengths: list[int], *, mask_support: bool = False) -> None:
        self.num_envs = len(lengths)
        self.lengths = np.array(lengths)
        self.metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "supports_reset_mask": mask_support}
        self.single_observation_space = spaces.Dict({"count": spaces.Box(0, 100, (1,), np.float32)})
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.single_action_space = spaces.Discrete(2)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.counts = np.zeros(self.num_envs, np.int64)
        self.episodes = np.zeros(self.num_envs, np.int64)
        self.mask_support = mask_support

    def _obs(self) -> dict[str, np.ndarray]:
        return {"count": self.counts[:, None].astype(np.float32)}

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> Any:
        mask = (options or {}).get("reset_mask") if self.mask_support else None
        mask = np.ones(self.num_envs, bool) if mask is None else mask
        self.counts[mask] = 0
        self.episodes[mask] += 1
        return self._obs(), {"episode_number": self.episodes.copy(), "_episode_number": mask.copy()}

    def step(self, actions: Any) -> Any:
        autoreset = self.counts >= self.lengths  # NEXT_STEP: ignore the action, reset
        self.counts[autoreset] = 0
        self.counts[~autoreset] += 1
        truncated = self.counts >= self.lengths
        terminated = np.zeros(self.num_envs, bool)
        return self._obs(), np.ones(self.num_envs), terminated, truncated, {}


def test_native_env_ending_together_needs_no_reset_mask() -> None:
    env = SB3VecEnv(CountingVectorEnv([2, 2]))
    assert not env.supports_reset_mask
    assert env.get_attr("num_envs") == [2, 2]  # no get_attr: the batch's own attribute
    env.reset()
    for step in range(5):
        obs, _, dones, infos = env.step(np.zeros(2, np.int64))
        ends = step % 2 == 1
        assert dones.tolist() == [ends, ends]
        if ends:
            assert [info["terminal_observation"]["count"][0] for info in infos] == [2, 2]
            assert obs["count"][:, 0].tolist() == [0, 0]
            assert [info["episode_number"] for info in env.reset_infos] == [step // 2 + 2] * 2


def test_native_env_ending_apart_needs_reset_mask() -> None:
    env = SB3VecEnv(CountingVectorEnv([2, 3]))
    env.reset()
    env.step(np.zeros(2, np.int64))
    with pytest.raises(UnsupportedError, match=r"sub-envs \[0\] of 2 ended.*reset_mask"):
        env.step(np.zeros(2, np.int64))

    env = SB3VecEnv(CountingVectorEnv([2, 3], mask_support=True))
    assert env.supports_reset_mask
    env.reset()
    counts = []
    for _ in range(6):
        obs, _, dones, infos = env.step(np.zeros(2, np.int64))
        counts.append(obs["count"][:, 0].tolist())
        for i in np.flatnonzero(dones):
            assert infos[i]["terminal_observation"]["count"][0] == [2, 3][i]
            assert infos[i]["TimeLimit.truncated"] is True
    assert counts == [[1, 1], [0, 2], [1, 0], [0, 1], [1, 2], [0, 0]]


def test_refuses_env_without_autoreset_mode() -> None:
    venv = CountingVectorEnv([2, 2])
    venv.metadata = {}
    with pytest.raises(UnsupportedError, match="autoreset_mode"):
        SB3VecEnv(venv)


def test_policy_spaces_on_sync_and_native_vector_envs() -> None:
    """The policy adapter (teachgym.rl.adapters.PolicyVectorEnv) gives the same batches over Gymnasium's
    sync vectorizer and the native batched env, and PPO trains on it without SB3's space warnings."""
    from teachgym.rl.adapters import PolicyVectorEnv

    native = gym.make_vec(
        ENV_ID, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point", num_steps=NUM_STEPS
    )
    envs = [SB3VecEnv(PolicyVectorEnv(make_vec())), SB3VecEnv(PolicyVectorEnv(native))]
    for env in envs:
        assert env.action_space == spaces.Box(-1.0, 1.0, (24,), np.float32)
        env.seed(SEED)
    assert_obs_equal(envs[0].reset(), envs[1].reset())
    rng = np.random.default_rng(0)
    for _ in range(NUM_STEPS + 2):
        policy_actions = rng.uniform(-1, 1, (NUM_ENVS, 24)).astype(np.float32)
        sync, batched = (env.step(policy_actions) for env in envs)
        assert_obs_equal(sync[0], batched[0])
        np.testing.assert_array_equal(sync[1], batched[1])
    model = PPO("MultiInputPolicy", envs[1], n_steps=8, batch_size=8, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=16)
    for env in envs:
        env.close()

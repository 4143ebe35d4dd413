"""Fuzzing every registered id's ``step`` with actions inside and far outside its action space.

The promises under test (DESIGN.md, "Contracts users rely on"; issue 9):

- every ``step`` either steps normally (a 5-tuple whose observation is in the observation space) or
  raises ``InvalidActionError`` (a ``ValueError``) with a one-line message; no other exception escapes.
  For the text family only the *structure* is refused (not a sequence of pairs, too many pairs);
  pairs with bad content are dropped and counted in ``info["drop_reasons"]``;
- a refused step changes nothing: budget, every random generator, the student's parameters and
  optimizer, the family's own state (:func:`snapshot`); the next valid step gives exactly what it
  gives in an env that never saw the refused action;
- no warning leaks from numpy or torch (every call runs under ``warnings.simplefilter("error")``);
- a batched vector env refuses a bad action of one env, naming that env, and changes no env.

Full steps are costly (training, a reference replay), so the check-and-plan phase that every ``step``
runs first is also fuzzed alone, with more examples.

The action strategies are in tests/fuzz_strategies.py, the state snapshots that prove "changes nothing"
in tests/fuzz_snapshots.py.

Runs are derandomized (the same examples every run). ``TEACHGYM_FUZZ_EXAMPLES=500 pytest
tests/test_fuzz.py`` draws that many fresh random examples per id instead, for a longer hunt.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import teachgym
from teachgym.domains.text import EXAMPLE_CHARSET, MAX_EXAMPLE_CHARS
from teachgym.errors import InvalidActionError
from teachgym.students.lm import LMStudent
from teachgym.vector import TeachingVectorEnv
from tests.conftest import ENV_IDS, make_env, valid_action
from tests.fuzz_snapshots import assert_same, freeze, snapshot
from tests.fuzz_strategies import Tagged, action_strategy, bad_action_strategy

#: Examples per id: derandomized by default; ``TEACHGYM_FUZZ_EXAMPLES=N`` draws N random ones instead.
_EXAMPLES_OVERRIDE = int(os.environ.get("TEACHGYM_FUZZ_EXAMPLES", "0"))
#: Examples per id whose student is quick (simulated, MLP, GRU) and whose student is a language model
#: (a quarter of a second per step on a CPU).
QUICK_EXAMPLES, LM_EXAMPLES = 30, 3
#: The same for the check-and-plan phase alone (no training: more examples for the same time).
PLAN_EXAMPLES, LM_PLAN_EXAMPLES = 100, 50
#: Fuzzed actions per example (each example resets the env and takes one valid step first).
MAX_FUZZED_PER_EXAMPLE = 3
#: Longest message of a refusal (``_short`` in teachgym.actions bounds the value's part of it).
MAX_MESSAGE_CHARS = 1000


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=_EXAMPLES_OVERRIDE or max_examples,
        deadline=None,
        derandomize=not _EXAMPLES_OVERRIDE,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# ----------------------------------------------------------------------------------------- checks
def _is_text(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Sequence)


def _certainly_dropped(pair: Sequence[Any]) -> bool:
    """Whether a pair's content breaks the documented rules (text of the charset, non-empty, at most
    MAX_EXAMPLE_CHARS characters), so that the env must drop it."""
    return any(
        not isinstance(text, str)
        or not text.strip()
        or len(text) > MAX_EXAMPLE_CHARS
        or not set(text) <= EXAMPLE_CHARSET
        for text in pair
    )


def check_step_result(env: gym.Env, result: Any) -> None:
    assert isinstance(result, tuple) and len(result) == 5, f"step returned {type(result).__name__}"
    observation, reward, terminated, truncated, info = result
    assert env.observation_space.contains(observation), f"observation outside the space: {observation}"
    assert isinstance(reward, float | np.floating) and math.isfinite(reward), f"reward {reward!r}"
    assert isinstance(terminated, bool | np.bool_) and isinstance(truncated, bool | np.bool_)
    assert isinstance(info, dict)


def check_text_info(action: Sequence[Any], info: dict[str, Any], trained: int) -> None:
    """Every pair is counted: written = trained + dropped, and each drop has a reason."""
    dropped = info["examples_dropped"]
    assert info["examples_written"] == len(action)
    assert sum(info["drop_reasons"].values()) == dropped
    assert dropped >= sum(_certainly_dropped(pair) for pair in action)
    assert trained == len(action) - dropped, f"trained {trained} of {len(action)} with {dropped} dropped"


def check_refusal(error: InvalidActionError) -> None:
    message = str(error)
    assert isinstance(error, ValueError)
    assert message and "\n" not in message, f"refusal message is not one line: {message!r}"
    assert len(message) <= MAX_MESSAGE_CHARS, f"refusal message of {len(message)} characters"


# ------------------------------------------------------------------------------------- the envs
# Built once per id: construction (dataset loading, the language model) costs far more than a reset.
_ENVS: dict[tuple[str, str], gym.Env] = {}
_REFERENCES: dict[tuple[str, int], tuple[Any, Any]] = {}


def _make_quietly(env_id: str) -> gym.Env:
    """``make_env``, without Gymnasium's warning that an older version is out of date (the v0 ids stay
    registered for the leaderboards run on them); any other warning still fails a fuzzed call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
        return make_env(env_id)


def _env(env_id: str, role: str = "fuzzed") -> gym.Env:
    if (env_id, role) not in _ENVS:
        _ENVS[env_id, role] = _make_quietly(env_id)
    return _ENVS[env_id, role]


def _mask(observation: dict[str, Any]) -> np.ndarray | None:
    return observation.get("action_mask")


def _replay(env: gym.Env, seed: int, actions: list[Any]) -> Any:
    """The result of the last of ``actions`` after a reset with ``seed`` (all must be accepted)."""
    env.reset(seed=seed)
    for action in actions[:-1]:
        env.step(action)
    return env.step(actions[-1])


def reference_result(env_id: str, seed: int, accepted: list[Any], last: Any) -> Any:
    """What the valid ``last`` action gives after the first valid step and the ``accepted`` fuzzed
    actions, in an env that never saw a refused action (a fresh env, cached when nothing was accepted)."""
    space = _env(env_id).action_space
    actions = [valid_action(space, 0), *accepted, last]
    if accepted:
        return freeze(_replay(_env(env_id, "reference"), seed, actions))
    frozen_last = freeze(last)
    if (env_id, seed) not in _REFERENCES or _REFERENCES[env_id, seed][0] != frozen_last:
        result = freeze(_replay(_make_quietly(env_id), seed, actions))
        _REFERENCES[env_id, seed] = (frozen_last, result)
    return _REFERENCES[env_id, seed][1]


def _is_slow(env_id: str) -> bool:
    return isinstance(_env(env_id).unwrapped.student, LMStudent)


def fuzz_one(env_id: str, seed: int, tagged_actions: list[Tagged]) -> None:
    """Reset, one valid step, the fuzzed actions, one more valid step; check every call. If an action
    was refused, the last step must equal that of an env that only saw the accepted actions."""
    env = _env(env_id)
    base = env.unwrapped
    space = env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        observation, _ = env.reset(seed=seed)
        observation, *_ = env.step(valid_action(space, 0))
        accepted, refused = [], False
        for kind, action in tagged_actions:
            before = snapshot(env)
            examples_before = int(base.state.examples_used[0])
            kept = copy.deepcopy(action)
            mask = _mask(observation)
            try:
                result = env.step(action)
            except InvalidActionError as error:
                event(f"{kind} action refused")
                refused = True
                check_refusal(error)
                assert_same(snapshot(env), before, f"after refusing {kind} action {action!r:.200}: env state")
                if kind == "valid":
                    allowed = mask is None or bool(mask[int(action) - int(space.start)])
                    assert not allowed, f"valid action {action!r:.200} refused: {error}"
            else:
                event(f"{kind} action accepted")
                assert kind != "bad", f"bad action {action!r:.200} was accepted"
                check_step_result(env, result)
                if _is_text(space):
                    check_text_info(action, result[4], int(base.state.examples_used[0]) - examples_before)
                accepted.append(action)
                observation = result[0]
            assert_same(action, kept, "the action after step (the env must not change it)")
        last = valid_action(space, 1, None, _mask(observation))
        result = env.step(last)
        check_step_result(env, result)
        if refused:  # else there is nothing to prove, and a replay costs a whole episode prefix
            expected = reference_result(env_id, seed, accepted, last)
            assert_same(freeze(result), expected, "the valid step after the refused ones")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzzed_actions_step_or_are_refused_without_change(env_id: str) -> None:
    env = _env(env_id)
    # Room for the first and the last valid step within the budget (3 steps for the slow ids).
    num_fuzzed = max(1, min(MAX_FUZZED_PER_EXAMPLE, env.unwrapped.num_steps - 2))
    slow = _is_slow(env_id)

    @fuzz_settings(LM_EXAMPLES if slow else QUICK_EXAMPLES)
    @given(
        seed=st.just(0) if slow else st.integers(0, 1),  # each seed of a slow id costs a fresh env
        tagged_actions=st.lists(action_strategy(env.action_space), min_size=1, max_size=num_fuzzed),
    )
    def run(seed: int, tagged_actions: list[Tagged]) -> None:
        fuzz_one(env_id, seed, tagged_actions)

    run()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_action_checks_refuse_or_plan_without_change(env_id: str) -> None:
    """The check-and-plan phase alone (the family's ``plan``, what ``step`` and the vector env run before
    anything changes), with many more examples than full steps allow: it refuses or plans, never
    crashes or warns, and changes nothing either way (the plan is only applied by ``step``)."""
    env = _env(env_id)
    base, space = env.unwrapped, env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(seed=0)
        observation, *_ = env.step(valid_action(space, 0))
    mask = _mask(observation)
    before = snapshot(env)

    @fuzz_settings(LM_PLAN_EXAMPLES if _is_slow(env_id) else PLAN_EXAMPLES)
    @given(tagged=action_strategy(space))
    def run(tagged: Tagged) -> None:
        kind, action = tagged
        kept = copy.deepcopy(action)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                plan = base.rules.plan(base.state, [action]).plan
            except InvalidActionError as error:
                check_refusal(error)
                if kind == "valid":
                    assert mask is not None and not mask[int(action) - int(space.start)], (
                        f"valid action {action!r:.200} refused: {error}"
                    )
            else:
                assert kind != "bad", f"bad action {action!r:.200} was accepted"
                if _is_text(space):  # the plan of a batch of one: its written examples
                    dropped = sum(plan.dropped[0].values())
                    assert plan.written[0] == len(action)
                    assert dropped + len(plan.candidates[0]) == len(action)
                    assert dropped >= sum(_certainly_dropped(pair) for pair in action)
        assert_same(snapshot(env), before, f"after checking {kind} action {action!r:.200}: env state")
        assert_same(action, kept, "the action after the check (the env must not change it)")

    run()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_snapshot_sees_what_a_step_changes(env_id: str) -> None:
    """A refusal leaves the snapshot as it was and a valid step changes it (else the refusal checks
    above would prove nothing)."""
    env = _env(env_id)
    env.reset(seed=0)
    env.step(valid_action(env.action_space, 0))
    before = snapshot(env)
    with pytest.raises(InvalidActionError):
        env.step(None)
    assert_same(snapshot(env), before)
    base = env.unwrapped
    observation = {key: value[0] for key, value in base.loop.observe(base.state).items()}
    env.step(valid_action(env.action_space, 1, None, _mask(observation)))
    assert snapshot(env) != before


# -------------------------------------------------------------------------------- the vector env
#: A simulated student (Box), a GRU (Discrete), an MLP with a masked Discrete action and a probe.
VECTOR_IDS = [
    "teachgym/SkillList-Sim-v0",
    "teachgym/Curriculum-Addition-v0",
    "teachgym/Intervention-Synthetic-v0",
]
NUM_ENVS = 2


def _make_vec(env_id: str) -> TeachingVectorEnv:
    vector = gym.make_vec(
        env_id,
        num_envs=NUM_ENVS,
        vectorization_mode="vector_entry_point",
        **teachgym.envs.quick_settings(env_id),
    )
    assert isinstance(vector.unwrapped, TeachingVectorEnv)
    return vector.unwrapped


def _valid_batch(vector: TeachingVectorEnv, observations: dict[str, Any], step: int) -> list[Any]:
    masks = observations.get("action_mask")
    return [
        valid_action(vector.single_action_space, step + i, None, None if masks is None else masks[i])
        for i in range(NUM_ENVS)
    ]


def test_vector_ids_cover_a_simulated_and_a_torch_student() -> None:
    kinds = {type(_make_vec(env_id).student).__name__ for env_id in VECTOR_IDS}
    assert "SimulatedStudent" in kinds and kinds & {"MLPStudent", "GRUStudent"}


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_env_refuses_one_bad_action_and_changes_no_env(env_id: str) -> None:
    fuzzed, untouched = _make_vec(env_id), _make_vec(env_id)

    @fuzz_settings(8)
    @given(
        seed=st.integers(0, 1),
        index=st.integers(0, NUM_ENVS - 1),
        bad=bad_action_strategy(fuzzed.single_action_space),
    )
    def run(seed: int, index: int, bad: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            observations, _ = fuzzed.reset(seed=seed)
            untouched.reset(seed=seed)
            first = _valid_batch(fuzzed, observations, 0)
            observations, *_ = fuzzed.step(first)
            untouched.step(first)
            before = snapshot(fuzzed)
            actions = _valid_batch(fuzzed, observations, 1)
            actions[index] = bad
            with pytest.raises(InvalidActionError, match=f"^env {index} of the vector env: ") as error:
                fuzzed.step(actions)
            check_refusal(error.value)
            assert_same(snapshot(fuzzed), before, f"vector env after refusing {bad!r:.200} in env {index}")
            after = _valid_batch(fuzzed, observations, 2)
            assert_same(fuzzed.step(after), untouched.step(after), "the valid step after the refusal")

    run()


@pytest.mark.parametrize("batch", ["none", "scalar", "too few", "too many"])
def test_vector_env_refuses_a_batch_of_the_wrong_size(batch: str) -> None:
    vector = _make_vec(VECTOR_IDS[0])
    observations, _ = vector.reset(seed=0)
    actions = _valid_batch(vector, observations, 0)
    bad = {"none": None, "scalar": 1.0, "too few": actions[:-1], "too many": [*actions, actions[0]]}[batch]
    before = snapshot(vector)
    with pytest.raises(InvalidActionError):
        vector.step(bad)
    assert_same(snapshot(vector), before)

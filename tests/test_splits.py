"""Training, validation and test items are disjoint; the teacher cannot see held-out items."""

from __future__ import annotations

import numpy as np

from teachgym.engines import Plan, allocate
from tests.conftest import make_env, valid_action


def _item_keys(items) -> set:
    """Hashable identity of each item: its prompt (text), features (neural) or difficulty (latent)."""
    if hasattr(items, "prompts"):
        return set(items.prompts.ravel().tolist())
    if items.features is not None:
        rows = items.features.reshape(-1, items.features.shape[-1])
        return {row.tobytes() for row in np.ascontiguousarray(rows)}
    return set(np.round(items.difficulty.ravel(), 12).tolist())


def test_train_validation_test_disjoint(env_id: str) -> None:
    env = make_env(env_id).unwrapped
    env.reset(seed=0)
    validation = _item_keys(env.domain.heldout("validation"))
    test = _item_keys(env.domain.heldout("test"))
    assert validation and test and not validation & test
    skills = env.skills
    weights = np.ones((1, skills.num_skills, skills.num_levels))
    rng = np.random.default_rng(0)
    train: set = set()
    for _ in range(20):
        train |= _item_keys(env.engine.generate(Plan(allocate(weights, 64)), rng))
    assert not train & validation
    assert not train & test
    pool = getattr(env.domain, "train_pool", None)
    if pool is not None:
        assert not _item_keys(pool()) & (validation | test)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


#: Everything a teacher may read in ``info``; anything else is a possible leak and must be reviewed.
INFO_KEYS = {"profile", "mean_accuracy", "step", "examples_used", "compute_used"}
FINAL_INFO_KEYS = {"test_profile", "test_accuracy", "initial_test_accuracy", "initial_accuracy",
                   "validation_test_gap"}  # fmt: skip


def test_observation_and_info_expose_no_heldout_items(env_id: str) -> None:
    env = make_env(env_id)
    obs, info = env.reset(seed=0)
    unwrapped = env.unwrapped
    info_keys = INFO_KEYS | set(unwrapped.extra_info_keys)
    if hasattr(unwrapped.engine, "last_report"):  # what the engine made of the last plan
        info_keys |= {"engine_report"}
    if not unwrapped.reveals_profile:  # hidden state: no validation results or compute until the end
        info_keys -= {"profile", "mean_accuracy", "compute_used"}
        assert not {"profile", "level_profile"} & set(obs)
    assert set(info) == info_keys
    heldout = env.unwrapped.domain.heldout("validation")
    num_items = len(heldout)
    done, step = False, 0
    while not done:
        for key, value in obs.items():
            if key == "errors":  # quiz problems the student got wrong: training-split ones only
                test_prompts = set(env.unwrapped.domain.heldout("test").prompts.tolist())
                assert len(value) <= env.unwrapped.config.num_errors_shown
                assert not {prompt for prompt, _ in value} & (test_prompts | set(heldout.prompts.tolist()))
                continue
            assert value.size < num_items, "an observation entry is as large as the held-out set"
        for value in _leaves(info):
            assert isinstance(value, int | float | str | bool), f"info carries a {type(value).__name__}"
        obs, _, terminated, truncated, info = env.step(
            valid_action(env.action_space, step, mask=obs.get("action_mask"))
        )
        step += 1
        done = terminated or truncated
        if not done:
            assert set(info) == info_keys
    final_keys = FINAL_INFO_KEYS | {"profile", "mean_accuracy", "compute_used"}
    assert set(info) == info_keys | final_keys | set(unwrapped.extra_final_info_keys)

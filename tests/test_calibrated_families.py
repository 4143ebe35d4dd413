"""The second calibration round (leaderboards/calibration-v2): the contrasts that put Curriculum-Sim
and Intervention-Sim into core-v1 hold on a few seeds, the oracle searches the Rehearsal mix as the
env plays it, and the Intervention baselines do what their names say."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import teachgym  # noqa: F401  (registers the ids)
from teachgym import agents
from teachgym.bench.calibration import table
from teachgym.domains.latent import LatentDomain
from teachgym.envs.rehearsal import mix_shares
from teachgym.errors import UnsupportedError
from teachgym.rollout import run_episode

SEEDS = range(20)


def _paired_gain(env_id: str, teacher: str, baseline: str, **kwargs: Any) -> np.ndarray:
    """Per seed, ``teacher``'s test accuracy minus ``baseline``'s on the same student."""
    gains = []
    for seed in SEEDS:
        scores = []
        for name in (teacher, baseline):
            env = gym.make(env_id, **kwargs)
            scores.append(run_episode(env, agents.make(name, env), seed).test_accuracy)
            env.close()
        gains.append(scores[0] - scores[1])
    return np.array(gains)


def _clearly_positive(gains: np.ndarray) -> bool:
    """Mean gain above 3 standard errors."""
    return bool(gains.mean() > 3 * gains.std(ddof=1) / np.sqrt(len(gains)))


@pytest.mark.parametrize(
    ("env_id", "teacher", "baseline"),
    [
        ("teachgym/Curriculum-Sim-v0", "oracle", "uniform"),
        ("teachgym/Curriculum-Sim-v0", "easy-to-hard", "random"),
        ("teachgym/Rehearsal-Sim-v0", "oracle", "uniform"),
        ("teachgym/Intervention-Sim-v0", "oracle-utility", "uniform"),
        ("teachgym/Intervention-Sim-v0", "correct-errors", "random"),
    ],
)
def test_the_calibrated_contrasts_hold(env_id: str, teacher: str, baseline: str) -> None:
    gains = _paired_gain(env_id, teacher, baseline)
    assert _clearly_positive(gains), (gains.mean(), gains.std(ddof=1))


def test_mix_shares_of_many_candidates_match_the_env_one_by_one() -> None:
    rules = gym.make("teachgym/Rehearsal-Sim-v0").unwrapped.rules
    rng = np.random.default_rng(0)
    weights = rng.random((6, 5, 3))
    weights[0] = 0.0
    weights[1, :3] = 0.0  # nothing on the arrived tasks (steps 0-11): all to the current task
    weights[2, 1] = 0.0  # a zero row on the current task of steps 6-11
    for step in (0, 6, 12, 29):
        batched = mix_shares(weights, rules.current_task(step), rules.current_fraction)
        for row, candidate in enumerate(weights):
            if candidate.sum() == 0:
                continue  # not an action (all-zero weights are refused)
            np.testing.assert_allclose(batched[row], rules.mix(candidate, step))
            np.testing.assert_allclose(batched[row].sum(), 1.0)
            assert batched[row][rules.current_task(step)].sum() >= rules.current_fraction - 1e-12


def test_the_rehearsal_oracle_acts_on_arrived_tasks_only() -> None:
    env = gym.make("teachgym/Rehearsal-Sim-v0")
    oracle = agents.make("oracle", env)
    obs, info = env.reset(seed=0)
    oracle.reset(env.observation_space, env.action_space, seed=0)
    for _ in range(8):  # task 1 arrives at step 6
        action = oracle.act(obs, info)
        current = int(np.argmax(obs["current"]))
        assert env.action_space.contains(action)
        assert action[current + 1 :].sum() == 0
        obs, _, _, _, info = env.step(action)


def test_the_oracle_refuses_a_curriculum_it_does_not_model() -> None:
    env = gym.make("teachgym/Curriculum-Sim-v0", replay_fraction=0.5)
    assert not agents.builds("oracle", env)
    with pytest.raises(UnsupportedError, match="replay_fraction"):
        agents.make("oracle", env)


def test_the_task_chain_is_a_chain_of_one_level_sub_tasks() -> None:
    skills = LatentDomain("task-chain").skills
    assert skills.num_levels == 1
    for k in range(1, skills.num_skills):
        assert skills.prerequisites[skills.names[k]] == (skills.names[k - 1],)


def _interventions(teacher: str, seed: int = 0, **kwargs: Any) -> list[int]:
    env = gym.make("teachgym/Intervention-Sim-v0", **kwargs)
    steps = []
    run_episode(env, agents.make(teacher, env), seed, on_step=lambda a, o, r, i: steps.append(int(a)))
    return [t for t, action in enumerate(steps) if action != 0]


@pytest.mark.parametrize("budget_fraction", [0.2, 0.4, 0.45, 1.0])
def test_uniform_intervention_spends_the_budget_evenly(budget_fraction: float) -> None:
    chosen = _interventions("uniform", budget_fraction=budget_fraction)
    num_interventions = int(budget_fraction * 60 + 1e-9)
    assert len(chosen) == num_interventions
    gaps = np.diff([-1, *chosen])
    assert gaps.max() - gaps.min() <= 1  # evenly spaced, whatever the student does
    assert chosen == _interventions("uniform", seed=1, budget_fraction=budget_fraction)


def test_correct_errors_explains_where_the_student_looks_wrong() -> None:
    env = gym.make("teachgym/Intervention-Sim-v0", budget_fraction=0.2)
    teacher = agents.make("correct-errors", env)
    obs, info = env.reset(seed=3)
    teacher.reset(env.observation_space, env.action_space, seed=3)
    disputed, agreed = [], []
    done = False
    while not done:
        action = teacher.act(obs, info)
        (disputed if obs["agrees_with_teacher"][0] < 0.5 else agreed).append(action != 0)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    # It spends its budget on disputed items far more often than on agreed ones.
    assert np.mean(disputed) > 2 * np.mean(agreed)


def test_notes_on_choices_made_after_seeing_results_are_printed_under_the_table() -> None:
    text = table([], "teachgym calibrate X", notes="Chose setting B after A failed.")
    assert text.rstrip().endswith("Chose setting B after A failed.")
    assert "after seeing results" in text
    assert "after seeing results" not in table([], "teachgym calibrate X")

"""OpenEnded: teacher-written text examples are validated, dropped or trained on as written."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import teachgym
from teachgym import agents
from teachgym.errors import ConfigError, InvalidActionError
from teachgym.rollout import run_episode

ENV_ID = "teachgym/OpenEnded-ArithmeticText-v0"


def _env(**kwargs: object) -> gym.Env:
    return gym.make(ENV_ID, **{**teachgym.envs.quick_settings(ENV_ID), **kwargs})


def test_invalid_examples_are_dropped_counted_and_not_charged() -> None:
    env = _env(examples_per_step=16)
    env.reset(seed=0)
    action = (
        ("What is 21 + 34?", "55"),  # valid and right
        ("What is 21 + 34?", "56"),  # valid and wrong: trained on as written
        ("Tell me a story.", "5"),  # valid, but no format the domain can check
        ("", "3"),  # empty prompt
        ("x" * 201, "3"),  # over-long prompt
        ("What is 2 + 2?", "four"),  # answer not a number
        ("Was ist 2 + 2?", "04"),  # leading zero
        ("Qu'est-ce que 2 + 2 ?", "4\n"),  # newline: outside the charset
        (b"\xff\xfe", "1"),  # bytes, not valid UTF-8 text
        ("Combien font 2 + 2 ? é", "4"),  # non-ASCII character
        (None, "1"),  # not a str
    )
    _, _, _, _, info = env.step(action)
    assert info["examples_written"] == 11
    assert info["examples_dropped"] == 8
    assert info["drop_reasons"] == {
        "answer-format": 2,
        "answer-charset": 1,
        "prompt-charset": 1,
        "prompt-empty": 1,
        "prompt-too-long": 1,
        "prompt-type": 2,
    }
    assert info["examples_used"] == 3  # the budget counts only what was trained on
    assert (info["examples_checked"], info["wrong_answers"], info["wrong_answer_rate"]) == (2, 1, 0.5)


def test_an_action_of_only_invalid_examples_trains_nothing() -> None:
    env = _env()
    env.reset(seed=0)
    before = [p.clone() for p in env.unwrapped.student.models[0].parameters()]
    _, reward, _, _, info = env.step((("", ""),))
    assert info["examples_used"] == 0 and reward == 0.0
    after = env.unwrapped.student.models[0].parameters()
    assert all(bool((a == b).all()) for a, b in zip(before, after, strict=True))


def test_a_refused_action_changes_nothing_and_says_why() -> None:
    env = _env()
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="at most examples_per_step=8"):
        env.step((("What is 1 + 1?", "2"),) * 9)
    assert env.unwrapped.step_count == 0 and env.unwrapped.state.examples_used.tolist() == [0]


def test_errors_shown_are_quiz_problems_the_student_got_wrong_never_held_out_ones() -> None:
    env = _env(num_errors_shown=3, quiz_size=20)
    obs, _ = env.reset(seed=0)
    domain = env.unwrapped.domain
    held_out = set(domain.heldout("validation").prompts) | set(domain.heldout("test").prompts)
    assert 0 < len(obs["errors"]) <= 3
    for prompt, answer in obs["errors"]:
        truth = domain.parse(prompt)[2]
        assert prompt not in held_out and not domain.grade_text([answer], [truth])[0]
    assert env.observation_space.contains(obs)
    obs_next, *_ = env.step((("What is 21 + 34?", "55"),))
    assert obs_next["errors"] != obs["errors"], "every step shows the errors of a fresh quiz"


def test_num_errors_shown_is_checked_and_no_engine_is_taken() -> None:
    with pytest.raises(ConfigError, match="num_errors_shown=65"):
        _env(num_errors_shown=65)
    with pytest.raises(ConfigError, match="quiz_size=0"):
        _env(quiz_size=0)
    with pytest.raises(ConfigError, match=r"engine='llm'.*teacher's own examples"):
        _env(engine="llm")


def test_text_baselines_write_valid_examples_and_differ() -> None:
    env = _env()
    actions = {}
    for name in ("uniform", "random", "weakest-skill"):
        teacher = agents.make(name, env)
        result = run_episode(env, teacher, seed=0)
        assert result.family_info["examples_dropped"] == 0, name
        teacher.reset(env.observation_space, env.action_space, seed=0)
        obs, info = env.reset(seed=0)
        actions[name] = teacher.act(obs, info)
        assert len(actions[name]) == env.unwrapped.examples_per_step
    assert actions["uniform"] != actions["random"]


def test_a_teacher_that_writes_wrong_answers_hurts_its_student() -> None:
    """Comparisons answered with the wrong sign, against the same problems answered rightly."""
    env = _env(examples_per_step=32, num_steps=4)
    domain = env.unwrapped.domain
    skill = np.full(32, domain.skills.names.index("comparison"))
    accuracy = {}
    for label in ("right", "wrong"):
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(4):
            pairs = domain.generate(skill, np.zeros(32, np.int64), rng).pairs()
            if label == "wrong":
                pairs = [(q, {"<": ">", ">": "=", "=": "<"}[a]) for q, a in pairs]
            _, _, _, _, info = env.step(tuple(pairs))
        accuracy[label] = info["test_profile"]["comparison"]
        assert info["wrong_answer_rate"] == (1.0 if label == "wrong" else 0.0)
    assert accuracy["right"] > accuracy["wrong"]


def test_the_noisy_teacher_engine_reports_its_errors_in_info() -> None:
    env_id = "teachgym/SkillList-ArithmeticText-v0"
    settings = teachgym.envs.quick_settings(env_id)
    env = gym.make(env_id, **settings, engine="noisy-teacher", engine_options={"error_rate": 1.0})
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.ones(env.action_space.shape, np.float32))
    assert info["engine_report"] == {"examples": 8, "corrupted": 8}
    with pytest.raises(ConfigError, match=r"error_rate=1\.5"):
        gym.make(env_id, **settings, engine="noisy-teacher", engine_options={"error_rate": 1.5})


def test_the_action_space_samples_and_contains_only_actions_the_env_takes() -> None:
    env = _env()
    space = env.action_space
    space.seed(0)
    lengths = {len(space.sample()) for _ in range(200)}
    assert lengths == set(range(env.unwrapped.examples_per_step + 1))
    too_many = (("What is 1 + 1?", "2"),) * (env.unwrapped.examples_per_step + 1)
    assert not space.contains(too_many) and space.contains(too_many[:-1])


def test_held_out_problems_and_examples_too_long_for_the_student_are_dropped() -> None:
    env = _env(examples_per_step=64)
    env.reset(seed=0)
    domain = env.unwrapped.domain
    validation, test = domain.heldout("validation").pairs()[0], domain.heldout("test").pairs()[0]
    too_long = ("What is " + "1" * 150 + " + 1?", "2" * 150)  # valid text, past the tiny model's context
    before = [p.clone() for p in env.unwrapped.student.models[0].parameters()]
    _, _, _, _, info = env.step((validation, test, too_long))
    assert info["drop_reasons"] == {"heldout": 2, "too-long-for-student": 1}
    assert info["examples_used"] == 0
    after = env.unwrapped.student.models[0].parameters()
    assert all(bool((a == b).all()) for a, b in zip(before, after, strict=True))

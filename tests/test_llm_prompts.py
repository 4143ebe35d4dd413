"""How the LLM teachers word their prompts for a backend that keeps the previous prompt's cache
(llama.cpp), and how several examples of one completion are read."""

from __future__ import annotations

import itertools

import gymnasium as gym
import pytest
from test_llm_teachers import ENV_ID, FakeLLM, started

from teachgym.text_engines import PROBLEM_PREFIX
from tests.conftest import make_env


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return make_env(ENV_ID)


def test_parse_completions_reads_several_examples_up_to_a_limit_and_the_first_bad_block() -> None:
    from teachgym.text_engines import parse_completions

    text = " 1+1\nAnswer: 2\n\nProblem: 2+2\nAnswer: 4\n\nProblem: 3+3\nAnswer: 6\n\nProblem: 4+"
    assert parse_completions(text, 5) == [("1+1", "2"), ("2+2", "4"), ("3+3", "6")]
    assert parse_completions(text, 2) == [("1+1", "2"), ("2+2", "4")]
    assert parse_completions(" 1+1\nAnswer: 2\n\nsomething else\n\nProblem: 2+2\nAnswer: 4", 5) == [
        ("1+1", "2")
    ]
    assert parse_completions(" no answer here", 3) == [] and parse_completions(None, 3) == []  # type: ignore[arg-type]


def test_stat_syn_and_error_targeted_prompts_of_a_round_share_their_prefix(env: gym.Env) -> None:
    """A round's prompts differ only where they must (a cell's synthesis prompts not at all; an
    error-targeted prompt only in the error it shows last), so llama.cpp reads the rest once."""
    fake = FakeLLM()
    teacher, obs, info = started("stat-syn", env, fake)
    teacher.act(obs, info)
    synthesis = fake.prompts[0]
    assert len(set(synthesis)) < len(synthesis)  # repeated cells repeat their prompt exactly
    runs = [prompt for prompt, _ in itertools.groupby(synthesis)]
    assert len(set(runs)) == len(runs)  # a cell's prompts are consecutive, one text
    fake = FakeLLM()
    teacher, obs, info = started("error-targeted", env, fake)
    teacher.act(obs, info)
    first_round = fake.prompts[0]
    shared = {prompt.rsplit(PROBLEM_PREFIX, 1)[0] for prompt in first_round}
    assert len(first_round) > 1 and len(shared) == 1  # only the error shown last differs
    assert shared.pop().count("Work:") == teacher.shots  # the demonstrations are in the shared part

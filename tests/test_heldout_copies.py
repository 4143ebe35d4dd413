"""Issue 14: OpenEnded never trains on a held-out problem, however the teacher words it.

The attacker here has leaked test data: it reads the env's held-out items directly (no teacher can)
and rewrites each in several wordings. Every copy must be dropped, counted as ``"heldout"`` and
kept out of what the student trains on; genuinely new problems still pass.
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import teachgym
from teachgym.domains.arithmetic_canonical import canonical_problem, canonical_problems
from teachgym.domains.arithmetic_text import ArithmeticTextDomain
from teachgym.domains.text import validate_example

ENV_ID = "teachgym/OpenEnded-ArithmeticText-v0"
_WORDS = {"+": "plus", "-": "minus", "*": "times"}
_FLIP = {"<": ">", ">": "<", "=": "="}
#: Word-problem templates by their expression, in the domain's order: (verb of y, verb of z).
_STORIES = {
    "{x}+{y}-{z}": "Zed has {x} rocks, buys {y} and gives away {z}.",
    "{x}-{y}+{z}": "zed has {x} ROCKS, loses {y} and then finds {z}. how many now",
    "{x}+{y}*{z}": "Q: Zed has {x} rocks and buys {y} boxes of {z} rocks?",
}


def rewordings(prompt: str, answer: str, expression: str) -> list[tuple[str, str]]:
    """A copying teacher's versions of one held-out problem: ``(prompt, correct answer)`` pairs in
    other spacing, case, prefixes and suffixes, operators in words and commuted operands."""
    if "?" in expression:  # a comparison "a?b"
        a, b = expression.split("?")
        return [
            (f"which sign goes between {a} and {b}?", answer),
            (prompt.upper(), answer),
            (f"Compare {a} and {b}.", answer),
            (f"{a} ? {b}", answer),
            (f"Q: Which sign goes between {b}  and {a}: <, > or =?", _FLIP[answer]),  # swapped
        ]
    numbers = re.findall(r"[0-9]+", expression)
    if len(numbers) == 3:  # a word problem "x+y-z", "x-y+z" or "x+y*z"
        x, y, z = numbers
        shape = re.sub(r"[0-9]+", "{}", expression).format("{x}", "{y}", "{z}")
        return [
            (prompt.upper(), answer),
            ("Q: " + prompt.replace(" ", "  "), answer),
            (_STORIES[shape].format(x=x, y=y, z=z), answer),
            (f"What is {expression.replace('+', ' + ').replace('-', ' - ')} ?", answer),
        ]
    a, b = numbers
    op = expression[len(a)]
    versions = [
        (f"What is {a} {op} {b} ?", answer),
        (f"what is {a}{op}{b}", answer),
        (f"WHAT IS {a} {op} {b}?", answer),
        (f"Compute: {a} {op} {b}", answer),
        (f"Q: What is {a} {op} {b}? A:", answer),
        (f"{a}  {op}   {b} =", answer),
        (f"Calculate {a} {_WORDS[op]} {b}.", answer),
    ]
    if op in "+*":  # commutative: the operands in the other order state the same problem
        versions += [(f"What is {b} {op} {a}?", answer), (f"{b}{op}{a}=?", answer)]
    if op == "*":
        versions.append((f"{a} x {b}", answer))
    return versions


def heldout_copies(domain: ArithmeticTextDomain) -> list[tuple[str, str]]:
    """Every rewording of every validation and test problem (what leaked test data gives)."""
    copies = []
    for split in ("validation", "test"):
        items = domain.heldout(split)
        for prompt, answer, expression in zip(
            items.prompts.tolist(), items.answers.tolist(), items.expressions.tolist(), strict=True
        ):
            copies += rewordings(prompt, answer, expression)
    return copies


def heldout_forms(domain: ArithmeticTextDomain) -> frozenset[str]:
    return frozenset(
        form
        for split in ("validation", "test")
        for p in domain.heldout(split).prompts
        for form in canonical_problems(p)
    )


def test_every_held_out_prompt_has_one_canonical_form_its_arithmetic() -> None:
    domain = ArithmeticTextDomain(seed=0)
    for split in ("validation", "test"):
        items = domain.heldout(split)
        for prompt, expression in zip(items.prompts.tolist(), items.expressions.tolist(), strict=True):
            form = canonical_problem(prompt)
            if "?" in expression:
                a, b = sorted(int(n) for n in expression.split("?"))
                assert form == f"{a}?{b}", prompt
            else:
                assert form is not None and canonical_problem(f"What is {expression}?") == form, prompt


@pytest.mark.parametrize(
    ("prompt", "form"),
    [
        ("What is 44 + 33?", "+33+44"),
        ("What is 44 + 33 ?", "+33+44"),  # the rewording that got through before
        ("what is 44+33", "+33+44"),
        ("  WHAT   IS 44 +33 =", "+33+44"),
        ("Compute: 33 + 44", "+33+44"),
        ("Q: 44 plus 33? A:", "+33+44"),
        ("the sum of 44 and 33", "+33+44"),
        ("What is 044 + 33?", "+33+44"),
        ("What is 44 - 33?", "+44-33"),
        ("subtract 33 from 44", "+44-33"),
        ("What is 33 - 44?", "+33-44"),  # subtraction does not commute
        ("44 x 33", "+33*44"),
        ("the product of 33 and 44", "+33*44"),
        ("Which sign goes between 44 and 33: <, > or =?", "33?44"),
        ("compare 33 and 44", "33?44"),
        ("44 _ 33", "33?44"),
        ("Ann has 44 apples, buys 3 and gives away 12. How many apples does she have?", "+3+44-12"),
        ("ZED HAS 44 ROCKS , BUYS 3 AND GIVES AWAY 12", "+3+44-12"),
        ("What is 3 + 44 - 12?", "+3+44-12"),
        ("Ben has 44 coins and buys 3 boxes of 12 coins. How many coins does he have?", "+3*12+44"),
        ("Tell me a story.", None),
        ("What is 44 + 33? And 5 + 6?", None),  # two problems: no single form
    ],
)
def test_canonical_forms_ignore_wording(prompt: str, form: str | None) -> None:
    assert canonical_problem(prompt) == form


def test_a_prompt_states_every_problem_it_holds() -> None:
    assert canonical_problems("What is 44 + 33? And 5 + 6?") == {"+33+44", "+5+6"}
    assert canonical_problems(b"What is 1 + 1?") == frozenset()


def test_every_rewording_of_every_held_out_problem_is_recognised() -> None:
    """With the full held-out splits (420 problems each): each copy's canonical form is a held-out one."""
    domain = ArithmeticTextDomain(seed=0)
    forms = heldout_forms(domain)
    copies = heldout_copies(domain)
    assert len(copies) > 5 * 840
    missed = [prompt for prompt, _ in copies if not canonical_problems(prompt) & forms]
    assert missed == []
    assert all(validate_example(prompt, answer) is None for prompt, answer in copies)


def _env(**kwargs: Any) -> gym.Env:
    return gym.make(ENV_ID, **{**teachgym.envs.quick_settings(ENV_ID), **kwargs})


def test_a_copying_teacher_gets_no_held_out_problem_into_training() -> None:
    env = _env(examples_per_step=64, num_steps=8)
    env.reset(seed=0)
    unwrapped = env.unwrapped
    domain = unwrapped.domain
    forms = heldout_forms(domain)
    copies = heldout_copies(domain)
    # Genuinely new problems: fresh training ones, none of them a held-out problem in any order.
    fresh = domain.generate(np.arange(7).repeat(4), np.zeros(28, np.int64), np.random.default_rng(5))
    new = [pair for pair in fresh.pairs() if not canonical_problems(pair[0]) & forms]
    new += [("What is 21 + 34 ?", "55"), ("compute: 3 x 4", "12")]
    assert len(new) >= 25
    trained: list[str] = []
    learn = unwrapped.student.learn

    def recording_learn(batch: Any) -> Any:
        trained.extend(batch.prompts.ravel().tolist())
        return learn(batch)

    unwrapped.student.learn = recording_learn
    action = copies + new
    per_step = 60
    dropped = used = written = 0
    for start in range(0, len(action), per_step):
        _, _, _, _, info = env.step(tuple(action[start : start + per_step]))
        dropped += info["drop_reasons"].get("heldout", 0)
        written += info["examples_written"]
        assert info["examples_dropped"] == info["drop_reasons"].get("heldout", 0)
    used = info["examples_used"]
    assert written == len(action)
    assert dropped == len(copies)  # every copy counted as held-out
    assert used == len(new) and sorted(trained) == sorted(prompt.strip() for prompt, _ in new)
    assert not [prompt for prompt in trained if canonical_problems(prompt) & forms]


def test_held_out_copies_are_dropped_whatever_else_the_prompt_holds() -> None:
    env = _env(examples_per_step=8)
    env.reset(seed=0)
    prompt, answer = env.unwrapped.domain.heldout("test").pairs()[0]
    _, _, _, _, info = env.step(((f"{prompt} Also, what is 1 + 1?", answer), ("What is 1 + 1?", "2")))
    assert info["drop_reasons"] == {"heldout": 1} and info["examples_used"] == 1

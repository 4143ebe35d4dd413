"""Arithmetic problems as text (prompt, answer) pairs, for language-model students and teachers.

The domain (skills, levels, splits, generation and grading) is here; the prompt formats and their
exact parser are in :mod:`teachgym.domains.arithmetic_formats`, the canonical form of a problem
however it is worded in :mod:`teachgym.domains.arithmetic_canonical`, and the text item type and
the rules every text domain shares (:class:`~teachgym.domains.text.TextItems`,
:func:`~teachgym.domains.text.validate_example`, :func:`~teachgym.domains.text.grade_text`) in
:mod:`teachgym.domains.text`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from teachgym.config import check_int
from teachgym.domains.arithmetic_canonical import canonical_problem, canonical_problems
from teachgym.domains.arithmetic_formats import (
    ARITHMETIC_PROMPT,
    COMPARE_PROMPT,
    NAMES,
    OBJECTS,
    PARSERS,
    TEMPLATES,
    evaluate,
)
from teachgym.domains.text import (
    SIGN_CODES,
    TextItems,
    grade_text,
    normalize_answer,
    validate_example,
)
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace

_OWNER = "domain 'arithmetic-text'"
_SPLITS = ("validation", "test")
#: More levels would give operands of more than 8 digits: far beyond a small student anyway.
_MAX_LEVELS = 7
#: The held-out draw needs enough distinct problems in the smallest (skill, level) cell (2-digit
#: times 1-digit products: 720 problems, about 72 per held-out split).
_MAX_HELDOUT = 40
#: A problem's bucket is ``crc32(f"{seed}|{expression}") % _NUM_BUCKETS``; bucket 0 is reserved for
#: validation, bucket 1 for test, the rest is training (so 10% of all problems per held-out split).
_NUM_BUCKETS = 10
_BUCKET = {"validation": 0, "test": 1}
#: Draws allowed per wanted held-out problem before giving up (the spaces are far larger).
_MAX_DRAWS_PER_PROBLEM = 2_000

SKILL_NAMES = (
    "addition",
    "addition-carry",
    "subtraction",
    "subtraction-borrow",
    "multiplication",
    "comparison",
    "word-problem",
)


def _column_pairs(allowed: Callable[[int, int], bool], lead: bool) -> np.ndarray:
    """All digit pairs ``(a_i, b_i)`` of one column satisfying ``allowed`` (both >= 1 if ``lead``)."""
    low = 1 if lead else 0
    pairs = [(a, b) for a in range(low, 10) for b in range(low, 10) if allowed(a, b)]
    return np.array(pairs, np.int64)


# Columns without a carry (a_i + b_i <= 9) or without a borrow (a_i >= b_i), leading column first.
_NO_CARRY = (_column_pairs(lambda a, b: a + b <= 9, True), _column_pairs(lambda a, b: a + b <= 9, False))
_NO_BORROW = (_column_pairs(lambda a, b: a >= b, True), _column_pairs(lambda a, b: a >= b, False))


def _digits(n: int) -> list[int]:
    """Decimal digits of ``n >= 0``, least significant first."""
    return [int(d) for d in reversed(str(n))]


def has_carry(a: int, b: int) -> bool:
    """Whether column addition of ``a + b`` (both >= 0) carries in some column (a column's digit sum
    is 10 or more; without one, no carry can arise anywhere)."""
    da, db = _digits(a), _digits(b)
    width = max(len(da), len(db))
    da, db = da + [0] * (width - len(da)), db + [0] * (width - len(db))
    return any(x + y >= 10 for x, y in zip(da, db, strict=True))


def has_borrow(a: int, b: int) -> bool:
    """Whether column subtraction of ``a - b`` (``a >= b >= 0``) borrows in some column (a column's
    digit of ``a`` is smaller than that of ``b``)."""
    da, db = _digits(a), _digits(b)
    db = db + [0] * (len(da) - len(db))
    return any(x < y for x, y in zip(da, db, strict=True))


#: Elementwise (broadcasting) exact match of a response against a canonical answer.
_MATCH = np.frompyfunc(lambda given, true: isinstance(given, str) and normalize_answer(given) == true, 2, 1)


@dataclass(frozen=True)
class _Problem:
    prompt: str
    answer: str
    expression: str
    code: int


class ArithmeticTextDomain:
    """Arithmetic word and number problems as text, graded by exact match of the final answer.

    **Skills** (:data:`SKILL_NAMES`): ``addition`` (no column carries), ``addition-carry`` (at least
    one column carries), ``subtraction`` (``a >= b``, no column borrows), ``subtraction-borrow``
    (``a >= b``, at least one column borrows), ``multiplication``, ``comparison`` (answer ``<``,
    ``>`` or ``=``, each outcome a third of the time) and ``word-problem`` (two-step problems from
    three templates: buy then give away, lose then find, buy boxes of).

    **Levels** by number size: at level ``l`` the operands of addition, subtraction and comparison
    have ``l + 2`` digits; multiplication is ``(l + 2)``-digit times ``(l + 1)``-digit (level 0: a
    multiplier in 2..9); a word problem starts from an ``(l + 2)``-digit quantity and changes it by
    ``(l + 1)``-digit ones (the box count is in 2..9).

    **Text.** Problems are :class:`~teachgym.domains.text.TextItems`: ``Items`` (skill, level, numeric
    answer) with aligned prompts, answers and expressions. Prompts read ``"What is 47 + 38?"``,
    ``"What is 47 * 8?"``, ``"Which sign goes between 47 and 38: <, > or =?"`` or a word problem;
    answers are canonical integers (``"85"``) or a sign. Grade model output with
    :func:`~teachgym.domains.text.grade_text`; check teacher-written examples with
    :func:`~teachgym.domains.text.validate_example`;
    :func:`~teachgym.domains.arithmetic_canonical.canonical_problems` gives the arithmetic a prompt
    states however it is worded (the OpenEnded env drops copies of held-out problems with it).

    **Splits.** A problem's split is a stable hash of its arithmetic, ``crc32(f"{seed}|{expression}")
    % 10``: 0 is validation, 1 test, the rest training. The held-out splits are fixed sets of
    ``num_heldout`` distinct problems per (skill, level) drawn from their buckets with streams
    spawned from ``seed``; :meth:`generate` redraws any problem in a held-out bucket, so a held-out
    problem (even reworded by another word-problem name or object) is never generated for training.

    Args:
        seed: int >= 0; fixes the held-out buckets and splits.
        num_heldout: int in [1, 40], held-out problems per (skill, level) in each split.
        num_levels: int in [1, 7], difficulty levels per skill.

    Raises:
        ConfigError: an argument of the wrong type or out of range.
    """

    view = "text"

    def __init__(self, *, seed: int = 0, num_heldout: int = 20, num_levels: int = 3) -> None:
        self.seed = check_int(_OWNER, "seed", seed, 0)
        self.num_heldout = check_int(_OWNER, "num_heldout", num_heldout, 1, _MAX_HELDOUT)
        self.num_levels = check_int(_OWNER, "num_levels", num_levels, 1, _MAX_LEVELS)
        self.skills = SkillSpace(
            names=SKILL_NAMES,
            prerequisites={
                "addition-carry": ("addition",),
                "subtraction-borrow": ("subtraction",),
                "multiplication": ("addition-carry",),
                "word-problem": ("addition-carry", "subtraction-borrow", "multiplication"),
            },
            num_levels=self.num_levels,
        )
        self.num_skills = len(SKILL_NAMES)
        self._draw: tuple[Callable[[int, np.random.Generator], _Problem], ...] = (
            self._addition,
            self._addition_carry,
            self._subtraction,
            self._subtraction_borrow,
            self._multiplication,
            self._comparison,
            self._word_problem,
        )
        self._heldout = {
            split: self._draw_heldout(split, np.random.default_rng(stream))
            for split, stream in zip(
                _SPLITS, np.random.SeedSequence(self.seed).spawn(len(_SPLITS)), strict=True
            )
        }

    # ------------------------------------------------------------------ splits
    def split_of(self, expression: str) -> str:
        """``"validation"``, ``"test"`` or ``"train"``: the split a problem's expression belongs to."""
        bucket = zlib.crc32(f"{self.seed}|{expression}".encode()) % _NUM_BUCKETS
        for split, reserved in _BUCKET.items():
            if bucket == reserved:
                return split
        return "train"

    def _draw_heldout(self, split: str, rng: np.random.Generator) -> TextItems:
        problems: list[tuple[int, int, _Problem]] = []
        for skill in range(self.num_skills):
            for level in range(self.num_levels):
                seen: set[str] = set()
                for _ in range(self.num_heldout * _MAX_DRAWS_PER_PROBLEM):
                    problem = self._draw[skill](level, rng)
                    if self.split_of(problem.expression) == split and problem.prompt not in seen:
                        seen.add(problem.prompt)
                        problems.append((skill, level, problem))
                        if len(seen) == self.num_heldout:
                            break
                else:  # pragma: no cover - the smallest cell has about 72 held-out problems per split
                    raise ConfigError(
                        f"{_OWNER} found fewer than num_heldout={self.num_heldout} {split} problems for "
                        f"skill {SKILL_NAMES[skill]!r} at level {level}; expected a smaller num_heldout"
                    )
        items = self._pack(problems)
        items.items.readonly()
        return items

    def heldout(self, split: str) -> TextItems:
        """The fixed held-out problems of ``split`` (``"validation"`` or ``"test"``):
        ``num_skills * num_levels * num_heldout`` of them, grouped by (skill, level)."""
        if split not in _SPLITS:
            raise ConfigError(f"{_OWNER} has no held-out split {split!r}; expected one of {_SPLITS}")
        return self._heldout[split]

    # ------------------------------------------------------------------ training
    def generate(
        self, skill: np.ndarray | int, level: np.ndarray | int, rng: np.random.Generator
    ) -> TextItems:
        """Fresh training problems for the given (skill, level) pairs (1-D arrays of equal length, or
        ints for one problem), drawn from ``rng``; a problem of a held-out split is never generated."""
        skill = np.atleast_1d(np.asarray(skill))
        level = np.atleast_1d(np.asarray(level))
        if skill.shape != level.shape or skill.ndim != 1:
            raise ConfigError(
                f"{_OWNER} generate got skill shape {skill.shape} and level shape {level.shape}; "
                "expected equal 1-D shapes"
            )
        for name, values, high in (("skill", skill, self.num_skills), ("level", level, self.num_levels)):
            integral = np.issubdtype(values.dtype, np.integer)
            if values.size and (not integral or values.min() < 0 or values.max() >= high):
                raise ConfigError(
                    f"{_OWNER} generate got {name}s {np.unique(values).tolist()}; expected ints in "
                    f"[0, {high})"
                )
        problems = []
        for k, lv in zip(skill.tolist(), level.tolist(), strict=True):
            problem = self._draw[k](lv, rng)
            while self.split_of(problem.expression) != "train":
                problem = self._draw[k](lv, rng)
            problems.append((k, lv, problem))
        return self._pack(problems)

    @staticmethod
    def _pack(problems: list[tuple[int, int, _Problem]]) -> TextItems:
        return TextItems.from_lists(
            skill=[k for k, _, _ in problems],
            level=[lv for _, lv, _ in problems],
            code=[p.code for _, _, p in problems],
            prompts=[p.prompt for _, _, p in problems],
            answers=[p.answer for _, _, p in problems],
            expressions=[p.expression for _, _, p in problems],
        )

    @staticmethod
    def grade(items: TextItems, responses: np.ndarray) -> np.ndarray:
        """Exact-match grading of text ``responses`` (object array of str, the shape of
        ``items.answers`` or with extra leading population dimensions) as in :func:`grade_text`:
        bool, True where the normalised response equals the item's answer."""
        return _MATCH(np.asarray(responses, dtype=object), items.answers).astype(bool)

    grade_text = staticmethod(grade_text)
    validate_example = staticmethod(validate_example)

    # ------------------------------------------------------------------ problem makers
    @staticmethod
    def _number(digits: int, rng: np.random.Generator) -> int:
        """A uniform number with exactly ``digits`` decimal digits (1..9 for one digit)."""
        return int(rng.integers(10 ** (digits - 1), 10**digits))

    @staticmethod
    def _by_columns(
        columns: tuple[np.ndarray, np.ndarray], digits: int, rng: np.random.Generator
    ) -> tuple[int, int]:
        """Operands of ``digits`` digits whose column pairs are drawn uniformly from ``columns``
        (leading column, other columns): uniform over the problems with that column property."""
        lead, rest = columns
        chosen = [lead[rng.integers(len(lead))]] + [rest[i] for i in rng.integers(len(rest), size=digits - 1)]
        a = int("".join(str(int(c[0])) for c in chosen))
        b = int("".join(str(int(c[1])) for c in chosen))
        return a, b

    @staticmethod
    def _arithmetic(a: int, op: str, b: int) -> _Problem:
        value = a + b if op == "+" else a - b if op == "-" else a * b
        return _Problem(ARITHMETIC_PROMPT.format(a=a, op=op, b=b), str(value), f"{a}{op}{b}", value)

    def _addition(self, level: int, rng: np.random.Generator) -> _Problem:
        a, b = self._by_columns(_NO_CARRY, level + 2, rng)
        return self._arithmetic(a, "+", b)

    def _addition_carry(self, level: int, rng: np.random.Generator) -> _Problem:
        while True:
            a, b = self._number(level + 2, rng), self._number(level + 2, rng)
            if has_carry(a, b):
                return self._arithmetic(a, "+", b)

    def _subtraction(self, level: int, rng: np.random.Generator) -> _Problem:
        a, b = self._by_columns(_NO_BORROW, level + 2, rng)
        return self._arithmetic(a, "-", b)

    def _subtraction_borrow(self, level: int, rng: np.random.Generator) -> _Problem:
        while True:
            a, b = self._number(level + 2, rng), self._number(level + 2, rng)
            a, b = max(a, b), min(a, b)
            if has_borrow(a, b):
                return self._arithmetic(a, "-", b)

    def _multiplication(self, level: int, rng: np.random.Generator) -> _Problem:
        b = int(rng.integers(2, 10)) if level == 0 else self._number(level + 1, rng)
        return self._arithmetic(self._number(level + 2, rng), "*", b)

    def _comparison(self, level: int, rng: np.random.Generator) -> _Problem:
        outcome = int(rng.integers(3))  # "=", ">" or "<", each a third of the time
        a = b = self._number(level + 2, rng)
        while outcome and a == b:
            b = self._number(level + 2, rng)
        if outcome and (a > b) != (outcome == 1):
            a, b = b, a
        return self._compare(a, b)

    @staticmethod
    def _compare(a: int, b: int) -> _Problem:
        sign = "<" if a < b else ">" if a > b else "="
        prompt = COMPARE_PROMPT.format(a=a, b=b)
        return _Problem(prompt, sign, f"{a}?{b}", SIGN_CODES[sign])

    def _word_problem(self, level: int, rng: np.random.Generator) -> _Problem:
        template = int(rng.integers(len(TEMPLATES)))
        name, pron = NAMES[int(rng.integers(len(NAMES)))]
        obj = OBJECTS[int(rng.integers(len(OBJECTS)))]
        x = self._number(level + 2, rng)
        y = int(rng.integers(2, 10)) if template == 2 else self._number(level + 1, rng)
        z = self._number(level + 1, rng)
        value = (x + y - z, x - y + z, x + y * z)[template]
        text, expression = TEMPLATES[template]
        prompt = text.format(name=name, pron=pron, obj=obj, x=x, y=y, z=z)
        return _Problem(prompt, str(value), expression.format(x=x, y=y, z=z), value)

    # ------------------------------------------------------------------ parsing
    def parse(self, prompt: str) -> tuple[int, int, str] | None:
        """``(skill index, level, canonical correct answer)`` of a prompt written in one of the
        domain's formats, or None if ``prompt`` is not one (surrounding whitespace is ignored).

        Formats: ``"What is A + B?"`` (and ``-``, ``*``), ``"Which sign goes between A and B: <, > or
        =?"`` and the three word-problem templates with any one-word name and object. Numbers are
        non-negative integers without leading zeros. The skill is the one the generators would give:
        ``+`` is ``addition-carry`` if :func:`has_carry` else ``addition``; ``-`` is
        ``subtraction-borrow`` if ``A < B`` (a negative answer) or :func:`has_borrow`, else
        ``subtraction``; ``*`` is ``multiplication``. The level is the first number's digits minus 2,
        clipped to ``[0, num_levels - 1]``; the answer is ``str(int)`` or ``<``, ``>``, ``=``.
        """
        problem = self._recognise(prompt)
        return None if problem is None else problem[:3]

    # A teacher-written copy of a held-out problem is recognised by its canonical form, however it
    # is worded (OpenEnded drops it); pure functions of the prompt, they know nothing of the splits.
    canonical_problems = staticmethod(canonical_problems)
    canonical_problem = staticmethod(canonical_problem)

    def _recognise(self, prompt: str) -> tuple[int, int, str, str] | None:
        """(skill, level, answer, expression) of a prompt in one of the domain's formats, or None."""
        if not isinstance(prompt, str):
            return None
        text = prompt.strip()
        for pattern, expression in PARSERS:
            match = pattern.fullmatch(text)
            if match is None:
                continue
            fields = match.groupdict()
            first = fields.get("a") or fields["x"]
            level = min(max(len(first) - 2, 0), self.num_levels - 1)
            if expression is not None:
                arithmetic = expression.format(**fields)
                return SKILL_NAMES.index("word-problem"), level, str(evaluate(arithmetic)), arithmetic
            a, b, op = int(fields["a"]), int(fields["b"]), fields.get("op")
            if op is None:
                problem = self._compare(a, b)
                skill = "comparison"
            else:
                problem = self._arithmetic(a, op, b)
                skill = {
                    "+": "addition-carry" if has_carry(a, b) else "addition",
                    "-": "subtraction-borrow" if a < b or has_borrow(a, b) else "subtraction",
                    "*": "multiplication",
                }[op]
            return SKILL_NAMES.index(skill), level, problem.answer, problem.expression
        return None


def single_digit_problem(rng: np.random.Generator) -> tuple[str, str]:
    """One ``(prompt, answer)`` problem in the domain's formats with single-digit numbers (operands
    0..9; a word problem's quantities 1..9, its answer never negative), one of addition,
    subtraction (``a >= b``), multiplication, comparison and word problem with equal probability.

    This is below every level of :class:`ArithmeticTextDomain` (whose operands have two or more
    digits), so a student pre-trained on it (the shipped tiny LM student) knows the formats and
    the one-digit facts but has seen no held-out problem.
    """
    kind = int(rng.integers(5))
    a, b = (int(v) for v in rng.integers(0, 10, size=2))
    if kind == 0:
        problem = ArithmeticTextDomain._arithmetic(a, "+", b)
    elif kind == 1:
        problem = ArithmeticTextDomain._arithmetic(max(a, b), "-", min(a, b))
    elif kind == 2:
        problem = ArithmeticTextDomain._arithmetic(a, "*", b)
    elif kind == 3:
        problem = ArithmeticTextDomain._compare(a, b)
    else:
        template = int(rng.integers(len(TEMPLATES)))
        name, pron = NAMES[int(rng.integers(len(NAMES)))]
        obj = OBJECTS[int(rng.integers(len(OBJECTS)))]
        while True:
            x, y, z = (int(v) for v in rng.integers(1, 10, size=3))
            value = (x + y - z, x - y + z, x + y * z)[template]
            if value >= 0 and (template != 1 or x >= y):
                break
        prompt = TEMPLATES[template][0].format(name=name, pron=pron, obj=obj, x=x, y=y, z=z)
        return prompt, str(value)
    return problem.prompt, problem.answer

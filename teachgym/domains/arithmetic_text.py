"""Arithmetic problems as text (prompt, answer) pairs, for language-model students and teachers."""

from __future__ import annotations

import math
import re
import string
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from teachgym.config import check_int
from teachgym.domains.base import Items
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

#: Longest accepted prompt or answer of a teacher-written example, characters.
MAX_EXAMPLE_CHARS = 200
#: Characters a teacher-written example may use: ASCII letters, digits, the space and this punctuation.
EXAMPLE_PUNCTUATION = ".,:;?!'\"()+-*/=<>%$"
EXAMPLE_CHARSET = frozenset(string.ascii_letters + string.digits + " " + EXAMPLE_PUNCTUATION)
#: A well-formed answer: an integer without leading zeros (or ``-0``), or a comparison sign.
_ANSWER_PATTERN = re.compile(r"0|-?[1-9][0-9]*|[<>=]")

SKILL_NAMES = (
    "addition",
    "addition-carry",
    "subtraction",
    "subtraction-borrow",
    "multiplication",
    "comparison",
    "word-problem",
)

#: Comparison answers and their codes in ``Items.answer``.
_SIGN_CODE = {"<": -1, "=": 0, ">": 1}

_NAMES = (("Ann", "she"), ("Ben", "he"), ("Cara", "she"), ("Dan", "he"), ("Eva", "she"), ("Finn", "he"))
_OBJECTS = ("apples", "marbles", "stickers", "books", "coins", "pencils")
#: Word-problem templates: (prompt format, expression format); ``x`` has the level's full size, ``y``
#: and ``z`` one digit fewer (``y`` in 2..9 for the boxes of template 2). Answers are never negative.
_TEMPLATES = (
    ("{name} has {x} {obj}, buys {y} and gives away {z}. How many {obj} does {pron} have?", "{x}+{y}-{z}"),
    (
        "{name} has {x} {obj}, loses {y} and then finds {z}. How many {obj} does {pron} have now?",
        "{x}-{y}+{z}",
    ),
    ("{name} has {x} {obj} and buys {y} boxes of {z} {obj}. How many {obj} does {pron} have?", "{x}+{y}*{z}"),
)


#: Prompt formats of the number problems (``op`` is ``+``, ``-`` or ``*``).
_ARITHMETIC_PROMPT = "What is {a} {op} {b}?"
_COMPARE_PROMPT = "Which sign goes between {a} and {b}: <, > or =?"


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


def normalize_answer(text: str) -> str:
    """The answer as graded: surrounding whitespace and one trailing period removed (``" 85. "`` ->
    ``"85"``); nothing else changes (``"085"`` and ``"eighty-five"`` stay as they are)."""
    text = text.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    return text


def grade_text(answers_given: Sequence[str], answers_true: Sequence[str]) -> np.ndarray:
    """Exact-match grading of final answers: bool ``(M,)``, True where
    ``normalize_answer(given) == true``. ``"85"``, ``" 85 "`` and ``"85."`` are right for ``"85"``;
    ``"085"``, ``"85.0"``, ``"eighty-five"`` and anything that is not a str are wrong.

    Raises:
        ConfigError: the two sequences differ in length.
    """
    if len(answers_given) != len(answers_true):
        raise ConfigError(
            f"grade_text got {len(answers_given)} answers for {len(answers_true)} problems; expected "
            "one answer per problem"
        )
    return np.array(
        [
            isinstance(g, str) and normalize_answer(g) == t
            for g, t in zip(answers_given, answers_true, strict=True)
        ],
        dtype=bool,
    )


#: Elementwise (broadcasting) exact match of a response against a canonical answer.
_MATCH = np.frompyfunc(lambda given, true: isinstance(given, str) and normalize_answer(given) == true, 2, 1)


def validate_example(prompt: object, answer: object) -> str | None:
    """Why a teacher-written ``(prompt, answer)`` example is invalid, or None if it is valid.

    An example is valid when prompt and answer are non-empty ``str`` (after stripping whitespace) of at
    most :data:`MAX_EXAMPLE_CHARS` characters, use only :data:`EXAMPLE_CHARSET` (printable ASCII
    letters, digits, the space and ``.,:;?!'"()+-*/=<>%$``; no newline, tab or non-ASCII character,
    so nothing that is not valid UTF-8 text gets through), and the answer, once normalised as in
    :func:`normalize_answer`, is an integer without leading zeros (``"85"``, ``"-3"``, ``"0"``) or one
    of ``<``, ``>``, ``=``. Correctness is not checked here: a wrong answer is a valid example.
    """
    for name, text in (("prompt", prompt), ("answer", answer)):
        if not isinstance(text, str):
            return f"{name} is a {type(text).__name__}, expected a str"
        if not text.strip():
            return f"{name} is empty"
        if len(text) > MAX_EXAMPLE_CHARS:
            return f"{name} has {len(text)} characters, more than {MAX_EXAMPLE_CHARS}"
        bad = sorted(set(text) - EXAMPLE_CHARSET)
        if bad:
            return f"{name} has characters outside the charset: {''.join(bad)!r}"
    assert isinstance(answer, str)
    if not _ANSWER_PATTERN.fullmatch(normalize_answer(answer)):
        return f"answer {answer!r} is not an integer without leading zeros nor one of <, >, ="
    return None


@dataclass(frozen=True)
class TextItems:
    """Text problems with their :class:`~teachgym.domains.base.Items` view.

    ``Items`` holds numeric arrays only, so the text lives beside it in object arrays of ``str``
    aligned with it: shape ``(M,)`` for a held-out split, ``(P, M)`` for a population's training
    batch. ``skill``, ``level``, ``answer``, ``take``, ``reshape`` and ``readonly`` act as on
    ``Items``, so engines and envs handle text and numeric items alike.

    Attributes:
        items: ``skill`` and ``level`` int64; ``answer`` int64: the numeric answer, or for
            comparisons the sign code -1 (``<``), 0 (``=``), 1 (``>``); -1 for teacher-written
            examples, whose answer may not be a number. No features.
        prompts: the problem statements, e.g. ``"What is 47 + 38?"``.
        answers: the answers to train on or grade against, e.g. ``"85"`` or ``"<"``: the correct
            one in canonical form for generated problems, the teacher's for teacher-written ones.
        expressions: the arithmetic behind each problem, e.g. ``"47+38"``, ``"12+5-3"`` (word
            problems) or ``"47?38"`` (comparisons); a problem's split is derived from it (``""``
            for teacher-written examples).
    """

    items: Items
    prompts: np.ndarray
    answers: np.ndarray
    expressions: np.ndarray

    @classmethod
    def from_lists(
        cls,
        skill: Sequence[int],
        level: Sequence[int],
        code: Sequence[int],
        prompts: Sequence[str],
        answers: Sequence[str],
        expressions: Sequence[str],
    ) -> TextItems:
        """One-dimensional text items from aligned lists."""
        return cls(
            items=Items(
                skill=np.array(skill, np.int64).reshape(-1),
                level=np.array(level, np.int64).reshape(-1),
                answer=np.array(code, np.int64).reshape(-1),
            ),
            prompts=_strings(prompts),
            answers=_strings(answers),
            expressions=_strings(expressions),
        )

    @property
    def skill(self) -> np.ndarray:
        return self.items.skill

    @property
    def level(self) -> np.ndarray:
        return self.items.level

    @property
    def answer(self) -> np.ndarray:
        return self.items.answer

    def __len__(self) -> int:
        return int(self.items.skill.shape[-1])

    def pairs(self) -> list[tuple[str, str]]:
        """The ``(prompt, answer)`` pairs, in order (all leading dimensions flattened)."""
        return list(zip(self.prompts.ravel().tolist(), self.answers.ravel().tolist(), strict=True))

    def take(self, index: np.ndarray) -> TextItems:
        """Items at ``index`` along the leading axes."""
        return TextItems(
            self.items.take(index), self.prompts[index], self.answers[index], self.expressions[index]
        )

    def reshape(self, *shape: int) -> TextItems:
        """The same items with new leading dimensions."""
        return TextItems(
            self.items.reshape(*shape),
            self.prompts.reshape(shape),
            self.answers.reshape(shape),
            self.expressions.reshape(shape),
        )

    def readonly(self) -> TextItems:
        """The same items with every array made read-only."""
        self.items.readonly()
        for array in (self.prompts, self.answers, self.expressions):
            array.flags.writeable = False
        return self


def _strings(values: Sequence[str]) -> np.ndarray:
    """A 1-D object array of the given strings (``np.array`` would make a fixed-width unicode array)."""
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


@dataclass(frozen=True)
class _Problem:
    prompt: str
    answer: str
    expression: str
    code: int


#: What each placeholder of a prompt format matches when a prompt is parsed back: numbers without
#: leading zeros, an operator, and any one-word name or object (not only :data:`_NAMES`, :data:`_OBJECTS`).
_NUMBER = "0|[1-9][0-9]*"
_FIELDS = {
    "a": _NUMBER,
    "b": _NUMBER,
    "x": _NUMBER,
    "y": _NUMBER,
    "z": _NUMBER,
    "op": "[-+*]",
    "name": "[A-Za-z]+",
    "obj": "[A-Za-z]+",
    "pron": "he|she",
}


def _format_pattern(text: str) -> re.Pattern[str]:
    """A regex for the strings ``text.format(...)`` makes: the literal text escaped, one named group per
    placeholder (a placeholder used again must repeat the same text, e.g. a word problem's object)."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, field, _, _ in string.Formatter().parse(text):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>{_FIELDS[field]})")
            seen.add(field)
    return re.compile("".join(parts))


def _evaluate(expression: str) -> int:
    """The value of a sum of products of non-negative integers, e.g. ``"12+5*3-4"`` -> 23."""
    return sum(
        (-1 if sign == "-" else 1) * math.prod(int(factor) for factor in term.split("*"))
        for sign, term in re.findall(r"([-+]?)([0-9*]+)", expression)
    )


#: Every prompt format the domain writes, as (regex, word-problem expression format or None for the
#: number problems), derived from the format strings themselves.
_PARSERS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (_format_pattern(_ARITHMETIC_PROMPT), None),
    (_format_pattern(_COMPARE_PROMPT), None),
    *((_format_pattern(text), expression) for text, expression in _TEMPLATES),
)


# ---------------------------------------------------------------------- canonical problems
#: A problem as its arithmetic, whatever the wording: a sum of signed products with the terms and
#: each term's factors sorted (``"+33+44"`` for 44 + 33 and 33 + 44, ``"+44-33"`` for 44 - 33,
#: ``"+3*12+44"`` for a word problem's 44 + 3 * 12), or ``"A?B"`` with ``A <= B`` for a comparison
#: of A and B.
CanonicalProblem = str

#: Operators written in words, rewritten to symbols before problems are looked for; the phrases that
#: name both operands come first ("subtract B from A" reverses them).
_WORDED_OPERATORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:sum|total) of (\d+) and (\d+)"), r"\1 + \2"),
    (re.compile(r"\bproduct of (\d+) and (\d+)"), r"\1 * \2"),
    (re.compile(r"\bdifference (?:of|between) (\d+) and (\d+)"), r"\1 - \2"),
    (re.compile(r"\bsubtract (\d+) from (\d+)"), r"\2 - \1"),
    (re.compile(r"\badd (\d+) (?:and|to) (\d+)"), r"\1 + \2"),
    (re.compile(r"\bmultiply (\d+) (?:and|by) (\d+)"), r"\1 * \2"),
    (re.compile(r"\b(?:plus|added to)\b"), " + "),
    (re.compile(r"\b(?:minus|take away)\b"), " - "),
    (re.compile(r"\b(?:times|multiplied by)\b"), " * "),
    (re.compile(r"(?<=\d)\s*x\s*(?=\d)"), " * "),
)
#: A thousands separator ("4,412"), dropped so that the number reads as one.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
#: Numbers joined by ``+``, ``-`` or ``*``, spaced any way. A sign before the first number is not
#: part of it (the domain has no negative operands): "-44 + 33" is read as 44 + 33, on the safe side.
_CHAIN = re.compile(r"(?<!\d)\d+(?:\s*[-+*]\s*\d+)+")
_NUMBERS = re.compile(r"(?<!\d)\d+")
#: Words or signs that make a prompt with two numbers and no operator a comparison.
_COMPARISON_CUE = re.compile(
    r"sign|compar|greater|less than|larger|smaller|bigger|equal|[<>=]|\d\s*(?:\?|_+)\s*\d"
)


def _loose_word_pattern(text: str) -> re.Pattern[str]:
    """A case- and spacing-free regex for the part of a word-problem format that holds its numbers
    (``{x}`` to ``{z}``): its words in order with any spaces or punctuation between them, any word
    for a name or object, one named group per number. What comes before and after (the name, the
    question) may be reworded or left out."""
    core = text[text.index("{x}") : text.index("{z}") + len("{z}")]
    tokens: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(core):
        tokens += [re.escape(word) for word in re.findall(r"[a-z]+", literal.lower())]
        if field is not None:
            tokens.append(f"(?P<{field}>\\d+)" if field in "xyz" else "[a-z]+")
    return re.compile(r"(?<!\d)" + r"\W*".join(tokens) + r"(?!\d)")


#: The word-problem templates, as (loose regex, expression format).
_WORD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (_loose_word_pattern(text), expression) for text, expression in _TEMPLATES
)


def _canonical_expression(expression: str) -> CanonicalProblem:
    """The canonical form of a sum of products of non-negative integers (``"44 + 33"`` ->
    ``"+33+44"``): leading zeros and spaces dropped, factors and terms sorted, so that commuted
    operands give the same form."""
    terms = sorted(
        (sign or "+", tuple(sorted(int(factor) for factor in term.split("*"))))
        for sign, term in re.findall(r"([-+]?)([0-9*]+)", expression.replace(" ", ""))
    )
    return "".join(sign + "*".join(str(f) for f in factors) for sign, factors in terms)


def canonical_problems(prompt: object) -> frozenset[CanonicalProblem]:
    """The canonical forms (:data:`CanonicalProblem`) of every arithmetic problem a prompt states,
    however it is worded; empty for a prompt that states none (or is not a ``str``).

    The prompt is read case-free with any spacing and with any words around the problem ("What is",
    "Compute:", "Q:", "?", "="): numbers joined by ``+``, ``-``, ``*``, ``x`` or the words plus,
    minus, times, multiplied by ("the sum/product/difference of A and B", "subtract B from A" too);
    the part of a word-problem template that holds its numbers, with any name and object (its
    arithmetic, so that it equals the bare expression); and, where there is no such problem, two
    numbers with a comparison cue (sign, compare, greater, ``<``, ``A ? B``...). Operand order
    does not matter for ``+``, ``*`` and comparisons (A vs B states the same fact as B vs A).
    """
    if not isinstance(prompt, str):
        return frozenset()
    text = _THOUSANDS.sub("", " ".join(prompt.lower().split()))
    for pattern, replacement in _WORDED_OPERATORS:
        text = pattern.sub(replacement, text)
    found = {
        _canonical_expression(expression.format(**match.groupdict()))
        for pattern, expression in _WORD_PATTERNS
        for match in pattern.finditer(text)
    }
    found.update(_canonical_expression(match.group()) for match in _CHAIN.finditer(text))
    numbers = _NUMBERS.findall(text)
    if not found and len(numbers) == 2 and _COMPARISON_CUE.search(text):
        low, high = sorted(int(n) for n in numbers)
        found.add(f"{low}?{high}")
    return frozenset(found)


def canonical_problem(prompt: object) -> CanonicalProblem | None:
    """The canonical form of the one arithmetic problem a prompt states (see
    :func:`canonical_problems`), or None if it states none or several."""
    found = canonical_problems(prompt)
    return next(iter(found)) if len(found) == 1 else None


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

    **Text.** Problems are :class:`TextItems`: ``Items`` (skill, level, numeric answer) with aligned
    prompts, answers and expressions. Prompts read ``"What is 47 + 38?"``, ``"What is 47 * 8?"``,
    ``"Which sign goes between 47 and 38: <, > or =?"`` or a word problem; answers are canonical
    integers (``"85"``) or a sign. Grade model output with :func:`grade_text`; check teacher-written
    examples with :func:`validate_example`; :func:`canonical_problems` gives the arithmetic a prompt
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
        return _Problem(_ARITHMETIC_PROMPT.format(a=a, op=op, b=b), str(value), f"{a}{op}{b}", value)

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
        prompt = _COMPARE_PROMPT.format(a=a, b=b)
        return _Problem(prompt, sign, f"{a}?{b}", _SIGN_CODE[sign])

    def _word_problem(self, level: int, rng: np.random.Generator) -> _Problem:
        template = int(rng.integers(len(_TEMPLATES)))
        name, pron = _NAMES[int(rng.integers(len(_NAMES)))]
        obj = _OBJECTS[int(rng.integers(len(_OBJECTS)))]
        x = self._number(level + 2, rng)
        y = int(rng.integers(2, 10)) if template == 2 else self._number(level + 1, rng)
        z = self._number(level + 1, rng)
        value = (x + y - z, x - y + z, x + y * z)[template]
        text, expression = _TEMPLATES[template]
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
        for pattern, expression in _PARSERS:
            match = pattern.fullmatch(text)
            if match is None:
                continue
            fields = match.groupdict()
            first = fields.get("a") or fields["x"]
            level = min(max(len(first) - 2, 0), self.num_levels - 1)
            if expression is not None:
                arithmetic = expression.format(**fields)
                return SKILL_NAMES.index("word-problem"), level, str(_evaluate(arithmetic)), arithmetic
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
        template = int(rng.integers(len(_TEMPLATES)))
        name, pron = _NAMES[int(rng.integers(len(_NAMES)))]
        obj = _OBJECTS[int(rng.integers(len(_OBJECTS)))]
        while True:
            x, y, z = (int(v) for v in rng.integers(1, 10, size=3))
            value = (x + y - z, x - y + z, x + y * z)[template]
            if value >= 0 and (template != 1 or x >= y):
                break
        prompt = _TEMPLATES[template][0].format(name=name, pron=pron, obj=obj, x=x, y=y, z=z)
        return prompt, str(value)
    return problem.prompt, problem.answer

"""The prompt formats of the arithmetic-text domain, and the exact parser of prompts written in them.

:class:`~teachgym.domains.arithmetic_text.ArithmeticTextDomain` writes its number problems with
:data:`ARITHMETIC_PROMPT` and :data:`COMPARE_PROMPT` and its word problems with :data:`TEMPLATES`
(a name and pronoun from :data:`NAMES`, an object from :data:`OBJECTS`); :data:`PARSERS` reads a
prompt in any of those formats back into its numbers, and :func:`evaluate` computes a word problem's
arithmetic. The loose reading of a problem however it is worded is in
:mod:`teachgym.domains.arithmetic_canonical`.
"""

from __future__ import annotations

import math
import re
import string

#: Names of the word problems' people, with their pronouns.
NAMES = (("Ann", "she"), ("Ben", "he"), ("Cara", "she"), ("Dan", "he"), ("Eva", "she"), ("Finn", "he"))
#: What the word problems' people have.
OBJECTS = ("apples", "marbles", "stickers", "books", "coins", "pencils")
#: Word-problem templates: (prompt format, expression format); ``x`` has the level's full size, ``y``
#: and ``z`` one digit fewer (``y`` in 2..9 for the boxes of template 2). Answers are never negative.
TEMPLATES = (
    ("{name} has {x} {obj}, buys {y} and gives away {z}. How many {obj} does {pron} have?", "{x}+{y}-{z}"),
    (
        "{name} has {x} {obj}, loses {y} and then finds {z}. How many {obj} does {pron} have now?",
        "{x}-{y}+{z}",
    ),
    ("{name} has {x} {obj} and buys {y} boxes of {z} {obj}. How many {obj} does {pron} have?", "{x}+{y}*{z}"),
)


#: Prompt formats of the number problems (``op`` is ``+``, ``-`` or ``*``).
ARITHMETIC_PROMPT = "What is {a} {op} {b}?"
COMPARE_PROMPT = "Which sign goes between {a} and {b}: <, > or =?"

#: What each placeholder of a prompt format matches when a prompt is parsed back: numbers without
#: leading zeros, an operator, and any one-word name or object (not only :data:`NAMES`, :data:`OBJECTS`).
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


def evaluate(expression: str) -> int:
    """The value of a sum of products of non-negative integers, e.g. ``"12+5*3-4"`` -> 23."""
    return sum(
        (-1 if sign == "-" else 1) * math.prod(int(factor) for factor in term.split("*"))
        for sign, term in re.findall(r"([-+]?)([0-9*]+)", expression)
    )


#: Every prompt format the domain writes, as (regex, word-problem expression format or None for the
#: number problems), derived from the format strings themselves.
PARSERS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (_format_pattern(ARITHMETIC_PROMPT), None),
    (_format_pattern(COMPARE_PROMPT), None),
    *((_format_pattern(text), expression) for text, expression in TEMPLATES),
)

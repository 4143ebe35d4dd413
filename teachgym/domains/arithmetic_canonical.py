"""The canonical form of an arithmetic problem however it is worded: the held-out copy check.

:func:`canonical_problems` reads a prompt loosely (any case, spacing, surrounding words, operators in
words, the arithmetic core of a word-problem template with any name and object) and gives the
arithmetic it states as a :data:`CanonicalProblem`, with commuted operands made equal. The OpenEnded
env compares these forms against the held-out problems' to drop teacher-written copies of them.
These are pure functions of the prompt; they know nothing of the splits.
"""

from __future__ import annotations

import re
import string

from teachgym.domains.arithmetic_formats import TEMPLATES

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
    (_loose_word_pattern(text), expression) for text, expression in TEMPLATES
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

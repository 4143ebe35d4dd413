"""Hypothesis strategies of actions for the fuzz tests (tests/test_fuzz.py), one set per kind of
action space (Box allocation weights, a Discrete choice, a Sequence of text pairs): valid actions,
actions that may go either way, and actions that must be refused (NaN, inf, huge numbers, wrong dtypes
and shapes, ragged lists, tensors, ``None``, bytes, empty and over-long text, ...).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from teachgym.domains.text import EXAMPLE_CHARSET, MAX_EXAMPLE_CHARS
from tests.conftest import valid_action

# Every strategy draws ``(kind, action)``: ``"valid"`` must be accepted (unless the observation's
# ``action_mask`` forbids it), ``"bad"`` must be refused, ``"any"`` may go either way.
Tagged = tuple[str, Any]


def _tagged(**kinds: st.SearchStrategy[Any]) -> st.SearchStrategy[Tagged]:
    """A kind, then an action of that kind (``one_of`` would weigh kinds by their number of branches)."""
    return st.sampled_from(list(kinds)).flatmap(lambda kind: kinds[kind].map(lambda action: (kind, action)))


def _pick(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``strategies``, each drawn about equally often however many branches it has."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


class _Opaque:
    """An object numpy can only hold as ``dtype=object``."""

    def __repr__(self) -> str:
        return "<opaque>"


class _BrokenArray:
    """An object whose conversion to an array fails (as a torch tensor that requires grad does)."""

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise KeyError("no array here")

    def __repr__(self) -> str:
        return "<broken array>"


_HUGE = [1e308, -1e308, 2**70, -(2**70), 2**63, 2**64, -(2**63) - 1]
_NON_FINITE = [math.nan, math.inf, -math.inf]

#: Values that no action space accepts: not a number array, not a sequence of pairs.
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.just(np.bool_(True)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([*_HUGE, *_NON_FINITE, np.float64(1.0), np.float32(np.nan), 1e-320]),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.just(10_000).map(lambda n: "x" * n),
    st.binary(max_size=20),
    st.just(b"\xff\xfe\x00"),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(_Opaque),
    st.builds(_BrokenArray),
    st.just(frozenset({1, 2})),
    st.just(np.datetime64("2024-01-01")),
    st.just(np.empty((0,))),
    st.just(np.empty((0, 3), np.int64)),
    st.just(np.array("1")),
)

_RAGGED = st.sampled_from([[[1.0], [1.0, 2.0]], [1, [2]], [[]], [None], ["1"], [[1, 2], [3]], [{}]])


def _requires_grad(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.ones(shape, requires_grad=True)


# Box: allocation weights -----------------------------------------------------------------------
_FLOAT_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])
_INT_DTYPES = st.sampled_from([np.int8, np.int64, np.uint8, np.uint64])


def box_actions(space: gym.spaces.Box) -> dict[str, st.SearchStrategy[Any]]:
    shape = space.shape
    unit = hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0))
    positive = hnp.arrays(np.float32, shape, elements=st.floats(0.0, 1.0, width=32)).filter(
        lambda w: w.sum() > 0
    )

    def with_bad_entry(weights: np.ndarray, index: int, bad: float) -> np.ndarray:
        weights = weights.copy()
        weights.flat[index % weights.size] = bad
        return weights

    outside = st.one_of(
        st.floats(min_value=1.0, exclude_min=True),
        st.floats(max_value=0.0, exclude_max=True),
        st.sampled_from([*_NON_FINITE, 1e308, -1e308, -5e-324, 1.0 + 2**-52]),
    )
    wrong_dtype = st.sampled_from([bool, np.complex128, object, "U3", "S3", "m8[s]", "M8[D]"]).map(
        lambda dtype: np.ones(shape, dtype) if dtype is not object else np.full(shape, 1.0, object)
    )
    wrong_shape = hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=10).filter(lambda s: s != shape),
        elements=st.floats(0.0, 1.0, width=32),
    )
    valid = positive
    anything = _pick(
        st.tuples(unit, _FLOAT_DTYPES).map(lambda a: a[0].astype(a[1])),
        st.tuples(hnp.arrays(np.int64, shape, elements=st.integers(0, 1)), _INT_DTYPES).map(
            lambda a: a[0].astype(a[1])
        ),
        unit.map(lambda w: w.tolist()),  # nested lists
        unit.map(torch.from_numpy),
        st.integers(0, 2**32 - 1).map(lambda s: valid_action(space, 0, np.random.default_rng(s))),
        st.just(np.where(np.arange(int(np.prod(shape))).reshape(shape) == 0, 5e-324, 0.0)),  # subnormal
    )
    bad = _pick(
        _JUNK,
        st.integers(),
        st.tuples(unit, st.integers(0, 10**6), outside).map(lambda a: with_bad_entry(*a)),
        st.tuples(unit, st.integers(0, 10**6), outside).map(lambda a: with_bad_entry(*a).tolist()),
        hnp.arrays(np.int64, shape).filter(lambda w: (w < 0).any() or (w > 1).any()),
        st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.uint8]).map(
            lambda dtype: np.zeros(shape, dtype)
        ),
        wrong_dtype,
        wrong_shape,
        wrong_shape.map(lambda w: w.tolist()),
        st.just(np.full(shape, 2**70, object).tolist()),  # Python ints beyond int64
        st.just(np.full(shape, 2**64 - 1, np.uint64)),
        _RAGGED,
        st.just(np.ma.masked_array(np.ones(shape), mask=np.zeros(shape, bool))),
        st.just(shape).map(_requires_grad),
        st.just(np.ones((1, *shape), np.float32)),
        st.just(np.empty((*shape, 0))),
    )
    return {"valid": valid, "any": anything, "bad": bad}


# Discrete: one choice --------------------------------------------------------------------------
def _int_forms(value: int) -> st.SearchStrategy[Any]:
    """Ways to pass the integer ``value``: Python, numpy scalars that hold it, 0-d and one-element
    arrays, a one-element list, torch tensors."""
    forms: list[Any] = [value, np.array(value), np.array([value]), [value]]
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64):
        info = np.iinfo(dtype)
        if info.min <= value <= info.max:
            forms.append(dtype(value))
    if -(2**63) <= value < 2**63:
        forms += [torch.tensor(value), torch.tensor([value])]
    return st.sampled_from(forms)


def discrete_actions(space: gym.spaces.Discrete) -> dict[str, st.SearchStrategy[Any]]:
    low, high = int(space.start), int(space.start + space.n - 1)
    in_range = st.integers(low, high)
    out_of_range = st.one_of(
        st.integers(max_value=low - 1), st.integers(min_value=high + 1), st.sampled_from([2**70, -(2**70)])
    )
    bad = _pick(
        _JUNK,
        out_of_range.flatmap(_int_forms),
        st.floats(),  # NaN, inf, 1.5 and whole floats alike
        in_range.map(float),
        in_range.map(np.float64),
        in_range.map(lambda v: np.array([v], np.float32)),
        in_range.map(lambda v: np.array([[v]])),  # one entry, but two dimensions
        in_range.map(str),
        in_range.map(lambda v: str(v).encode()),
        in_range.map(complex),
        st.sampled_from([True, False, np.bool_(False), np.array(True)]),
        hnp.arrays(
            np.int64,
            hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4).filter(
                lambda s: int(np.prod(s)) != 1
            ),
            elements=in_range,
        ),
        st.lists(in_range, min_size=2, max_size=4),
        st.just([]),
        _RAGGED,
        st.just(np.uint64(2**64 - 1)),
        st.just(torch.tensor(1.0, requires_grad=True)),
    )
    return {"valid": in_range.map(np.int64), "any": in_range.flatmap(_int_forms), "bad": bad}


# Text: (prompt, answer) pairs ------------------------------------------------------------------
_CHARSET = "".join(sorted(EXAMPLE_CHARSET))
_NUMBER = st.integers(0, 10**6) | st.integers(0, 10**60)
_PROMPT = st.one_of(
    st.builds("What is {} {} {}?".format, _NUMBER, st.sampled_from("+-*"), _NUMBER),
    st.builds("Which sign goes between {} and {}: <, > or =?".format, _NUMBER, _NUMBER),
    st.builds(
        "{} has {} apples, buys {} and gives away {}. How many apples does she have?".format,
        st.sampled_from(["Ann", "Zed"]),
        _NUMBER,
        _NUMBER,
        _NUMBER,
    ),
)
_ANSWER = st.one_of(st.integers(-(10**60), 10**60).map(str), st.sampled_from(["<", ">", "=", " 85. ", "085"]))
_TEXT_EDGES = [
    "",
    " ",
    "\n",
    "What is 1 + 1?\nWhat is 2 + 2?",
    "\t1",
    "\x00",
    "é",
    "数学",
    "\ud800",  # a lone surrogate: a str that is not valid UTF-8
]
#: Over-long texts, built when drawn (a strategy's repr would print them whole).
_LONG_TEXT = st.sampled_from(
    [("x", MAX_EXAMPLE_CHARS + 1), ("1", MAX_EXAMPLE_CHARS), ("x", 10_000), ("What is 1 + 1?", 1000)]
).map(lambda unit_count: unit_count[0] * unit_count[1])
_TEXT = st.one_of(
    _PROMPT,
    _ANSWER,
    st.text(alphabet=_CHARSET, max_size=30),
    st.text(max_size=30),
    st.sampled_from(_TEXT_EDGES),
    _LONG_TEXT,
    st.binary(max_size=20),
    st.sampled_from([b"What is 1 + 1?", b"2", b"\xff\xfe", b"\x80"]),
    st.sampled_from([None, 2, 2.0, math.nan, ["2"], ("2",), np.str_("2"), np.array("2")]),
)
_GOOD_PAIR = st.tuples(_PROMPT, _ANSWER)
_PAIR = st.one_of(_GOOD_PAIR, st.tuples(_TEXT, _TEXT), st.lists(_TEXT, min_size=2, max_size=2))
_NON_PAIR = st.one_of(
    st.tuples(_TEXT),
    st.tuples(_TEXT, _TEXT, _TEXT),
    st.just(()),
    st.just("ab"),  # a str of two characters is not a pair
    st.just(b"ab"),
    st.just(np.array(["What is 1 + 1?", "2"])),
    st.just({"prompt": "What is 1 + 1?", "answer": "2"}),
    st.none(),
    st.integers(),
)


def _sequence(pairs: list[Any], as_list: bool) -> Any:
    return list(pairs) if as_list else tuple(pairs)


def text_actions(space: gym.spaces.Sequence) -> dict[str, st.SearchStrategy[Any]]:
    """Valid: at most ``max_length`` pairs of anything (bad content is dropped, not refused)."""
    max_pairs = int(space.max_length)  # type: ignore[attr-defined]
    accepted = st.builds(_sequence, st.lists(_PAIR, max_size=max_pairs), st.booleans())
    with_non_pair = st.builds(
        lambda pairs, index, non_pair, as_list: _sequence(
            [*pairs[: index % (len(pairs) + 1)], non_pair, *pairs[index % (len(pairs) + 1) :]], as_list
        ),
        st.lists(_GOOD_PAIR, max_size=max_pairs - 1),
        st.integers(0, max_pairs),
        _NON_PAIR,
        st.booleans(),
    )
    too_many = st.builds(
        lambda pair, count, as_list: _sequence([pair] * count, as_list),
        _PAIR,
        st.integers(max_pairs + 1, 10_000),
        st.booleans(),
    )
    bad = _pick(
        _JUNK,
        st.integers(),
        st.just(np.array([["What is 1 + 1?", "2"]])),
        with_non_pair,
        too_many,
    )
    return {"valid": accepted, "bad": bad}


def actions_by_kind(space: gym.Space) -> dict[str, st.SearchStrategy[Any]]:
    """The action strategies of ``space``: kind -> strategy."""
    if isinstance(space, gym.spaces.Box):
        return box_actions(space)
    if isinstance(space, gym.spaces.Discrete):
        return discrete_actions(space)
    if isinstance(space, gym.spaces.Sequence):
        return text_actions(space)
    raise NotImplementedError(f"no fuzzing strategy for {space}; add one here")


def action_strategy(space: gym.Space) -> st.SearchStrategy[Tagged]:
    """``(kind, action)`` pairs for ``space``, each kind drawn about equally often."""
    return _tagged(**actions_by_kind(space))


def bad_action_strategy(space: gym.Space) -> st.SearchStrategy[Any]:
    """Actions that ``space``'s envs must refuse."""
    return actions_by_kind(space)["bad"]

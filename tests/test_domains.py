"""Domains build what their docstrings describe: split sizes, label balance, rule geometry, transfer
and interference, difficulty structure, and clear refusals of bad options."""

from __future__ import annotations

import math

import numpy as np
import pytest

import teachgym
from teachgym.domains import DOMAINS, make_domain
from teachgym.domains.base import Items
from teachgym.domains.digits import DigitsDomain, _digits
from teachgym.domains.latent import LatentDomain
from teachgym.domains.synthetic import SyntheticDomain
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace
from teachgym.students.mlp import MLPStudent
from tests.conftest import make_env


def _rows(items: Items) -> set[bytes]:
    assert items.features is not None
    return {row.tobytes() for row in np.ascontiguousarray(items.features)}


# ----------------------------------------------------------------------------------------- digits
@pytest.mark.parametrize(("num_validation", "num_test"), [(30, 50), (5, 7)])
def test_digits_splits_have_the_stated_sizes_and_share_no_image(num_validation: int, num_test: int) -> None:
    domain = DigitsDomain(num_validation_per_class=num_validation, num_test_per_class=num_test)
    validation, test, train = domain.heldout("validation"), domain.heldout("test"), domain.train_pool()
    _, labels = _digits()
    class_sizes = np.bincount(labels, minlength=10)
    np.testing.assert_array_equal(np.bincount(validation.skill, minlength=10), num_validation)
    np.testing.assert_array_equal(np.bincount(test.skill, minlength=10), num_test)
    np.testing.assert_array_equal(
        np.bincount(train.skill, minlength=10), class_sizes - num_validation - num_test
    )
    for items in (validation, test, train):
        np.testing.assert_array_equal(items.answer, items.skill)  # a digit's skill is its class
        np.testing.assert_array_equal(items.level, 0)
    # The data set has no duplicate image, so distinct rows are distinct images.
    rows = [_rows(validation), _rows(test), _rows(train)]
    assert [len(r) for r in rows] == [len(validation), len(test), len(train)]
    assert not rows[0] & rows[1] and not rows[0] & rows[2] and not rows[1] & rows[2]
    assert len(rows[0] | rows[1] | rows[2]) == len(labels) == 1797  # every image used exactly once


def test_digits_split_is_fixed_by_seed() -> None:
    same = _rows(DigitsDomain(seed=0).heldout("test")) == _rows(DigitsDomain(seed=0).heldout("test"))
    other = _rows(DigitsDomain(seed=1).heldout("test")) != _rows(DigitsDomain(seed=0).heldout("test"))
    assert same and other


def test_digits_heldout_and_pool_arrays_are_read_only() -> None:
    domain = DigitsDomain()
    for items in (domain.heldout("validation"), domain.heldout("test"), domain.train_pool()):
        for name in ("skill", "level", "answer", "features"):
            array = getattr(items, name)
            assert not array.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -1}, "seed=-1"),
        ({"num_test_per_class": 0}, "num_test_per_class=0"),
        ({"num_validation_per_class": 2.0}, "num_validation_per_class=2.0"),
        ({"num_validation_per_class": 100, "num_test_per_class": 74}, "leaves no training image"),
    ],
)
def test_digits_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DigitsDomain(**options)


# -------------------------------------------------------------------------------------- synthetic
@pytest.mark.parametrize("difficulty", [None, (0.0, 0.5, 0.9, 1.0)], ids=["default", "up-to-1"])
def test_synthetic_labels_are_balanced_per_skill(difficulty: tuple[float, ...] | None) -> None:
    num_skills = 6 if difficulty is None else len(difficulty)
    domain = SyntheticDomain(num_skills=num_skills, difficulty=difficulty)
    skill = np.repeat(np.arange(num_skills), 20_000)
    items = domain.generate(skill, np.zeros_like(skill), np.random.default_rng(0))
    rate = np.bincount(skill, weights=items.answer) / np.bincount(skill)
    assert np.all((rate > 0.45) & (rate < 0.55)), rate
    # The reason stated in the docstring: reflecting f in the plane orthogonal to w_k flips the
    # sign of every score (whereas f -> -f does not once d_k > 0: the XOR term is even in f).
    assert items.features is not None
    f = items.features[:, num_skills:].astype(np.float64)
    w = domain.rule_directions[skill]
    reflected = f - 2.0 * (f * w).sum(axis=-1, keepdims=True) * w
    np.testing.assert_allclose(domain.score(skill, reflected), -domain.score(skill, f), atol=1e-9)


def test_synthetic_default_geometry_has_the_stated_cosines() -> None:
    domain = SyntheticDomain()
    c = domain.correlation
    w = domain.rule_directions
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(w @ domain.shared_direction, domain.signs * c, atol=1e-12)
    cosines = w @ w.T
    expected = np.outer(domain.signs, domain.signs) * c**2
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(cosines, expected, atol=1e-12)
    assert set(np.round(cosines[~np.eye(len(w), dtype=bool)], 12)) == {round(c**2, 12), round(-(c**2), 12)}
    np.testing.assert_array_equal(domain.signs, [1, 1, 1, 1, -1, -1])  # the last num_conflicting
    np.testing.assert_allclose((w * domain.xor_directions).sum(axis=1), 0.0, atol=1e-12)


def test_synthetic_skill_trained_alone_transfers_and_interferes() -> None:
    # Skill 1 shares skill 0's sign, skill 2 conflicts; no XOR part, so the rules are linear.
    # cos(w_0, w_1) = +0.64 and cos(w_0, w_2) = -0.64: skill 0's own rule scores
    # 1 - arccos(0.64) / pi = 0.72 on skill 1 and 0.28 on skill 2.
    domain = SyntheticDomain(num_skills=3, num_conflicting=1, correlation=0.8, difficulty=(0.0, 0.0, 0.0))
    student = MLPStudent(
        domain.num_features, 2, domain.skills, 8, num_hidden=16, learning_rate=0.02, num_epochs=1
    )
    student.reset(np.random.SeedSequence(0))
    validation = domain.heldout("validation")
    before = student.assess(validation).accuracy.mean(axis=0)
    rng = np.random.default_rng(0)
    only_skill_0 = np.zeros((student.num_members, 64), np.int64)
    for _ in range(8):
        student.learn(domain.generate(only_skill_0, np.zeros_like(only_skill_0), rng))
    after = student.assess(validation).accuracy.mean(axis=0)  # mean over the 8 members
    assert np.all(np.abs(before - 0.5) < 0.1), before  # untrained members are near chance
    assert after[0] > 0.85, after
    assert after[1] > 0.6, after  # transfer to the same-sign skill
    assert after[2] < 0.4, after  # interference with the conflicting skill


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_latent_features": 1}, "num_latent_features=1"),
        ({"num_conflicting": 7}, "num_conflicting=7"),
        ({"correlation": 1.0}, "correlation=1.0"),
        ({"correlation": math.nan}, "correlation=nan"),
        ({"num_skills": 0}, "num_skills=0"),
        ({"difficulty": (0.1, 0.2)}, "difficulty="),
        ({"difficulty": (0.0, 0.2, 0.4, 0.6, 0.8, 1.2)}, "difficulty="),
    ],
)
def test_synthetic_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SyntheticDomain(**options)


def test_synthetic_num_features_is_the_student_input_size() -> None:
    domain = SyntheticDomain(num_skills=4, num_latent_features=9)
    assert domain.num_latent_features == 9
    assert domain.num_features == 4 + 9
    features = domain.heldout("validation").features
    assert features is not None and features.shape[-1] == domain.num_features
    with pytest.raises(ConfigError, match=r"unexpected keyword argument 'num_features'"):
        make_domain("synthetic", {"num_features": 16})  # the old name of num_latent_features


# ----------------------------------------------------------------------------------------- latent
def test_latent_item_difficulties_centre_on_the_cell_means() -> None:
    domain = LatentDomain(item_sd=0.4)
    skills = domain.skills
    num_per_cell = 4_000
    cells = np.arange(skills.num_skills * skills.num_levels)
    skill = np.repeat(cells // skills.num_levels, num_per_cell)
    level = np.repeat(cells % skills.num_levels, num_per_cell)
    items = domain.generate(skill, level, np.random.default_rng(0))
    assert items.difficulty is not None
    difficulty = items.difficulty.reshape(len(cells), num_per_cell)
    means = domain.mean_difficulty().ravel()
    np.testing.assert_allclose(difficulty.mean(axis=1), means, atol=5 * 0.4 / math.sqrt(num_per_cell))
    np.testing.assert_allclose(difficulty.std(axis=1), 0.4, rtol=0.1)
    # Levels are evenly spaced over [-level_spread, +level_spread] within every skill.
    np.testing.assert_allclose(np.diff(domain.mean_difficulty(), axis=1), 1.5)
    for split in ("validation", "test"):
        heldout = domain.heldout(split)
        assert heldout.difficulty is not None
        per_cell = heldout.difficulty.reshape(len(cells), -1)
        assert per_cell.shape[1] == 30
        np.testing.assert_allclose(per_cell.mean(axis=1), means, atol=5 * 0.4 / math.sqrt(30))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"skills": "chess"}, "skills='chess'"),
        ({"skills": None}, "skills=None"),
        ({"seed": -1}, "seed=-1"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"seed": True}, "seed=True"),
        ({"num_heldout": 0}, "num_heldout=0"),
        ({"skill_spread": -0.1}, "skill_spread=-0.1"),
        ({"level_spread": math.nan}, "level_spread=nan"),
        ({"item_sd": math.inf}, "item_sd=inf"),
        ({"item_sd": 11.0}, "item_sd=11.0"),
        ({"skill_spread": "wide"}, "skill_spread='wide'"),
    ],
)
def test_latent_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LatentDomain(**options)


def test_latent_accepts_any_skill_space_and_zero_spreads() -> None:
    skills = SkillSpace(("a", "b"), num_levels=1)
    domain = LatentDomain(skills, num_heldout=2, skill_spread=0.0, level_spread=0.0, item_sd=0.0)
    np.testing.assert_array_equal(domain.heldout("test").difficulty, 0.0)


# ------------------------------------------------------------------------------------ all domains
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_domain_refuses_an_unknown_split(name: str) -> None:
    domain = make_domain(name)
    with pytest.raises(ConfigError, match="no held-out split 'train'"):
        domain.heldout("train")
    for split in ("validation", "test"):
        assert len(domain.heldout(split)) > 0


def _env_id_of(domain: str) -> str | None:
    """The first registered variant whose domain is ``domain``, read from the variant table."""
    for family, variants in teachgym.envs.VARIANTS.items():
        for variant, (version, kwargs) in variants.items():
            if kwargs.get("domain") == domain:
                return str(teachgym.envs.env_id(family, variant, version))
    return None


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_domain_refuses_an_unknown_option_through_gym_make(name: str) -> None:
    env_id = _env_id_of(name)
    with pytest.raises(ConfigError, match=r"domain '.*' got an unexpected keyword argument 'bogus'"):
        if env_id is None:  # a domain no env uses yet (arithmetic-text, issue 5): built directly
            make_domain(name, {"bogus": 1})
        else:
            make_env(env_id, domain_options={"bogus": 1})

"""The MLP population: independent members, reproducible seeding, the optimizer it claims, and
learning for real."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from teachgym.domains.base import Items
from teachgym.domains.digits import DigitsDomain
from teachgym.domains.synthetic import SyntheticDomain
from teachgym.engines import Plan, PoolEngine, allocate
from teachgym.errors import ConfigError
from teachgym.seeding import children
from teachgym.students.mlp import MLPStudent

NUM_SKILLS = 3


@pytest.fixture(scope="module")
def domain() -> SyntheticDomain:
    return SyntheticDomain(num_skills=NUM_SKILLS, num_conflicting=1, num_heldout=20, pool_size=1)


def _student(domain: SyntheticDomain, num_members: int = 1, **options: object) -> MLPStudent:
    options = {"num_hidden": 8, "minibatch_size": 5, **options}
    return MLPStudent(domain.num_features, 2, domain.skills, num_members, **options)  # type: ignore[arg-type]


def _batches(domain: SyntheticDomain, num_members: int, num_batches: int, seed: int = 0) -> list[Items]:
    """Different items for every member: ``(P, 13)`` batches of random skills."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(num_batches):
        skill = rng.integers(0, NUM_SKILLS, (num_members, 13))
        batches.append(domain.generate(skill, np.zeros_like(skill), rng))
    return batches


def _member(batch: Items, p: int) -> Items:
    """Member ``p``'s share of a population batch, as a batch for a population of one."""
    assert batch.features is not None
    return Items(
        batch.skill[p : p + 1], batch.level[p : p + 1], batch.answer[p : p + 1], batch.features[p : p + 1]
    )


def _weights(student: MLPStudent) -> list[torch.Tensor]:
    return [t.detach().clone() for t in (student.w1, student.b1, student.w2, student.b2)]


def _assert_same(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


def test_children_do_not_mutate_and_match_a_fresh_spawn() -> None:
    seed = np.random.SeedSequence(11)
    first = children(seed, 4)
    assert seed.n_children_spawned == 0
    states = [c.generate_state(4).tolist() for c in first]
    assert [c.generate_state(4).tolist() for c in children(seed, 4)] == states
    assert [c.generate_state(4).tolist() for c in children(seed, 2)] == states[:2]
    # On a fresh seed, the same children as spawn (so existing seeded results do not change).
    assert [c.generate_state(4).tolist() for c in np.random.SeedSequence(11).spawn(4)] == states
    with pytest.raises(ConfigError, match="num_children=-1"):
        children(seed, -1)


def test_population_members_equal_single_students(domain: SyntheticDomain) -> None:
    seed = np.random.SeedSequence(7)
    population = _student(domain, 3)
    population.reset(seed)
    batches = _batches(domain, 3, 3)
    for batch in batches:
        population.learn(batch)
    for p in range(3):
        alone = _student(domain, 1)
        alone.reset_members([children(seed, 3)[p]])
        for batch in batches:
            alone.learn(_member(batch, p))
        _assert_same([w[p : p + 1] for w in _weights(population)], _weights(alone))


def test_reset_twice_with_the_same_seed_object_is_the_same_student(domain: SyntheticDomain) -> None:
    seed = np.random.SeedSequence(3)
    student = _student(domain, 2)
    student.reset(seed)
    first = _weights(student)
    student.learn(_batches(domain, 2, 1)[0])
    student.reset(seed)
    _assert_same(_weights(student), first)
    other = _student(domain, 2)
    other.reset(np.random.SeedSequence(4))
    assert not torch.equal(other.w1, student.w1)


def test_adam_matches_torch_optim_adam(domain: SyntheticDomain) -> None:
    learning_rate = 0.01
    # One minibatch holding the whole batch, one pass: one Adam update per learn() call.
    student = _student(domain, 1, learning_rate=learning_rate, minibatch_size=13, num_epochs=1)
    student.reset(np.random.SeedSequence(5))
    initial = _weights(student)
    reference = [w[0].clone().requires_grad_(True) for w in initial]
    optimizer = torch.optim.Adam(reference, lr=learning_rate)
    for batch in _batches(domain, 1, 5):
        student.learn(batch)
        assert batch.features is not None
        x = torch.as_tensor(batch.features[0])
        y = torch.as_tensor(batch.answer[0])
        w1, b1, w2, b2 = reference
        loss = F.cross_entropy(torch.relu(x @ w1 + b1) @ w2 + b2, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for ours, theirs, start in zip(_weights(student), reference, initial, strict=True):
        torch.testing.assert_close(ours[0], theirs.detach(), rtol=0.0, atol=1e-6)
        # Each Adam step moves a weight by up to about lr, so the test has teeth at atol 1e-6.
        assert float((ours - start).abs().max()) > learning_rate


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_pickling_mid_training_continues_identically(domain: SyntheticDomain, optimizer: str) -> None:
    student = _student(domain, 2, optimizer=optimizer)
    student.reset(np.random.SeedSequence(9))
    batches = _batches(domain, 2, 4)
    for batch in batches[:2]:
        student.learn(batch)
    copy = pickle.loads(pickle.dumps(student))
    for batch in batches[2:]:
        student.learn(batch)
        copy.learn(batch)
    _assert_same(_weights(copy), _weights(student))
    heldout = domain.heldout("validation")
    np.testing.assert_array_equal(copy.attempt(heldout), student.attempt(heldout))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_hidden": 0}, "num_hidden=0"),
        ({"learning_rate": -1}, "learning_rate=-1"),
        ({"learning_rate": float("nan")}, "learning_rate=nan"),
        ({"optimizer": "rmsprop"}, "optimizer='rmsprop'"),
        ({"num_epochs": 1.5}, "num_epochs=1.5"),
        ({"minibatch_size": True}, "minibatch_size=True"),
    ],
)
def test_bad_options_are_refused(domain: SyntheticDomain, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _student(domain, **options)


def test_items_without_features_are_refused(domain: SyntheticDomain) -> None:
    student = _student(domain)
    shape = (1, 4)
    latent = Items(
        np.zeros(shape, np.int64),
        np.zeros(shape, np.int64),
        np.ones(shape, np.int64),
        difficulty=np.zeros(shape),
    )
    with pytest.raises(ConfigError, match="needs items with features"):
        student.learn(latent)
    with pytest.raises(ConfigError, match="needs items with features"):
        student.attempt(latent.reshape(4))


def test_learning_raises_heldout_accuracy_on_digits() -> None:
    domain = DigitsDomain()
    skills = domain.skills
    student = MLPStudent(domain.num_features, domain.num_classes, skills, 2)
    student.reset(np.random.SeedSequence(0))
    engine = PoolEngine(domain.train_pool(), skills.num_skills, skills.num_levels)
    plan = Plan(allocate(np.ones((2, skills.num_skills, skills.num_levels)), 64))
    validation = domain.heldout("validation")
    before = student.assess(validation).mean
    rng = np.random.default_rng(0)
    for _ in range(15):
        student.learn(engine.generate(plan, rng))
    after = student.assess(validation).mean
    assert np.all(before < 0.3)  # ten classes: an untrained network is near chance
    assert np.all(after > before + 0.5), (before, after)

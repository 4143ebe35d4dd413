"""The Curriculum family: the addition domain and its GRU student, steps to threshold, class-incremental
replay, and why the order of sub-tasks matters."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

from teachgym.domains.addition import AdditionDomain
from teachgym.domains.base import Items, grade_exact
from teachgym.envs.curriculum import CurriculumPlan
from teachgym.errors import ConfigError
from teachgym.seeding import children
from teachgym.students.sequence import GRUStudent

ADDITION = "teachgym/Curriculum-Addition-v0"
CLASS_INCREMENTAL = "teachgym/Curriculum-ClassIncremental-Digits-v0"


@pytest.fixture(scope="module")
def domain() -> AdditionDomain:
    return AdditionDomain()


def _batch(domain: AdditionDomain, skill: np.ndarray, rng: np.random.Generator) -> Items:
    skill = np.asarray(skill)
    return domain.generate(skill, np.zeros_like(skill), rng)


# ------------------------------------------------------------------------------------ domain
def test_items_encode_aligned_digits_and_the_sum(domain: AdditionDomain) -> None:
    items = domain.encode(np.array([1, 3]), np.array([457, 99999]), np.array([968, 10000]))
    assert items.features is not None and items.features.shape == (2, 6 * 20)
    features = items.features.reshape(2, 6, 20)
    # 457: digits 7, 5, 4 least significant first, then "no digit".
    np.testing.assert_array_equal(features[0, :, :10].argmax(axis=1)[:3], [7, 5, 4])
    np.testing.assert_array_equal(features[0, 3:].sum(axis=1), 0.0)
    np.testing.assert_array_equal(items.answer[0], [5, 2, 4, 1, 0, 0])  # 457 + 968 = 1425
    np.testing.assert_array_equal(items.answer[1], [9, 9, 9, 9, 0, 1])  # 109999
    a, b = domain.operands(items)
    np.testing.assert_array_equal(a, [457, 99999])
    np.testing.assert_array_equal(b, [968, 10000])


def test_operands_have_exactly_the_sub_tasks_number_of_digits(domain: AdditionDomain) -> None:
    rng = np.random.default_rng(0)
    skill = np.repeat(np.arange(4), 500)
    a, b = domain.operands(_batch(domain, skill, rng))
    for k, digits in enumerate(range(2, 6)):
        for operand in (a[skill == k], b[skill == k]):
            assert operand.min() >= 10 ** (digits - 1) and operand.max() < 10**digits


def test_a_sum_with_one_wrong_digit_is_wrong(domain: AdditionDomain) -> None:
    items = domain.heldout("validation")
    responses = items.answer.copy()
    assert grade_exact(items, responses).all()
    responses[0, 2] = (responses[0, 2] + 1) % 10
    responses[5, 0] = (responses[5, 0] + 3) % 10
    correct = grade_exact(items, responses)
    assert not correct[0] and not correct[5] and correct[1:5].all() and correct[6:].all()
    # The student's own assessment grades the same way: a sequence counts only when all of it is right.
    student = GRUStudent(domain.num_features, domain.num_classes, domain.skills)
    answers = student.attempt(items)[0]
    expected = grade_exact(items, answers).reshape(4, -1).mean(axis=1)
    np.testing.assert_allclose(student.assess(items).accuracy[0], expected)


def test_splits_are_disjoint_and_training_never_draws_a_heldout_pair() -> None:
    def pairs(domain: AdditionDomain, items: Items) -> set[tuple[int, int, int]]:
        a, b = domain.operands(items)
        return set(zip(items.skill.ravel().tolist(), a.ravel().tolist(), b.ravel().tolist(), strict=True))

    # One digit: 100 pairs, 20 validation + 20 test held out, the other 60 are all training draws.
    small = AdditionDomain(num_digits=2, min_digits=1)
    validation, test = pairs(small, small.heldout("validation")), pairs(small, small.heldout("test"))
    assert len([p for p in validation if p[0] == 0]) == 20 and len([p for p in test if p[0] == 0]) == 20
    assert not validation & test
    train = pairs(small, _batch(small, np.zeros(5000, np.int64), np.random.default_rng(0)))
    assert len(train) == 60 and not train & (validation | test)
    # Three digits with a quarter of all pairs held out: the sampled path redraws thousands of collisions.
    large = AdditionDomain(num_digits=3, min_digits=3, num_heldout=100_000, max_heldout_fraction=0.49)
    validation, test = pairs(large, large.heldout("validation")), pairs(large, large.heldout("test"))
    assert len(validation) == len(test) == 100_000 and not validation & test
    train = pairs(large, _batch(large, np.zeros(20_000, np.int64), np.random.default_rng(1)))
    assert not train & (validation | test)


def test_heldout_splits_are_fixed_by_the_domain_seed() -> None:
    a, b, c = AdditionDomain(seed=3), AdditionDomain(seed=3), AdditionDomain(seed=4)
    assert a.heldout("test").features is not None and c.heldout("test").features is not None
    np.testing.assert_array_equal(a.heldout("test").features, b.heldout("test").features)
    assert not np.array_equal(a.heldout("test").features, c.heldout("test").features)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_digits": 10}, "num_digits=10"),
        ({"min_digits": 6}, "min_digits=6"),
        ({"num_heldout": 0}, "num_heldout=0"),
        ({"max_heldout_fraction": 0.5}, "max_heldout_fraction=0.5"),
    ],
)
def test_bad_domain_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AdditionDomain(**options)


# ------------------------------------------------------------------------------------ GRU student
def test_gru_learns_addition(domain: AdditionDomain) -> None:
    """80 steps of 128 two-digit sums take the two-digit sub-task from 0 to >= 80% exact sums."""
    student = GRUStudent(domain.num_features, domain.num_classes, domain.skills)
    student.reset(np.random.SeedSequence(0))
    validation = domain.heldout("validation")
    assert student.assess(validation).accuracy[0, 0] == 0.0
    rng = np.random.default_rng(0)
    for _ in range(80):
        student.learn(_batch(domain, np.zeros((1, 128), np.int64), rng))
    accuracy = student.assess(validation).accuracy[0]
    assert accuracy[0] >= 0.8, accuracy


def _member(batch: Items, p: int) -> Items:
    assert batch.features is not None
    return Items(
        batch.skill[p : p + 1], batch.level[p : p + 1], batch.answer[p : p + 1], batch.features[p : p + 1]
    )


def test_population_members_equal_single_students(domain: AdditionDomain) -> None:
    seed = np.random.SeedSequence(5)
    options = {"num_hidden": 16, "minibatch_size": 8}
    population = GRUStudent(domain.num_features, domain.num_classes, domain.skills, 3, **options)
    population.reset(seed)
    rng = np.random.default_rng(0)
    batches = [_batch(domain, rng.integers(0, 4, (3, 24)), rng) for _ in range(3)]
    for batch in batches:
        population.learn(batch)
    validation = domain.heldout("validation")
    answers = population.attempt(validation)
    for p, child in enumerate(children(seed, 3)):
        single = GRUStudent(domain.num_features, domain.num_classes, domain.skills, 1, **options)
        single.reset_members([child])
        for batch in batches:
            single.learn(_member(batch, p))
        for mine, theirs in zip(single._parameters, population._parameters, strict=True):
            assert torch.equal(mine[0], theirs[p])
        np.testing.assert_array_equal(single.attempt(validation)[0], answers[p])


def test_student_pickles_and_continues_identically(domain: AdditionDomain) -> None:
    student = GRUStudent(domain.num_features, domain.num_classes, domain.skills, num_hidden=16)
    student.reset(np.random.SeedSequence(1))
    rng = np.random.default_rng(1)
    student.learn(_batch(domain, np.zeros((1, 40), np.int64), rng))
    clone = pickle.loads(pickle.dumps(student))
    batch = _batch(domain, np.ones((1, 40), np.int64), rng)
    student.learn(batch)
    clone.learn(batch)
    for mine, theirs in zip(student._parameters, clone._parameters, strict=True):
        assert torch.equal(mine, theirs)


def test_student_refuses_bad_items(domain: AdditionDomain) -> None:
    student = GRUStudent(domain.num_features, domain.num_classes, domain.skills)
    batch = _batch(domain, np.zeros((1, 4), np.int64), np.random.default_rng(0))
    assert batch.features is not None
    with pytest.raises(ConfigError, match="T \\* 20"):
        student.learn(Items(batch.skill, batch.level, batch.answer, batch.features[..., :-3]))
    with pytest.raises(ConfigError, match="tokens in \\[0, 10\\)"):
        student.learn(Items(batch.skill, batch.level, batch.answer + 10, batch.features))
    with pytest.raises(ConfigError, match="needs items with features"):
        student.attempt(Items(batch.skill, batch.level, batch.answer))
    with pytest.raises(ConfigError, match="num_hidden=0"):
        GRUStudent(domain.num_features, domain.num_classes, domain.skills, num_hidden=0)


# ------------------------------------------------------------------------------------ env
class _LastClassStudent:
    """Scripted student: knows exactly the class that made up most of its last batch."""

    num_members = 1

    def __init__(self) -> None:
        self.known = -1

    def reset_each(self, seeds: list[np.random.SeedSequence]) -> None:
        self.known = -1

    def learn(self, batch: Items) -> int:
        self.known = int(np.bincount(batch.answer.ravel()).argmax())
        return 0

    def attempt(self, items: Items) -> np.ndarray:
        return np.where(items.answer == self.known, items.answer, (items.answer + 1) % 10)[None]


def _scripted_env(**kwargs: object) -> gym.Env:
    env = gym.make(CLASS_INCREMENTAL, replay_fraction=0.0, disable_env_checker=True, **kwargs)
    # The loop teaches and assesses its own student (a population of one member).
    env.unwrapped.loop.student = env.unwrapped.student = _LastClassStudent()
    return env


def test_steps_to_threshold_and_forgetting_on_a_scripted_student() -> None:
    env = _scripted_env()
    obs, info = env.reset(seed=0)
    assert info["steps_to_threshold"] == {}
    np.testing.assert_array_equal(obs["last_task"], 0.0)
    np.testing.assert_array_equal(obs["introduced"], 0.0)
    for choice in (4, 4, 7, 2, 7):
        obs, *_, info = env.step(choice)
    assert info["steps_to_threshold"] == {"digit-4": 1, "digit-7": 3, "digit-2": 4}
    assert info["forgetting"] == {"digit-4": 1.0, "digit-2": 1.0, "digit-7": 0.0}  # introduced only
    np.testing.assert_array_equal(obs["last_task"], np.eye(10)[7])
    np.testing.assert_array_equal(obs["introduced"], np.isin(np.arange(10), [2, 4, 7]))
    obs, info = env.reset(seed=0)
    assert info["steps_to_threshold"] == {} and not obs["introduced"].any()


def test_threshold_is_a_setting() -> None:
    env = _scripted_env(threshold=1.0)
    env.reset(seed=0)
    *_, info = env.step(3)
    assert info["steps_to_threshold"] == {"digit-3": 1}


def _counts_of_each_step(replay_fraction: float, choices: list[int]) -> np.ndarray:
    """Examples of each class the student was given at each step, ``(steps, 10)``."""
    env = gym.make(CLASS_INCREMENTAL, replay_fraction=replay_fraction, num_steps=len(choices))
    student = env.unwrapped.student
    counts = []
    learn = student.learn

    def spy(batch: Items) -> int:
        counts.append(np.bincount(batch.answer.ravel(), minlength=10))
        return learn(batch)

    student.learn = spy
    env.reset(seed=0)
    for choice in choices:
        env.step(choice)
    return np.array(counts)


def test_class_incremental_replay_mixes_as_documented() -> None:
    counts = _counts_of_each_step(0.25, [3, 5, 7, 3, *[9] * 40])
    assert counts.sum(axis=1).tolist() == [64] * 44
    np.testing.assert_array_equal(counts[0], 64 * np.eye(10, dtype=int)[3])  # nothing to replay yet
    np.testing.assert_array_equal(counts[1], 48 * np.eye(10, dtype=int)[5] + 16 * np.eye(10, dtype=int)[3])
    assert (
        counts[2, 7] == 48 and counts[2, [3, 5]].sum() == 16 and counts[2, [0, 1, 2, 4, 6, 8, 9]].sum() == 0
    )
    # Choosing an introduced class again replays the *other* introduced ones.
    assert counts[3, 3] == 48 and counts[3, [5, 7]].sum() == 16 and counts[3, 9] == 0
    # The replayed class is drawn uniformly among the introduced ones: 40 steps x 16 = 640 draws over
    # classes 3, 5, 7 (about 213 each; a binomial's sd is 12).
    replayed = counts[5:, [3, 5, 7]].sum(axis=0)
    assert counts[5:, 9].tolist() == [48] * 39 and np.all(np.abs(replayed - 640 * 39 / 40 / 3) < 50)


def test_without_replay_a_step_trains_on_the_chosen_class_only() -> None:
    counts = _counts_of_each_step(0.0, [1, 2, 1])
    np.testing.assert_array_equal(counts, 64 * np.eye(10, dtype=int)[[1, 2, 1]])


def _final_info(order: list[int]) -> dict:
    """The last ``info`` of an episode (seed 0) that teaches ``order``, each entry for an equal share
    of the steps."""
    env = gym.make(CLASS_INCREMENTAL)
    env.reset(seed=0)
    num_steps = env.unwrapped.num_steps
    for step in range(num_steps):
        *_, info = env.step(order[step * len(order) // num_steps])
    return info


def test_the_order_of_classes_matters() -> None:
    """Three steps per class, 0..9 or 9..0, or the classes interleaved: different classes survive,
    some are forgotten, and interleaving forgets least."""
    forward, backward = _final_info(list(range(10))), _final_info(list(range(9, -1, -1)))
    interleaved = _final_info(list(range(10)) * 3)
    profiles = [np.array(list(info["test_profile"].values())) for info in (forward, backward)]
    assert np.abs(profiles[0] - profiles[1]).max() > 0.3
    for info in (forward, backward):
        assert max(info["forgetting"].values()) > 0.3  # a class once known is mostly lost
        assert interleaved["test_accuracy"] > info["test_accuracy"] + 0.03


def test_plan_changes_nothing_and_marks_the_choice() -> None:
    env = gym.make(CLASS_INCREMENTAL).unwrapped
    env.reset(seed=0)
    env.step(2)
    env.step(6)
    state = env.state
    before = (state.family.introduced.copy(), state.step.copy(), env.np_random.bit_generator.state)
    first, second = env.rules.plan(state, [4]).plan, env.rules.plan(state, [4]).plan
    assert isinstance(first, CurriculumPlan) and first.choice.tolist() == second.choice.tolist() == [4]
    assert first.counts.shape == (1, 10, 1) and first.counts[0, [2, 6]].sum() == 32  # replayed
    np.testing.assert_array_equal(first.counts, second.counts)
    assert env.state is state
    np.testing.assert_array_equal(before[0], state.family.introduced)
    np.testing.assert_array_equal(before[1], state.step)
    assert before[2] == env.np_random.bit_generator.state


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.0}, "threshold=0.0"),
        ({"threshold": 1.5}, "threshold=1.5"),
        ({"replay_fraction": 1.0}, "replay_fraction=1.0"),
        ({"replay_fraction": -0.1}, "replay_fraction=-0.1"),
        ({"threshold": "high"}, "threshold='high' has type str"),
        ({"domain": "sim", "student": "simulated", "engine": "procedural"}, "one difficulty level"),
        ({"student": "mlp"}, "student 'mlp' reads 'features'"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gym.make(ADDITION, **kwargs)


def test_action_space_and_observation_keys() -> None:
    env = gym.make(ADDITION)
    assert env.action_space == gym.spaces.Discrete(4)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"profile", "level_profile", "budget", "last_task", "introduced"}
    assert info["forgetting"] == {}  # no sub-task trained yet

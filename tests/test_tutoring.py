"""Tutor family: a hidden learner (no latent state in what the teacher sees), the tutoring teachers'
mechanisms on scripted answers, and the documented ranking of the teachers on Tutor-Sim-v0."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest

from teachgym import agents, tracing
from teachgym.envs.tutoring import LEARNER_POPULATION
from teachgym.errors import ConfigError, InvalidActionError
from teachgym.rollout import run_episode

SPARSE, DENSE = "teachgym/Tutor-Sim-v0", "teachgym/Tutor-Sim-Dense-v0"
#: What a tutor may see: the answers, the time, the known prerequisite graph.
OBSERVATION_KEYS = {"budget", "elapsed", "recent", "attempts", "correct", "since_practice", "prerequisites"}
#: ``info`` on every step but the last (no validation or test result before the end).
STEP_INFO_KEYS = {"step", "examples_used", "last_skill", "last_level", "last_correct",
                  "elapsed_time"}  # fmt: skip
#: Added on the last step only: the post-test (validation) and the hidden test.
FINAL_INFO_KEYS = {"profile", "mean_accuracy", "compute_used", "test_profile", "test_accuracy",
                   "initial_test_accuracy", "initial_accuracy", "validation_test_gap"}  # fmt: skip


class ScriptedAnswers:
    """Stands in for the learner when it answers an exercise (the real learner still learns from it):
    ``answer(skill, level, index)`` says whether the ``index``-th exercise is answered correctly."""

    def __init__(self, answer: Callable[[int, int, int], bool]) -> None:
        self.answer = answer
        self.count = 0

    def attempt(self, items):
        skill, level = int(items.skill.ravel()[0]), int(items.level.ravel()[0])
        correct = self.answer(skill, level, self.count)
        self.count += 1
        return np.full(items.skill.shape, int(correct))  # latent items' answer is 1


def scripted(env: gym.Env, answer: Callable[[int, int, int], bool]) -> gym.Env:
    """Replace the learner's answers to its exercises (the env's probe) by the script's: the family
    records the script's answers (the learner still answers, drawing from its own generator)."""
    script, rules = ScriptedAnswers(answer), env.unwrapped.rules
    recorded = rules.update
    rules.update = lambda state, lesson, answers, student: recorded(
        state, lesson, script.attempt(lesson.probe), student
    )
    return env


# ---------------------------------------------------------------------------------------- the env
def test_observation_space_has_no_latent_state() -> None:
    env = gym.make(SPARSE).unwrapped
    assert env.reveals_profile is False
    assert set(env.observation_space.spaces) == OBSERVATION_KEYS
    num_skills, num_levels = env.skills.num_skills, env.skills.num_levels
    shapes = {key: space.shape for key, space in env.observation_space.spaces.items()}
    assert shapes == {
        "budget": (1,),
        "elapsed": (1,),
        "recent": (env.rules.history_length, num_skills + num_levels + 1),
        "attempts": (num_skills, num_levels),
        "correct": (num_skills, num_levels),
        "since_practice": (num_skills,),
        "prerequisites": (num_skills, num_skills),
    }
    assert env.action_space == gym.spaces.Discrete(num_skills * num_levels)
    rules = env.rules
    assert all(rules.action_of(*rules.exercise(a)) == a for a in range(env.action_space.n))
    assert rules.exercise(5) == (1, 2)  # skill 5 // 3, level 5 % 3
    assert set(env.extra_info_keys) == STEP_INFO_KEYS - {"step", "examples_used"}


def test_two_learners_with_the_same_answers_are_seen_identically() -> None:
    """Learner A plays an episode; learner B (another seed, a tenth of A's learning rate) is given
    the same exercises and, through the scripted answers, the same answers. Every observation and
    every info entry before the post-test are equal, while the two learners' latent states differ:
    nothing the teacher sees depends on the hidden state except through the answers."""
    env_a = gym.make(SPARSE)
    slow = {**LEARNER_POPULATION, "learning_rate": 0.02, "initial_ability_mean": 0.5}
    env_b = gym.make(SPARSE, student_options=slow)
    obs_a, info_a = env_a.reset(seed=0)
    obs_b, info_b = env_b.reset(seed=1)
    answers: list[bool] = []
    scripted(env_b, lambda skill, level, index: answers[index])
    rng = np.random.default_rng(0)
    done = False
    while not done:
        for key in OBSERVATION_KEYS:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
        assert info_a == info_b and set(info_a) == STEP_INFO_KEYS
        action = np.int64(rng.integers(env_a.action_space.n))
        obs_a, reward_a, _, done, info_a = env_a.step(action)
        answers.append(bool(info_a["last_correct"]))
        obs_b, reward_b, _, _, info_b = env_b.step(action)
        assert reward_a == reward_b == 0.0 or done
    for key in OBSERVATION_KEYS:
        np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
    assert set(info_a) == set(info_b) == STEP_INFO_KEYS | FINAL_INFO_KEYS
    assert {k: info_a[k] for k in STEP_INFO_KEYS} == {k: info_b[k] for k in STEP_INFO_KEYS}
    # ... and yet the learners differ, in latent ability and on the post-test.
    ability_a, ability_b = env_a.unwrapped.student.ability(), env_b.unwrapped.student.ability()
    assert np.abs(ability_a - ability_b).mean() > 0.5
    assert info_a["mean_accuracy"] != info_b["mean_accuracy"]


def test_observation_is_the_answer_history() -> None:
    """Every observed number is a count or a time the tutor could keep itself."""
    env = gym.make(SPARSE, num_steps=12, history_length=4)
    obs, _ = env.reset(seed=3)
    num_skills, num_levels = env.unwrapped.skills.num_skills, env.unwrapped.skills.num_levels
    assert not obs["recent"].any() and not obs["attempts"].any() and np.all(obs["since_practice"] == 1)
    history = []
    for step, action in enumerate([0, 4, 4, 23, 0, 10]):
        obs, _, _, _, info = env.step(action)
        skill, level = divmod(action, num_levels)
        history.append((skill, level, info["last_correct"]))
        assert (info["last_skill"], info["last_level"]) == (env.unwrapped.skills.names[skill], level)
        assert obs["budget"][0] == pytest.approx(1 - (step + 1) / 12)
        assert obs["elapsed"][0] == pytest.approx((step + 1) / 12)
    for row, (skill, level, correct) in zip(obs["recent"], reversed(history[-4:]), strict=True):
        expected = np.zeros(num_skills + num_levels + 1)
        expected[[skill, num_skills + level]] = 1
        expected[-1] = correct
        np.testing.assert_array_equal(row, expected)
    attempts = np.zeros((num_skills, num_levels))
    correct = np.zeros((num_skills, num_levels))
    for skill, level, right in history:
        attempts[skill, level] += 1
        correct[skill, level] += right
    np.testing.assert_allclose(obs["attempts"], attempts / 12)
    np.testing.assert_allclose(obs["correct"], correct / 12)
    # Skill 0 last practised at time 5 of 6, skill 1 (action 4) at 3, skill 3 (action 10) at 6.
    assert obs["since_practice"][[0, 1, 3]] == pytest.approx(np.array([1, 3, 0]) / 12)
    np.testing.assert_array_equal(obs["prerequisites"], env.unwrapped.skills.prerequisite_matrix())


def test_sparse_and_dense_rewards_telescope_to_the_same_post_test_gain() -> None:
    actions = np.random.default_rng(1).integers(24, size=150)
    rewards, final = {}, {}
    for env_id in (SPARSE, DENSE):
        env = gym.make(env_id)
        env.reset(seed=4)
        rewards[env_id] = []
        for action in actions:
            _, reward, _, _, final[env_id] = env.step(action)
            rewards[env_id].append(reward)
    info = final[SPARSE]
    gain = info["mean_accuracy"] - info["initial_accuracy"]
    assert final[DENSE]["mean_accuracy"] == info["mean_accuracy"]  # the same learner and exercises
    assert all(r == 0.0 for r in rewards[SPARSE][:-1])
    assert rewards[SPARSE][-1] == pytest.approx(gain)
    assert sum(rewards[DENSE]) == pytest.approx(gain)
    assert np.count_nonzero(rewards[DENSE]) > 100


def test_one_exercise_is_answered_before_it_is_learned() -> None:
    """The answer comes from the learner's state before the exercise: a learner who cannot learn
    (learning rate 0) answers the same as one who can, given the same random stream."""
    frozen = {**LEARNER_POPULATION, "learning_rate": 0.0, "learning_rate_sd": 0.0}
    learning = {**LEARNER_POPULATION, "learning_rate_sd": 0.0}
    first = []
    for options in (frozen, learning):
        env = gym.make(SPARSE, student_options=options)
        env.reset(seed=2)
        first.append(env.step(3)[4]["last_correct"])
    assert first[0] == first[1]


def test_breaks_between_sessions_let_the_learner_forget() -> None:
    actions = [0, 1, 3, 0, 1] * 3
    ability, elapsed = {}, {}
    for gap in (0.0, 200.0):
        env = gym.make(SPARSE, num_steps=15, session_length=5, break_length=gap)
        obs, _ = env.reset(seed=0)
        for a in actions[:6]:
            obs, *_, info = env.step(a)
        ability[gap] = env.unwrapped.student.ability()[0]
        elapsed[gap] = (obs["elapsed"][0], info["elapsed_time"], env.unwrapped.student.clock.item())
    assert elapsed[0.0] == pytest.approx((6 / 15, 6, 6))
    # Two breaks in 15 exercises of sessions of 5; one taken after the fifth exercise.
    assert elapsed[200.0] == pytest.approx((206 / 415, 206, 206))
    assert ability[200.0][0] < ability[0.0][0] - 0.1  # counting, practised before the break


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"examples_per_step": 2}, "examples_per_step=2"),
        ({"reward": "happiness"}, "reward='happiness'"),
        ({"history_length": 0}, "history_length=0"),
        ({"session_length": -1}, "session_length=-1"),
        ({"break_length": -1.0}, "break_length=-1.0"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gym.make(SPARSE, **kwargs)


def test_bad_exercises_are_refused() -> None:
    env = gym.make(SPARSE)
    env.reset(seed=0)
    for action in (24, -1, 2.0, np.array([1, 2])):
        with pytest.raises(InvalidActionError):
            env.step(action)


def test_an_episode_is_fast() -> None:
    env = gym.make(SPARSE)
    result = run_episode(env, agents.make("irt-zpd", env), seed=0)
    assert len(result.curve) == 150 and result.wall_time < 0.5


# ------------------------------------------------------------------------------ teacher mechanisms
def play(name: str, answer: Callable[[int, int, int], bool], num_steps: int, **knobs) -> tuple[list, object]:
    """The exercises ``(skill, level)`` a teacher gives a learner whose answers are scripted."""
    env = scripted(gym.make(SPARSE, num_steps=num_steps), answer)
    teacher = agents.make(name, env, **knobs)
    obs, info = env.reset(seed=0)
    teacher.reset(env.observation_space, env.action_space, seed=0)
    exercises = []
    for _ in range(num_steps):
        action = teacher.act(obs, info)
        exercises.append(env.unwrapped.rules.exercise(action))
        obs, reward, terminated, truncated, info = env.step(action)
        teacher.observe(obs, reward, terminated, truncated, info)
    return exercises, teacher


def _order() -> list[int]:
    return gym.make(SPARSE).unwrapped.skills.topological_order()


def test_bkt_mastery_advances_after_mastery_in_prerequisite_order() -> None:
    # With the default parameters, three correct answers take P(known) from 0.2 past 0.95.
    params = tracing.BKTParams()
    needed = int(np.argmax(tracing.trace([1] * 10, params) >= 0.95))
    assert needed == 3
    exercises, _ = play("bkt-mastery", lambda *_: True, 24 * needed)
    expected = [(skill, level) for skill in _order() for level in range(3) for _ in range(needed)]
    assert exercises == expected
    # The order respects the prerequisites: a skill starts after all of its prerequisites.
    prerequisites = gym.make(SPARSE).unwrapped.skills.prerequisite_matrix()
    start = {skill: exercises.index((skill, 0)) for skill in range(8)}
    for skill, needs in enumerate(prerequisites):
        assert all(start[need] < start[skill] for need in np.flatnonzero(needs))


def test_bkt_mastery_stays_until_mastery_and_gives_up_after_patience() -> None:
    # Wrong, wrong, then right: P(known) falls, then climbs; the teacher stays on the first cell until
    # the BKT estimate passes 0.95, then moves up a level.
    answers = [False, False, True, True, True, True, True]
    known = tracing.trace(answers, tracing.BKTParams())
    needed = int(np.argmax(known >= 0.95))
    exercises, teacher = play(
        "bkt-mastery",
        lambda _skill, _level, index: answers[index] if index < len(answers) else True,
        needed + 1,
    )
    first = _order()[0]
    assert exercises == [(first, 0)] * needed + [(first, 1)]
    assert teacher.known[first, 0] == pytest.approx(known[needed])
    # A learner who never answers right: `patience` exercises per cell, then the next one.
    exercises, _ = play("bkt-mastery", lambda *_: False, 8, patience=4)
    assert exercises == [(first, 0)] * 4 + [(first, 1)] * 4


def test_irt_zpd_picks_the_exercise_nearest_the_target() -> None:
    env = gym.make(SPARSE)
    teacher = agents.make("irt-zpd", env, band=0.0)
    obs, info = env.reset(seed=0)
    teacher.reset(env.observation_space, env.action_space, seed=0)
    teacher.act(obs, info)  # reads the prerequisite graph
    rng = np.random.default_rng(0)
    for _ in range(50):
        teacher.ability = rng.normal(0, 2, 8)
        teacher.difficulty = rng.normal(0, 2, (8, 3))
        predicted = 0.2 + 0.8 / (1 + np.exp(-(teacher.ability[:, None] - teacher.difficulty)))
        skill, level = teacher.choose(obs)
        assert abs(predicted[skill, level] - 0.7) == pytest.approx(np.abs(predicted - 0.7).min())
    # Fresh estimates (ability 0, difficulties -1, 0, 1) predict 0.78, 0.6, 0.42 on every skill:
    # with the default band the first skill in prerequisite order at its easiest level (0.78 is the
    # nearest to 0.7); with a target of 0.6, the middle level.
    for target, level in ((0.7, 0), (0.6, 1), (0.45, 2)):
        exercises, _ = play("irt-zpd", lambda *_: True, 1, target=target)
        assert exercises == [(_order()[0], level)]


def test_irt_zpd_updates_its_estimates_by_the_elo_rule() -> None:
    exercises, teacher = play("irt-zpd", lambda _skill, _level, index: index != 1, 3)
    (skill0, level0), (skill1, _) = exercises[0], exercises[1]
    # Answer 0 correct: predicted 0.2 + 0.8 * sigmoid(1) -> ability up by 0.4 * surprise.
    p = 0.2 + 0.8 / (1 + np.exp(-1.0))
    assert teacher.ability[skill0] == pytest.approx(0.4 * (1 - p))
    assert teacher.difficulty[skill0, level0] == pytest.approx(-1.0 - 0.2 * (1 - p))
    assert skill1 != skill0  # interleaving: the least recently practised skill in the zone
    assert teacher.ability[skill1] < 0  # answer 1 wrong: ability down


def test_spaced_repetition_intervals_grow_and_failures_reset_them() -> None:
    exercises, teacher = play("spaced-repetition", lambda *_: True, 120)
    first = _order()[0]
    times = [t for t, (skill, _) in enumerate(exercises) if skill == first]
    gaps = np.diff(times)
    # Every correct answer moves the skill up a box and doubles its interval (2, 4, 8, ... after the
    # 1st, 2nd, 3rd answer); a review is never given before it is due, except that one exercise must
    # be given each step: once all 8 skills' intervals exceed 8, the most nearly due one comes early.
    assert teacher.box[first] == len(times)
    assert gaps[0] < gaps[1] < gaps[2]
    assert all(gap >= min(2 ** (i + 1), 8) for i, gap in enumerate(gaps))
    levels = [level for skill, level in exercises if skill == first]
    assert levels[:6] == [0, 0, 1, 1, 2, 2]  # the level rises with the box
    assert list(dict.fromkeys(skill for skill, _ in exercises)) == _order()  # prerequisite order
    # A wrong answer sends the skill back to box 0: it is due again at once, at the easiest level.
    exercises, teacher = play("spaced-repetition", lambda _skill, _level, index: index != 4, 12)
    wrong_skill = exercises[4][0]
    assert exercises[5] == (wrong_skill, 0)
    assert teacher.box[wrong_skill] >= 1


def test_tutoring_teacher_knobs_are_checked() -> None:
    env = gym.make(SPARSE)
    for name, knobs, message in (
        ("bkt-mastery", {"mastery": 1.0}, "mastery=1.0"),
        ("bkt-mastery", {"patience": 0}, "patience=0"),
        ("bkt-mastery", {"params": {5: tracing.BKTParams()}}, "params="),
        ("irt-zpd", {"target": 0.1}, "target=0.1"),
        ("irt-zpd", {"ability_rate": 0.0}, "ability_rate=0.0"),
        ("spaced-repetition", {"growth": 0.5}, "growth=0.5"),
        ("spaced-repetition", {"first_interval": 0}, "first_interval=0"),
    ):
        with pytest.raises(ConfigError, match=message):
            agents.make(name, env, **knobs)
    fitted = {0: tracing.BKTParams(prior=0.6, learn=0.3, guess=0.3, slip=0.15)}
    assert agents.make("bkt-mastery", env, params=fitted).params[0] == fitted[0]


# ------------------------------------------------------------------------------ documented effect
#: Two-sided 95% quantiles of Student's t, by number of paired seeds (19 and 39 degrees of freedom).
T_QUANTILE = {20: 2.093, 40: 2.023}


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the paired difference ``a - b`` (same seed = same learner)."""
    diff = a - b
    half = T_QUANTILE[len(diff)] * diff.std(ddof=1) / np.sqrt(len(diff))
    return float(diff.mean()), float(diff.mean() - half), float(diff.mean() + half)


def post_tests(name: str, seeds: range) -> np.ndarray:
    env = gym.make(SPARSE)
    teacher = agents.make(name, env)
    return np.array([run_episode(env, teacher, seed).test_accuracy for seed in seeds])


def test_tracing_teachers_beat_the_baselines_and_the_oracle_beats_all() -> None:
    """On Tutor-Sim-v0, post-test = final accuracy on the hidden test split, paired over seeds (the
    same learner for every teacher). Measured over seeds 0-19 (mean [95% t-interval]):
    random 0.622, round-robin 0.660, bkt-mastery 0.713, irt-zpd 0.741, spaced-repetition 0.752,
    oracle 0.782. Paired differences: bkt-mastery - random +0.091 [+0.057, +0.126], bkt-mastery -
    round-robin +0.053 [+0.028, +0.079], irt-zpd - random +0.119 [+0.091, +0.148], irt-zpd -
    round-robin +0.081 [+0.058, +0.105], oracle - bkt-mastery +0.070 [+0.034, +0.105], oracle -
    irt-zpd +0.041 [+0.026, +0.056], oracle - random +0.161, oracle - round-robin +0.123.
    spaced-repetition comes closest to the oracle: +0.030 [+0.000, +0.060] over 20 seeds is too
    narrow a margin to assert, so that pair is measured over seeds 0-39: +0.028 [+0.011, +0.045]."""
    seeds = range(20)
    post = {name: post_tests(name, seeds) for name in ("random", "round-robin", "bkt-mastery", "irt-zpd")}
    post["oracle"] = post_tests("oracle", range(40))
    for better in ("bkt-mastery", "irt-zpd"):
        for baseline in ("random", "round-robin"):
            assert paired_interval(post[better], post[baseline])[1] > 0, (better, baseline)
    for other in ("random", "round-robin", "bkt-mastery", "irt-zpd"):
        assert paired_interval(post["oracle"][:20], post[other])[1] > 0, other
    spaced = post_tests("spaced-repetition", range(40))
    assert paired_interval(post["oracle"], spaced)[1] > 0


def test_sparse_and_dense_returns_agree_for_a_cost_bearing_objective() -> None:
    from teachgym.objectives import CostPenalty, mean_accuracy_gain

    objective = CostPenalty(mean_accuracy_gain, 0.01)
    returns = []
    for env_id in ("teachgym/Tutor-Sim-v0", "teachgym/Tutor-Sim-Dense-v0"):
        env = gym.make(env_id, objective=objective, num_steps=20)
        env.reset(seed=4)
        total, done, step = 0.0, False, 0
        while not done:
            _, reward, terminated, truncated, _ = env.step(step % env.action_space.n)
            total, done, step = total + reward, terminated or truncated, step + 1
        returns.append(total)
    assert returns[0] == pytest.approx(returns[1])

"""``teachgym train``'s options and outputs: the model and metadata files it writes, the checkpoint it
keeps (chosen on validation, never on test), the other algorithms, and the options and algorithms it
refuses before writing anything."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import teachgym  # noqa: F401  (registers the ids)
from teachgym import agents
from teachgym.cli import main
from teachgym.errors import ConfigError
from teachgym.rollout import run_episode
from teachgym.train import METADATA_KEYS, TrainArgs, train
from tests.test_train import SHORT, SKILL_LIST, short_train


def test_cli_train_writes_model_and_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    argv = ["train", SKILL_LIST, "--algo", "ppo", "--steps", "128", "--seed", "3", "--out", str(out),
            "--num-envs", "2", "--eval-every", "64", "--eval-episodes", "2",
            "--env-kwargs", json.dumps(SHORT)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "best evaluation: mean validation accuracy" in captured.out and f"sb3:{out}" in captured.out
    assert "episodes" in captured.err and "ETA" in captured.err and "mean return" in captured.err
    assert {p.name for p in out.iterdir()} >= {
        "best_model.zip",
        "final_model.zip",
        "teacher.json",
        "progress.csv",
    }
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    metadata = json.loads((out / "teacher.json").read_text())
    assert tuple(metadata) == METADATA_KEYS
    assert metadata["env_id"] == SKILL_LIST and metadata["env_kwargs"] == SHORT
    assert (metadata["algo"], metadata["steps"], metadata["seed"], metadata["num_envs"]) == ("ppo", 128, 3, 2)
    assert metadata["train_seed_start"] == 4_000_000 and metadata["eval_seeds"] == [20000, 20001]
    assert [e["steps"] for e in metadata["eval_history"]] == [0, 64, 128]
    assert metadata["best_eval"] in metadata["eval_history"] and metadata["status"] == "done"
    assert metadata["selected_on"] == "mean_validation_accuracy"
    assert not [key for entry in metadata["eval_history"] for key in entry if "test" in key]
    assert set(metadata["versions"]) >= {"teachgym", "stable-baselines3", "torch", "gymnasium", "numpy"}
    assert metadata["command"].startswith("teachgym train teachgym/SkillList-Sim-v0 --algo ppo")
    assert "eval/mean_validation_accuracy" in (out / "progress.csv").read_text().splitlines()[0]
    assert "test" not in (out / "progress.csv").read_text().splitlines()[0]
    # A second run into the same folder is refused rather than overwriting a trained teacher.
    assert main(argv) == 2
    assert "already holds a trained teacher" in capsys.readouterr().err


@pytest.mark.parametrize("validation_improves", [True, False])
def test_the_best_checkpoint_is_chosen_on_validation_never_on_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validation_improves: bool
) -> None:
    """Evaluation episodes whose validation and test accuracies disagree (one rises over training
    while the other falls): the checkpoint kept is the one validation prefers (issue 14)."""
    from teachgym.rollout import EpisodeResult

    episodes: list[int] = []

    def disagreeing_episode(env: gym.Env, teacher: Any, seed: int, **kwargs: Any) -> EpisodeResult:
        evaluation = len(episodes) // 2  # two evaluation students per evaluation
        episodes.append(seed)
        rising, falling = 0.1 + 0.1 * evaluation, 0.9 - 0.1 * evaluation
        validation, test = (rising, falling) if validation_improves else (falling, rising)
        return EpisodeResult(env.spec.id, "", seed, final_accuracy=validation, test_accuracy=test)

    import teachgym.train as training

    saved: list[tuple[str, int]] = []  # (file, the policy's step) of every checkpoint written
    save = training._save_atomic

    def recording_save(model: Any, path: Path) -> None:
        saved.append((path.name, int(model.num_timesteps)))
        save(model, path)

    monkeypatch.setattr(training, "run_episode", disagreeing_episode)
    monkeypatch.setattr(training, "_save_atomic", recording_save)
    out = tmp_path / "ppo"
    metadata = short_train(out)
    history = metadata["eval_history"]
    assert [entry["steps"] for entry in history] == [0, 128, 256] and len(episodes) == 6
    best = history[-1] if validation_improves else history[0]
    assert metadata["best_eval"] == best
    assert json.loads((out / "teacher.json").read_text())["best_eval"] == best
    # best_model.zip on disk is the policy of the chosen evaluation: its last write was at that step.
    assert [step for name, step in saved if name == "best_model.zip"][-1] == best["steps"]


@pytest.mark.parametrize(
    ("algo", "env_id", "kwargs"),
    [
        ("a2c", "teachgym/Intervention-Sim-v0", {"num_steps": 6, "budget_fraction": 0.34}),
        ("dqn", "teachgym/Curriculum-Addition-v0", {"num_steps": 5}),
        ("sac", SKILL_LIST, SHORT),
    ],
)
def test_other_algorithms_train(tmp_path: Path, algo: str, env_id: str, kwargs: dict[str, Any]) -> None:
    algo_kwargs = {"learning_starts": 16} if algo != "a2c" else {}
    metadata = train(
        TrainArgs(env_id, tmp_path / algo, algo=algo, steps=64, num_envs=2, eval_episodes=1,
                  env_kwargs=kwargs, algo_kwargs=algo_kwargs, progress=False)
    )  # fmt: skip
    assert metadata["trained_steps"] >= 64 and metadata["status"] == "done"
    env = gym.make(env_id, **kwargs)
    run_episode(env, agents.make(f"sb3:{tmp_path / algo}", env), seed=0)


@pytest.mark.parametrize(
    ("algo", "env_id", "message"),
    [
        ("dqn", SKILL_LIST,
         r"--algo dqn needs a Discrete action space; teachgym/SkillList-Sim-v0's is "
         r"Box\(0.0, 1.0, \(8, 3\), float32\) \(use one of \['a2c', 'ppo', 'sac'\]\)"),
        ("sac", "teachgym/Curriculum-Addition-v0",
         r"--algo sac needs a Box action space; teachgym/Curriculum-Addition-v0's is Discrete\(4\) "
         r"\(use one of \['a2c', 'ppo', 'dqn'\]\)"),
    ],
)  # fmt: skip
def test_algorithm_that_does_not_fit_the_action_space_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], algo: str, env_id: str, message: str
) -> None:
    out = tmp_path / "refused"
    assert main(["train", env_id, "--algo", algo, "--steps", "64", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("teachgym: error: ") and re.search(message, err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env-kwargs", "{nope"], "--env-kwargs '{nope' is not JSON"),
        (["--env-kwargs", "[1]"], "is not a JSON object"),
        (["--env-kwargs", '{"num_stepz": 5}'], "num_stepz"),
        (["--algo-kwargs", '{"n_stepz": 5}'], "n_stepz"),
        (["--steps", "0"], "steps=0 is invalid"),
        (["--eval-episodes", "0"], "eval_episodes=0"),
    ],
)
def test_cli_train_refuses_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    base = ["train", SKILL_LIST, "--steps", "64", "--out", str(tmp_path / "x"), "--eval-episodes", "1"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_unknown_algo_kwargs_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(ConfigError, match="nope"):
        short_train(out, algo_kwargs={"nope": 1})
    assert not out.exists()

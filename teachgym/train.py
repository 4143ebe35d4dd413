"""Train a teacher with stable-baselines3 across students: ``teachgym train`` (extra ``teachgym[rl]``).

``train(TrainArgs(env_id, algo="ppo", steps=N, seed=S, out=DIR))`` trains an SB3 policy over episodes of
the env, each with a fresh student (meta-learning across students, as in L2T and SOAR), on the
env's native batched vector env (``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``
through :class:`~teachgym.rl.vec_env.SB3VecEnv`, for every ``num_envs`` including 1), in the spaces of
:class:`~teachgym.rl.adapters.PolicyAdapter`. ``teachgym.agents.make("sb3:DIR", env)`` loads the result.
The SB3 plumbing (adapters, vector env, seed stream, the policy as a teacher) is :mod:`teachgym.rl`'s.

## Seeds

* Training students: every reset of a sub-env (its first and every later episode) takes the next seed
  of ``train_seed_start(S) = 1_000_000 * (S + 1)``, ``+ 1``, ...
  (:class:`~teachgym.rl.seed_stream.StudentSeedStream`), so every
  training episode has its own student, and no training seed is a benchmark seed (``0..N-1``), an anchor
  seed (``10000-10004``) or an evaluation seed.
* Evaluation students: seeds ``20000 .. 20000 + E - 1`` (:func:`eval_seeds`), the same at every
  evaluation; the policy acts deterministically and the score is the mean final *validation*
  accuracy over them (the env's ``info["mean_accuracy"]`` at the episode's end, ``run_episode``'s
  ``final_accuracy``; the mean return is kept too). Test accuracy is never read: benchmarks rank on
  the test split, so choosing a checkpoint on it would tune the teacher to the test items (the
  held-out items of a domain are the same for every student seed).
* The algorithm: SB3's ``seed=S`` (Python, numpy and torch generators, the action space). Training runs
  with one torch and BLAS thread (:func:`teachgym.bench.runner.episode_threads`), so on CPU the same
  arguments give the same policy (same actions on the same observations).

## Files in ``DIR``

``best_model.zip`` (the checkpoint with the best mean validation accuracy of the evaluation students;
the first evaluation is at step 0), ``final_model.zip`` (the policy at the end), ``teacher.json``
(:data:`METADATA_KEYS`: the arguments, the seeds, every evaluation (steps, episodes,
``mean_validation_accuracy``, ``mean_return``, wall time; no test accuracy), the best one, what it
was selected on (``selected_on``), the versions and the command), ``progress.csv`` (SB3's logger:
training statistics and ``eval/*`` rows), and TensorBoard event files when the ``tensorboard``
package is installed. Files are written atomically (a temporary file, then ``os.replace``), so a
``teacher.json`` always names a complete ``best_model.zip``.

## Algorithms

``ppo`` and ``a2c`` act on every family but OpenEnded (text); ``dqn`` needs a Discrete action space
(Curriculum, Intervention, Tutor) and ``sac`` a Box one (SkillList, SkillTree, Rehearsal). Their default
hyperparameters are :func:`algo_defaults` (SB3's, with shorter rollouts and smaller replay buffers for
teaching episodes of tens of steps); ``algo_kwargs`` overrides any of them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import platform
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecMonitor

import teachgym
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.files import save_atomic, write_json_atomic
from teachgym.progress import Progress
from teachgym.rl.adapters import PolicyAdapter, PolicyVectorEnv
from teachgym.rl.constants import ALGORITHMS, METADATA_FILE, MODEL_FILE
from teachgym.rl.policy_teacher import PolicyTeacher
from teachgym.rl.seed_stream import StudentSeedStream
from teachgym.rl.vec_env import SB3VecEnv
from teachgym.rollout import git_revision, run_episode

#: Training student seeds start at ``TRAIN_SEED_BASE * (seed + 1)``: above every benchmark (0..N-1),
#: anchor (10000-10004) and evaluation (20000..) seed.
TRAIN_SEED_BASE = 1_000_000
#: The first evaluation student seed.
EVAL_SEED_START = 20_000
#: At most this many evaluation episodes (so evaluation seeds stay below the training seeds).
MAX_EVAL_EPISODES = 10_000
#: The final checkpoint, next to :data:`~teachgym.rl.constants.MODEL_FILE` (the best one).
FINAL_MODEL_FILE = "final_model.zip"
#: What the best checkpoint is chosen on: an evaluation's mean final validation accuracy, never test.
SELECTED_ON = "mean_validation_accuracy"
#: The keys of ``teacher.json``.
METADATA_KEYS = (
    "env_id",
    "env_kwargs",
    "family",
    "algo",
    "algo_kwargs",
    "steps",
    "trained_steps",
    "seed",
    "num_envs",
    "train_seed_start",
    "train_episodes",
    "eval_every",
    "eval_seeds",
    "eval_history",
    "best_eval",
    "selected_on",
    "model",
    "final_model",
    "policy",
    "observation_space",
    "action_space",
    "adapter",
    "logs",
    "status",
    "wall_time",
    "versions",
    "git_revision",
    "command",
)


@dataclass
class TrainArgs:
    """The arguments of :func:`train` (``teachgym train``'s options).

    Attributes:
        env_id: a registered id, e.g. ``"teachgym/SkillList-Sim-v0"``.
        out: the output folder (created; must not hold a trained teacher already).
        algo: ``ppo``, ``a2c``, ``dqn`` or ``sac``.
        steps: training env steps, summed over the ``num_envs`` envs (SB3 finishes its last rollout,
            so slightly more may run; ``trained_steps`` in the metadata says how many).
        seed: the run's seed (algorithm and training student seeds), >= 0.
        num_envs: students trained in parallel (one batched vector env).
        eval_every: env steps between evaluations (default: ``steps // 10``, at least 1).
        eval_episodes: held-out students per evaluation (seeds ``20000..``).
        env_kwargs: keyword arguments of the env (as for ``gymnasium.make``).
        algo_kwargs: SB3 keyword arguments overriding :func:`algo_defaults`.
        command: the command line, kept in the metadata.
        progress: print a progress line to stderr.
    """

    env_id: str
    out: Path
    algo: str = "ppo"
    steps: int = 100_000
    seed: int = 0
    num_envs: int = 8
    eval_every: int | None = None
    eval_episodes: int = 10
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    progress: bool = True


def train_seed_start(seed: int) -> int:
    """The first training student seed of run ``seed``: ``1_000_000 * (seed + 1)``."""
    return TRAIN_SEED_BASE * (seed + 1)


def eval_seeds(num_episodes: int) -> list[int]:
    """The held-out evaluation student seeds: ``20000 .. 20000 + num_episodes - 1``."""
    return list(range(EVAL_SEED_START, EVAL_SEED_START + num_episodes))


def algo_defaults(algo: str, steps: int) -> dict[str, Any]:
    """The SB3 keyword arguments ``teachgym train`` uses for ``algo`` unless overridden.

    PPO: rollouts of 64 steps per env (SB3's 2048 would be many episodes of tens of steps before the
    first update), minibatches of 64. A2C: SB3's. DQN and SAC: replay buffers of at most ``steps`` (and
    100,000) transitions, learning from ``min(1000, steps // 10)`` steps on; DQN explores over 30% of
    the run and updates its target network every 1000 steps.
    """
    buffer = max(1, min(steps, 100_000))
    starts = min(1000, steps // 10)
    defaults: dict[str, dict[str, Any]] = {
        "ppo": {"n_steps": 64, "batch_size": 64},
        "a2c": {},
        "dqn": {
            "buffer_size": buffer,
            "learning_starts": starts,
            "exploration_fraction": 0.3,
            "target_update_interval": 1000,
        },
        "sac": {"buffer_size": buffer, "learning_starts": starts},
    }
    return dict(defaults[algo])


def evaluate(teacher: PolicyTeacher, env: gym.Env[Any, Any], seeds: list[int]) -> dict[str, Any]:
    """The teacher's deterministic episodes on ``env`` with the student ``seeds``: the mean final
    validation accuracy (``run_episode``'s ``final_accuracy``, in [0, 1]) and mean return, with the
    per-seed values. The test split is left out on purpose: what this returns chooses checkpoints."""
    accuracies, returns = [], []
    for seed in seeds:
        result = run_episode(env, teacher, seed)
        accuracies.append(float(result.final_accuracy))
        returns.append(float(result.episode_return))
    return {
        "mean_validation_accuracy": float(np.mean(accuracies)),
        "mean_return": float(np.mean(returns)),
        "validation_accuracies": accuracies,
        "returns": returns,
    }


def versions() -> dict[str, str]:
    """Versions of the packages a trained policy depends on."""
    import stable_baselines3
    import torch

    return {
        "teachgym": teachgym.__version__,
        "stable-baselines3": stable_baselines3.__version__,
        "torch": torch.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def check_args(args: TrainArgs) -> TrainArgs:
    """``args`` with defaults filled in, or a ConfigError naming the bad value."""
    env_id = teachgym.envs.resolve_id(args.env_id)  # type: ignore[attr-defined]  # bare ids too
    if args.algo not in ALGORITHMS:
        raise ConfigError(f"algo={args.algo!r} is invalid; expected one of {sorted(ALGORITHMS)}")
    for name, low in (("steps", 1), ("seed", 0), ("num_envs", 1), ("eval_episodes", 1)):
        value = getattr(args, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name}={value!r} is invalid; expected an int >= {low}")
    if args.eval_episodes > MAX_EVAL_EPISODES:
        raise ConfigError(
            f"eval_episodes={args.eval_episodes} is invalid; expected at most {MAX_EVAL_EPISODES}"
        )
    eval_every = max(1, args.steps // 10) if args.eval_every is None else args.eval_every
    if not isinstance(eval_every, int) or isinstance(eval_every, bool) or eval_every < 1:
        raise ConfigError(f"eval_every={eval_every!r} is invalid; expected an int >= 1")
    for name in ("env_kwargs", "algo_kwargs"):
        if not isinstance(getattr(args, name), dict):
            raise ConfigError(f"{name}={getattr(args, name)!r} is invalid; expected a dict (a JSON object)")
    if (Path(args.out) / METADATA_FILE).exists():
        raise ConfigError(
            f"{str(args.out)!r} already holds a trained teacher ({METADATA_FILE}); choose another --out "
            "or remove it"
        )
    return dataclasses.replace(args, env_id=env_id, out=Path(args.out), eval_every=eval_every)


def check_algo(algo: str, env_id: str, action_space: gym.Space[Any]) -> None:
    """Refuse an algorithm the action space does not fit (DQN: Discrete; SAC: Box), in one line."""
    needs = {"dqn": gym.spaces.Discrete, "sac": gym.spaces.Box}.get(algo)
    if needs is not None and not isinstance(action_space, needs):
        fitting = ["a2c", "ppo", "dqn" if isinstance(action_space, gym.spaces.Discrete) else "sac"]
        raise UnsupportedError(
            f"--algo {algo} needs a {needs.__name__} action space; {env_id}'s is {action_space} "
            f"(use one of {fitting})"
        )


def train(args: TrainArgs) -> dict[str, Any]:
    """Train a teacher (see the module); return the metadata written to ``out/teacher.json``."""
    from teachgym.bench.runner import episode_threads

    args = check_args(args)
    with episode_threads():
        return _Trainer(args).run()


class _Trainer:
    def __init__(self, args: TrainArgs) -> None:
        self.args = args
        assert args.eval_every is not None  # filled in by check_args
        self.eval_every: int = args.eval_every
        self.out: Path = args.out
        # The evaluation env, made first: its spaces decide the adapter, and a bad env kwarg or an
        # unfit algorithm is refused before anything is trained or written.
        self.eval_env = gym.make(args.env_id, **args.env_kwargs)
        check_algo(args.algo, args.env_id, self.eval_env.action_space)
        self.adapter = PolicyAdapter(
            self.eval_env.observation_space, self.eval_env.action_space, name=args.env_id
        )
        self.family = str(getattr(self.eval_env.unwrapped, "family", ""))
        self.eval_seeds = eval_seeds(args.eval_episodes)
        self.seed_start = train_seed_start(args.seed)
        self.algo_kwargs = {**algo_defaults(args.algo, args.steps), **args.algo_kwargs}
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.start_time = time.perf_counter()
        self.logs = ["csv"]

    def run(self) -> dict[str, Any]:
        args = self.args
        venv = gym.make_vec(
            args.env_id, num_envs=args.num_envs, vectorization_mode="vector_entry_point", **args.env_kwargs
        )
        self.seeds = StudentSeedStream(venv, self.seed_start)
        env = VecMonitor(SB3VecEnv(PolicyVectorEnv(self.seeds, self.adapter)))
        try:
            model = ALGORITHMS[args.algo](
                self.adapter.policy_name, env, seed=args.seed, device="cpu", verbose=0, **self.algo_kwargs
            )
        except TypeError as error:  # an unknown or mistyped SB3 keyword argument
            env.close()
            raise ConfigError(f"algo_kwargs {args.algo_kwargs!r} for {args.algo}: {error}") from None
        self.out.mkdir(parents=True, exist_ok=True)  # only now: a refused run leaves no folder behind
        if importlib.util.find_spec("tensorboard") is not None:
            self.logs.append("tensorboard")
        elif args.progress:
            print(
                "note: the tensorboard package is not installed: CSV logs only (progress.csv)",
                file=sys.stderr,
            )
        model.set_logger(configure(str(self.out), self.logs))
        self.model = model
        self.teacher = PolicyTeacher(model, self.adapter, source=f"{args.algo} in training")
        self.progress = Progress(args.steps, quiet=not args.progress, unit="step")
        callback = _TrainCallback(self)
        try:
            model.learn(total_timesteps=args.steps, callback=callback)
            if not self.history or self.history[-1]["steps"] != model.num_timesteps:
                self.evaluate(model.num_timesteps, callback.episodes)
            _save_atomic(model, self.out / FINAL_MODEL_FILE)
            metadata = self.metadata(model.num_timesteps, "done")
            _write_json_atomic(self.out / METADATA_FILE, metadata)
            trained = trained_text(model.num_timesteps, args.steps)
            self.progress.finish(f"{trained}  {self.status_line(callback)}")
        finally:
            self.progress.close()
            env.close()
            self.eval_env.close()
        return metadata

    def evaluate(self, steps: int, episodes: int) -> dict[str, Any]:
        """Evaluate the current policy; save it as the best checkpoint if its mean validation accuracy
        beats every earlier one's (never test accuracy: the benchmark ranks on that)."""
        result = evaluate(self.teacher, self.eval_env, self.eval_seeds)
        entry = {
            "steps": int(steps),
            "episodes": int(episodes),
            SELECTED_ON: result[SELECTED_ON],
            "mean_return": result["mean_return"],
            "wall_time": time.perf_counter() - self.start_time,
        }
        self.history.append(entry)
        logger = self.model.logger
        logger.record(f"eval/{SELECTED_ON}", entry[SELECTED_ON])
        logger.record("eval/mean_return", entry["mean_return"])
        logger.record("time/total_timesteps", int(steps))
        logger.dump(int(steps))
        if self.best is None or entry[SELECTED_ON] > self.best[SELECTED_ON]:
            self.best = dict(entry)
            _save_atomic(self.model, self.out / MODEL_FILE)
            _write_json_atomic(self.out / METADATA_FILE, self.metadata(steps, "training"))
        return entry

    def metadata(self, steps: int, status: str) -> dict[str, Any]:
        args = self.args
        metadata = {
            "env_id": args.env_id,
            "env_kwargs": args.env_kwargs,
            "family": self.family,
            "algo": args.algo,
            "algo_kwargs": self.algo_kwargs,
            "steps": args.steps,
            "trained_steps": int(steps),
            "seed": args.seed,
            "num_envs": args.num_envs,
            "train_seed_start": self.seed_start,
            "train_episodes": self.seeds.episodes_started,
            "eval_every": self.eval_every,
            "eval_seeds": self.eval_seeds,
            "eval_history": self.history,
            "best_eval": self.best,
            "selected_on": SELECTED_ON,
            "model": MODEL_FILE,
            "final_model": FINAL_MODEL_FILE if status == "done" else None,
            "policy": self.adapter.policy_name,
            "observation_space": str(self.adapter.observation_space),
            "action_space": str(self.adapter.action_space),
            "adapter": self.adapter.describe(),
            "logs": self.logs,
            "status": status,
            "wall_time": time.perf_counter() - self.start_time,
            "versions": versions(),
            "git_revision": git_revision(),
            "command": args.command,
        }
        assert tuple(metadata) == METADATA_KEYS
        return metadata

    def status_line(self, callback: _TrainCallback) -> str:
        """The progress bar's label (the bar shows the steps and the ETA)."""
        last = self.history[-1][SELECTED_ON] if self.history else None
        best = self.best[SELECTED_ON] if self.best else None
        return status_text(callback.episodes, list(callback.returns), last, best)


def status_text(episodes: int, returns: list[float], last: float | None, best: float | None) -> str:
    """The training progress label: episodes ended, the mean return of the last ``returns`` (up to
    100), the last and best evaluations' mean validation accuracy; ``-`` for what is not known yet
    (never ``nan``)."""

    def shown(value: float | None, spec: str) -> str:
        return "-" if value is None or not math.isfinite(value) else format(value, spec)

    mean_return = shown(float(np.mean(returns)) if returns else None, "+.3f")
    evaluations = f"eval validation {shown(last, '.3f')} (best {shown(best, '.3f')})"
    return f"episodes {episodes}  mean return {mean_return}  {evaluations}"


def trained_text(trained: int, requested: int) -> str:
    """The steps trained, and the steps asked for where they differ: SB3 ends its last rollout (e.g.
    ``"5120 steps trained (5000 requested)"``), so the count shown never claims more than ran."""
    extra = "" if trained == requested else f" ({requested} requested)"
    return f"{trained} steps trained{extra}"


class _TrainCallback(BaseCallback):
    """Counts episodes and returns, evaluates every ``eval_every`` steps, shows the progress line."""

    def __init__(self, trainer: _Trainer) -> None:
        super().__init__()
        self.trainer = trainer
        self.episodes = 0
        self.returns: deque[float] = deque(maxlen=100)
        self.next_eval = trainer.eval_every

    def _on_training_start(self) -> None:
        self.trainer.evaluate(0, 0)  # the untrained policy: the first best checkpoint
        self.trainer.progress.advance_to(0, self.trainer.status_line(self))

    def _on_step(self) -> bool:
        for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
            if done:
                self.episodes += 1
                if "episode" in info:  # VecMonitor's
                    self.returns.append(float(info["episode"]["r"]))
        if self.num_timesteps >= self.next_eval:
            self.trainer.evaluate(self.num_timesteps, self.episodes)
            while self.next_eval <= self.num_timesteps:
                self.next_eval += self.trainer.eval_every
        self.trainer.progress.advance_to(self.num_timesteps, self.trainer.status_line(self))
        return True


def _save_atomic(model: Any, path: Path) -> None:
    """``model.save`` to ``path`` atomically (tests wrap this to interrupt a save)."""
    save_atomic(path, model.save)


def _write_json_atomic(path: Path, value: Any) -> None:
    write_json_atomic(path, value, sort_keys=False)  # teacher.json keeps METADATA_KEYS' order


__all__ = [
    "EVAL_SEED_START",
    "METADATA_KEYS",
    "SELECTED_ON",
    "TRAIN_SEED_BASE",
    "TrainArgs",
    "algo_defaults",
    "check_algo",
    "eval_seeds",
    "evaluate",
    "status_text",
    "train",
    "train_seed_start",
    "trained_text",
    "versions",
]

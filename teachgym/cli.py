"""The ``teachgym`` command: list environments and teachers, and run a teacher on an env.

Every user error prints one line ``teachgym: error: ...`` and exits with status 2. Output cut short by
its reader (``teachgym agents | head -1``) ends quietly with status 141, as a program killed by
SIGPIPE does.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import gymnasium as gym
import numpy as np

import teachgym
from teachgym.bench.executors import EXECUTORS
from teachgym.bench.records import write_json_lines
from teachgym.cli_tables import agent_rows, env_rows, format_table, terminal_width
from teachgym.cli_tables import agents_module as _agents
from teachgym.rollout import EpisodeResult, run_episode

#: The exit status when the reader of stdout has gone: 128 + SIGPIPE, as the shell reports a program
#: that SIGPIPE ended (Python ignores SIGPIPE and raises BrokenPipeError instead).
BROKEN_PIPE_STATUS = 141


class UsageError(Exception):
    """A user error to print as one line."""


def summarize_action(action: Any, skill_names: Sequence[str]) -> str:
    """The three largest (skill, level) shares of an allocation, e.g. ``addition@0 40%``; for written
    examples, their number and the first one."""
    if isinstance(action, tuple | list):
        first = f", e.g. {action[0]!r}" if action else ""
        return f"{len(action)} examples{first}"[:100]
    weights = np.asarray(action, dtype=np.float64)
    if weights.ndim != 2 or weights.sum() <= 0:
        return str(action)
    share = weights / weights.sum()
    top = np.argsort(-share, axis=None, kind="stable")[:3]
    parts = []
    for flat in top:
        skill, level = np.unravel_index(flat, share.shape)
        if share[skill, level] > 0:
            parts.append(f"{skill_names[skill]}@{level} {share[skill, level]:.0%}")
    return ", ".join(parts)


def prepare_output(path: Path) -> None:
    """Fail before any episode runs if ``path`` cannot be written (so no work is lost at the end)."""
    if path.is_dir():
        raise UsageError(f"--json {str(path)!r} is a directory; expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path.parent):
        pass


def cmd_envs(args: argparse.Namespace) -> None:
    print(format_table(env_rows(), markdown=args.markdown))


def cmd_agents(args: argparse.Namespace) -> None:
    rows = agent_rows(args.family, installed=True)
    if not rows:  # a known family no teacher acts on yet
        print(f"no teacher acts on the {args.family} family")
        return
    print(format_table(rows, markdown=args.markdown, width=None if args.markdown else terminal_width()))


def _teacher_names(spec: str, env: gym.Env[Any, Any]) -> list[str]:
    """``all`` (every teacher that supports the env) or a comma-separated list of names."""
    if spec == "all":
        return _agents().runnable(env)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise UsageError(f"--agent {spec!r} names no teacher; give a name, a comma-separated list or 'all'")
    return names


def summary_rows(results: list[EpisodeResult]) -> list[dict[str, str]]:
    """Per teacher: episodes, mean initial and final test accuracy with its standard error."""
    rows = []
    for agent in dict.fromkeys(r.agent for r in results):
        final = np.array([r.test_accuracy for r in results if r.agent == agent])
        initial = np.array([r.initial_test_accuracy for r in results if r.agent == agent])
        error = final.std(ddof=1) / np.sqrt(len(final)) if len(final) > 1 else float("nan")
        rows.append(
            {
                "teacher": agent + (" (reference)" if _agents().spec(agent).reference else ""),
                "episodes": str(len(final)),
                "initial test acc": f"{initial.mean():.3f}",
                "final test acc": f"{final.mean():.3f} +- {error:.3f}",
            }
        )
    return rows


def cmd_run(args: argparse.Namespace) -> None:
    args.env_id = teachgym.envs.resolve_id(args.env_id)  # a bare id gets its namespace
    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.quiet and args.render:
        raise UsageError("--render shows every step and --quiet hides them: use one of the two")
    if args.json:
        prepare_output(Path(args.json))
    settings = teachgym.envs.quick_settings(args.env_id) if args.quick else {}
    env = gym.make(args.env_id, render_mode=args.render, **settings)
    names = env.unwrapped.skills.names  # type: ignore[attr-defined]
    teachers = {name: _agents().make(name, env) for name in _teacher_names(args.agent, env)}
    results: list[EpisodeResult] = []
    for name, teacher in teachers.items():
        for episode in range(args.episodes):
            seed = args.seed + episode
            print(f"# {args.env_id}  teacher={name}  seed={seed}")
            if not args.quiet:
                print(f"{'step':>4}  {'reward':>8}  {'val acc':>7}  action (largest shares)")

            def show(action: Any, obs: Any, reward: float, info: dict[str, Any]) -> None:
                # Read through the env, not info: families that hide the student's state keep accuracy
                # out of info until the end (this printout is for the person running, not the teacher).
                accuracy = env.unwrapped.mean_accuracy()  # type: ignore[attr-defined]
                print(
                    f"{info['step']:>4}  {reward:>+8.4f}  {accuracy:>7.3f}  {summarize_action(action, names)}"
                )
                if args.render == "ansi":
                    print(env.render(), end="")

            result = run_episode(env, teacher, seed, agent=name, on_step=None if args.quiet else show)
            results.append(result)
            print(
                f"validation accuracy {result.initial_accuracy:.3f} -> {result.final_accuracy:.3f}; "
                f"test accuracy {result.initial_test_accuracy:.3f} -> {result.test_accuracy:.3f}; "
                f"{result.examples_used} examples; {result.wall_time:.2f} s\n"
            )
    if len(results) > 1:
        print(format_table(summary_rows(results)))
    if args.json:
        write_json_lines(Path(args.json), [r.to_dict() for r in results])
        print(f"wrote {len(results)} record(s) to {args.json}")


def cmd_bench(args: argparse.Namespace) -> None:
    from teachgym.bench.runner import run_sweep
    from teachgym.bench.suites import default_seeds, suite

    tasks = suite(args.suite)
    seeds = default_seeds(args.suite) if args.seeds is None else args.seeds
    listed = [n.strip() for n in args.agents.split(",") if n.strip()]
    names = None if listed == ["all"] else listed
    if names == []:
        raise UsageError(f"--agents {args.agents!r} names no teacher; give names or 'all'")
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    command = "teachgym " + " ".join(shlex.quote(a) for a in args.argv)
    results = run_sweep(
        args.suite,
        tasks,
        Path(args.out),
        agent_names=names,
        seeds=seeds,
        command=command,
        workers=args.workers,
        executor=args.executor,
        ray_address=args.ray_address,
        quiet=args.quiet,
    )
    failed = sum(r["status"] == "failed" for r in results)
    print(f"{len(results)} record(s) in {Path(args.out) / 'results.jsonl'} ({failed} failed)")


def _json_object(text: str, option: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object, or a UsageError naming ``option``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{option} {text!r} is not JSON ({error}); expected an object, e.g. '{{\"num_steps\": 10}}'"
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} {text!r} is not a JSON object; expected e.g. '{{\"num_steps\": 10}}'")
    return value


def cmd_train(args: argparse.Namespace) -> None:
    # Parsed before the import below (stable-baselines3 and torch: seconds), so a typo fails at once.
    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs")
    algo_kwargs = _json_object(args.algo_kwargs, "--algo-kwargs")
    try:
        from teachgym.train import TrainArgs, train
    except ImportError as error:
        raise UsageError(
            f"'teachgym train' needs stable-baselines3 ({error}); install it with pip install 'teachgym[rl]'"
        ) from None
    metadata = train(
        TrainArgs(
            env_id=args.env_id,
            out=Path(args.out),
            algo=args.algo,
            steps=args.steps,
            seed=args.seed,
            num_envs=args.num_envs,
            eval_every=args.eval_every,
            eval_episodes=args.eval_episodes,
            env_kwargs=env_kwargs,
            algo_kwargs=algo_kwargs,
            command="teachgym " + " ".join(shlex.quote(a) for a in args.argv),
            progress=not args.quiet,
        )
    )
    best = metadata["best_eval"]
    print(
        f"best evaluation: mean validation accuracy {best['mean_validation_accuracy']:.3f} (mean return "
        f"{best['mean_return']:+.3f}) on {len(metadata['eval_seeds'])} held-out students at step "
        f"{best['steps']}; "
        f"wrote {Path(args.out) / metadata['model']} and {Path(args.out) / 'teacher.json'} "
        f"(use it as --agent sb3:{args.out})"
    )


def cmd_leaderboard(args: argparse.Namespace) -> None:
    from teachgym.bench.report import render

    if args.add is not None:
        from teachgym.bench.submit import add_run

        added = add_run(Path(args.dir), Path(args.add))
        print(f"added {added} from {args.add} to {args.dir}")
    for path in render(Path(args.dir)):
        print(f"wrote {path}")


def cmd_calibrate(args: argparse.Namespace) -> None:
    from teachgym.bench import calibration

    command = "teachgym " + " ".join(shlex.quote(a) for a in args.argv)
    path = calibration.run_candidates(
        args.suite,
        Path(args.out),
        num_seeds=args.seeds,
        command=command,
        first_seed=args.first_seed,
        workers=args.workers,
        quiet=args.quiet,
    )
    print(path.read_text(encoding="utf-8"))
    print(f"wrote {path}")


def cmd_effects(args: argparse.Namespace) -> None:
    from teachgym.bench import effects

    if args.run:
        ran = effects.run_missing(Path(args.dir), workers=args.workers, quiet=args.quiet)
        print(f"ran {ran} episode(s) of the declared effects into {Path(args.dir) / effects.EPISODES_FILE}")
    path, results = effects.write_report(Path(args.dir))
    rows = [
        {
            "effect": r.effect.name,
            "task": r.effect.task,
            "teacher - baseline": effects.contrast_text(r.effect),
            "metric": f"{r.effect.metric} ({r.effect.direction:+d})",
            "seeds": str(len(r.seeds)),
            "difference [95% CI]": effects.difference_text(r),
            "verdict": r.verdict + (f": {r.missing}" if r.verdict == effects.NOT_RUN else ""),
        }
        for r in results
    ]
    print(format_table(rows) if rows else "no effects declared (EFFECTS in envs/<family>.py)")
    print(f"wrote {path}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line and exit status 2, like every other user error (argparse prints its usage too)."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="teachgym", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=teachgym.__version__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("envs", help="list the registered environments")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=cmd_envs)
    p = sub.add_parser("agents", help="list the registered teachers")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--family", default=None, help="only the teachers of this family, e.g. Tutor")
    p.set_defaults(func=cmd_agents)
    p = sub.add_parser("run", help="run a teacher on an environment")
    p.add_argument("env_id", help="e.g. teachgym/SkillList-Sim-v0 (or SkillList-Sim-v0)")
    p.add_argument(
        "--agent",
        required=True,
        help="teacher name, comma-separated names, or 'all' (see 'teachgym agents'); a name may be a "
        "file.py:Class or package.module:Class of your own",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    p.add_argument("--episodes", type=int, default=1, help="episodes, with seeds seed, seed+1, ...")
    p.add_argument("--render", choices=["ansi"], default=None, help="print the env after each step")
    p.add_argument("--json", metavar="PATH", help="write one JSON Lines record per episode")
    p.add_argument("--quiet", action="store_true", help="print only each episode's summary")
    p.add_argument(
        "--quick", action="store_true", help="short budgets for the slow (language-model) envs: a smoke run"
    )
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("bench", help="run a benchmark suite (resumable: rerun the same command to resume)")
    p.add_argument("suite", help="suite name: quick, core-v2, core-v1, core-v0, text-v0, profiling-v1")
    p.add_argument(
        "--agents",
        default="all",
        help="'all' (every registered teacher each task supports) and/or names, comma-separated; a name "
        "may be a file.py:Class or package.module:Class of your own",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="episodes per (task, teacher), seeds 0..N-1 (default: the suite's, e.g. 100 for core-v2)",
    )
    p.add_argument("--out", required=True, help="results folder (results.jsonl, anchors.json, suite.json)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (local executor)")
    p.add_argument("--executor", choices=list(EXECUTORS), default="local")
    p.add_argument(
        "--ray-address", default=None, help="address of an existing Ray cluster (default: start one)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser(
        "train",
        help="train a teacher with stable-baselines3 (extra teachgym[rl]); use it as --agent sb3:DIR",
    )
    p.add_argument("env_id", help="e.g. teachgym/SkillList-Sim-v0 (or SkillList-Sim-v0)")
    p.add_argument("--algo", choices=["ppo", "a2c", "dqn", "sac"], default="ppo", help="SB3 algorithm")
    p.add_argument("--steps", type=int, required=True, help="training env steps (over all envs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the algorithm and the training students")
    p.add_argument("--out", required=True, help="output folder: best_model.zip, teacher.json, progress.csv")
    p.add_argument("--num-envs", type=int, default=8, help="students trained in parallel (one batched env)")
    p.add_argument(
        "--eval-every", type=int, default=None, help="env steps between evaluations (default steps/10)"
    )
    p.add_argument(
        "--eval-episodes", type=int, default=10, help="held-out students per evaluation (seeds 20000..)"
    )
    p.add_argument("--env-kwargs", default="{}", metavar="JSON", help="env keyword arguments, a JSON object")
    p.add_argument("--algo-kwargs", default="{}", metavar="JSON", help="SB3 keyword arguments, a JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser(
        "leaderboard", help="render DIR/README.md, plots and index.html from DIR/results.jsonl"
    )
    p.add_argument("dir", help="a results folder written by 'teachgym bench'")
    p.add_argument(
        "--add",
        metavar="RUN_DIR",
        help="first merge the teachers of RUN_DIR (a sweep of the same suite, anchors and seeds, with "
        "teachers DIR does not rank yet) into DIR",
    )
    p.set_defaults(func=cmd_leaderboard)
    p = sub.add_parser(
        "calibrate",
        help="run random, uniform, the naive baseline and the reference on a suite's tasks on calibration "
        "seeds (5000..); write OUT/CALIBRATION.md: does teaching matter on each task?",
    )
    p.add_argument("suite", help="suite name, e.g. candidates-v1")
    p.add_argument("--seeds", type=int, default=30, help="calibration seeds FIRST..FIRST+N-1")
    p.add_argument(
        "--first-seed",
        type=int,
        default=5000,
        help="first calibration seed (default 5000; a later round uses fresh seeds, e.g. 7000)",
    )
    p.add_argument("--out", required=True, help="folder for calibration_episodes.jsonl and CALIBRATION.md")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_calibrate)
    p = sub.add_parser(
        "effects", help="compute the pre-registered effects from DIR/results.jsonl; write DIR/EFFECTS.md"
    )
    p.add_argument("dir", help="a results folder written by 'teachgym bench'")
    p.add_argument(
        "--run",
        action="store_true",
        help="first run the declared effects' episodes that DIR lacks (saved to DIR/effect_episodes.jsonl; "
        "resumable), e.g. for effects on tasks outside the folder's suite",
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes for --run")
    p.add_argument("--quiet", action="store_true", help="no progress line for --run")
    p.set_defaults(func=cmd_effects)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The students are small: one thread per process is fastest, and two threads on a loaded 2-core
    # machine slow torch many-fold. Set before torch is first imported (students import it lazily).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args.func(args)
        sys.stdout.flush()  # here, so a closed pipe is raised below rather than at exit
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except (UsageError, ValueError, OSError, gym.error.Error) as error:
        print(f"teachgym: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "teachgym: interrupted; finished episodes are saved: rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    return 0


def _silence_stdout() -> None:
    """Point stdout at devnull, as Python's documentation advises after a BrokenPipeError: the
    interpreter's last flush of the unwritten rest would fail again and print a traceback."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # a replaced stdout (tests) has no descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())

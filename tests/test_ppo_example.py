"""The single-file PPO example (``teachgym.examples.ppo_make_vec``): it trains over ``make_vec`` on a Box
and a Discrete id, drops Gymnasium's NEXT_STEP autoreset steps, is seeded, and runs as a module."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from teachgym.examples import ppo_make_vec as ppo

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("env_id", "settings"),
    [
        # Episodes of 5 steps: many end, and each is followed by an autoreset step.
        ("teachgym/SkillList-Sim-v1", {"num_envs": 8, "num_steps": 32, "total_timesteps": 512}),
        # Episodes of 150 steps: 2 envs x 160 steps end one each.
        ("teachgym/Tutor-Sim-v0", {"num_envs": 2, "num_steps": 40, "total_timesteps": 320}),
    ],
    ids=["box", "discrete"],
)
def test_trains_and_reports_finished_episodes(env_id: str, settings: dict[str, int], capsys) -> None:
    summary = ppo.main(ppo.Args(env_id=env_id, **settings))
    assert summary["global_step"] == settings["total_timesteps"]
    returns = summary["episode_returns"]
    assert returns and all(math.isfinite(r) for r in returns)
    assert math.isfinite(summary["mean_return"])
    # Every ended episode but those ending on an env's last step is followed by one dropped step.
    dropped, ended = summary["autoreset_steps_dropped"], len(returns)
    assert max(1, ended - settings["num_envs"]) <= dropped <= ended
    final = summary["agent"].state_dict()
    assert any(not torch.equal(value, final[name]) for name, value in summary["initial_state"].items())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "global_step,episodes,mean_return,policy_loss,value_loss,entropy,sps"
    assert len(lines) == 1 + summary["updates"]
    assert [int(line.split(",")[0]) for line in lines[1:]][-1] == settings["total_timesteps"]
    assert "nan" not in "\n".join(lines)


def test_same_seed_same_run_and_another_seed_another() -> None:
    def run(seed: int) -> dict:
        return ppo.main(ppo.Args(num_envs=4, num_steps=16, total_timesteps=128, seed=seed))

    first, again, other = run(0), run(0), run(1)
    assert first["episode_returns"] == again["episode_returns"]
    for name, value in first["agent"].state_dict().items():
        assert torch.equal(value, again["agent"].state_dict()[name])
    assert first["episode_returns"] != other["episode_returns"]


def test_advantages_stop_at_an_episode_end() -> None:
    """Step 1 ends an episode and step 2 is the autoreset step, whose input is the final observation
    (value 9): nothing of steps 2 and 3 reaches step 1, and step 1 does not bootstrap."""
    gamma, lam = 0.9, 0.8
    batch = {
        "reward": torch.tensor([[1.0], [2.0], [0.0], [4.0]]),
        "value": torch.tensor([[0.5], [0.5], [9.0], [0.5]]),
        "done": torch.tensor([[0.0], [1.0], [0.0], [0.0]]),
        "next_value": torch.tensor([0.25]),
    }
    adv = ppo.advantages(batch, gamma, lam)[:, 0]
    assert adv[3].item() == pytest.approx(4.0 + gamma * 0.25 - 0.5)
    assert adv[1].item() == pytest.approx(2.0 - 0.5)
    assert adv[0].item() == pytest.approx(1.0 + gamma * 0.5 - 0.5 + gamma * lam * 1.5)


def test_action_mask_rules_out_moves() -> None:
    agent = ppo.Agent(3, ppo.spaces.Discrete(4))
    mask = torch.tensor([[True, False, False, True]]).repeat(500, 1)
    action, _, _, _ = agent.act(torch.zeros(500, 3), mask)
    assert set(action.tolist()) == {0, 3}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--num-envs", "0"], "num_envs=0 is invalid; expected an int >= 1"),
        (
            ["--total-timesteps", "100"],
            "total_timesteps=100 is invalid; expected an int >= num_envs * num_steps = 256",
        ),
        (["--gamma", "1.5"], "gamma=1.5 is invalid"),
        (
            ["--env-id", "teachgym/OpenEnded-ArithmeticText-v0"],
            "expected a Dict of Box or MultiBinary entries",
        ),
    ],
)
def test_bad_settings_exit_2_with_one_line(argv: list[str], message: str, capsys) -> None:
    assert ppo.cli(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "teachgym.examples.ppo_make_vec", "--total-timesteps", "256"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("256,")


def test_needs_neither_sb3_nor_the_teachers() -> None:
    code = (
        "import sys, teachgym.examples.ppo_make_vec\n"
        "print(*[m for m in sys.modules if m.startswith(('stable_baselines3', 'teachgym.agents'))])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""

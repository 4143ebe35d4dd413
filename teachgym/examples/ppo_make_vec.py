"""PPO for a teacher in one file, CleanRL-style, over ``gymnasium.make_vec``; torch only, no SB3.

``python -m teachgym.examples.ppo_make_vec --total-timesteps 512 --num-envs 8``, or ``main(Args(...))``.
The ``Dict`` observation is flattened in key order. A ``Box`` action is a Gaussian sample ``u`` squashed
into ``[low, high]`` by a sigmoid (the ratio is taken on ``u``: the squash's Jacobian cancels); a
``Discrete`` one a categorical head that never picks a move ``obs["action_mask"]`` rules out. Autoreset
is Gymnasium's ``NEXT_STEP``: the step after an episode's end resets that env, ignores its action and
returns reward 0, so it is dropped from the update. Seeds: ``torch.manual_seed(seed)``; env ``i``'s first
student is ``1_000_000 * (seed + 1) + i``, as in ``teachgym train`` (never a benchmark seed ``0..N-1``).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import dataclass, field, fields
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Normal
from torch.optim import Adam, Optimizer

import teachgym  # noqa: F401  (registers the ids)
from teachgym.config import check_int, check_real, require
from teachgym.errors import ConfigError

#: Training students start at seed ``TRAIN_SEED_BASE * (seed + 1)``, as ``teachgym train``'s do.
TRAIN_SEED_BASE = 1_000_000
MASK_KEY = "action_mask"  # the observation entry of the allowed Discrete actions (1 = allowed)
FLAT = (spaces.Box, spaces.MultiBinary)  # the observation entries flatten() takes
OWNER = "ppo_make_vec"
DESCRIPTION = "PPO for a teacher, CleanRL-style, over a teachgym id's make_vec vector env (torch only)."


@dataclass
class Args:
    """The run's settings; each field is a ``--kebab-case`` command-line option."""

    env_id: str = field(default="teachgym/SkillList-Sim-v1", metadata={"help": "a teachgym id"})
    num_envs: int = field(default=8, metadata={"help": "envs (students) stepped at once"})
    total_timesteps: int = field(default=50_000, metadata={"help": "env steps in all, in whole rollouts"})
    num_steps: int = field(default=32, metadata={"help": "steps per env in one rollout"})
    learning_rate: float = field(default=3e-4, metadata={"help": "Adam's step size, annealed to 0"})
    gamma: float = field(default=0.99, metadata={"help": "discount per step"})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE's lambda"})
    update_epochs: int = field(default=4, metadata={"help": "passes over each rollout"})
    num_minibatches: int = field(default=4, metadata={"help": "minibatches per pass"})
    clip_coef: float = field(default=0.2, metadata={"help": "PPO's ratio clip"})
    ent_coef: float = field(default=0.0, metadata={"help": "weight of the entropy bonus"})
    vf_coef: float = field(default=0.5, metadata={"help": "weight of the value loss"})
    max_grad_norm: float = field(default=0.5, metadata={"help": "gradient norm clip"})
    seed: int = field(default=0, metadata={"help": "torch seed; env seeds follow from it"})
    torch_threads: int = field(default=1, metadata={"help": "torch CPU threads"})


def parse_args(argv: list[str] | None = None) -> Args:
    """:class:`Args` from the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(prog=f"python -m teachgym.examples.{OWNER}", description=DESCRIPTION)
    for option in fields(Args):
        help_text = f"{option.metadata['help']} (default: %(default)s)"
        flag = "--" + option.name.replace("_", "-")
        parser.add_argument(flag, type=type(option.default), default=option.default, help=help_text)
    return Args(**vars(parser.parse_args(argv)))


def check_args(args: Args) -> None:
    """Raise a one-line :class:`ConfigError` for the first setting out of range."""
    for name in ("num_envs", "num_steps", "update_epochs", "num_minibatches", "torch_threads", "seed"):
        check_int(OWNER, name, getattr(args, name), 0 if name == "seed" else 1)
    rollout = args.num_envs * args.num_steps
    ok = isinstance(args.total_timesteps, int) and args.total_timesteps >= rollout
    require(ok, OWNER, "total_timesteps", args.total_timesteps, f"an int >= num_envs * num_steps = {rollout}")
    positive = ("learning_rate", "clip_coef", "max_grad_norm")
    for name in (*positive, "ent_coef", "vf_coef"):
        check_real(OWNER, name, getattr(args, name), 0.0, low_open=name in positive)
    for name in ("gamma", "gae_lambda"):
        check_real(OWNER, name, getattr(args, name), 0.0, 1.0)


def make_envs(args: Args) -> VectorEnv:  # type: ignore[type-arg]
    """The id's batched vector env; refused in one line unless it autoresets on the next step, its
    observation is a ``Dict`` of ``Box``/``MultiBinary`` entries and its action a bounded Box or Discrete."""
    envs = gym.make_vec(args.env_id, num_envs=args.num_envs, vectorization_mode="vector_entry_point")
    mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    obs_space, action_space = envs.single_observation_space, envs.single_action_space
    flat_entries = isinstance(obs_space, spaces.Dict) and all(isinstance(s, FLAT) for s in obs_space.values())
    bounded_box = isinstance(action_space, spaces.Box) and action_space.is_bounded()
    problem = None
    if mode != AutoresetMode.NEXT_STEP:
        problem = f"autoreset_mode is {mode}; expected AutoresetMode.NEXT_STEP"
    elif not flat_entries:
        problem = f"observation space {obs_space}; expected a Dict of Box or MultiBinary entries"
    elif not (bounded_box or isinstance(action_space, spaces.Discrete)):
        problem = f"action space {action_space}; expected a bounded Box or a Discrete"
    if problem is not None:
        envs.close()
        raise ConfigError(f"{OWNER} cannot train on {args.env_id}: {problem}")
    return envs


def flatten(obs: dict[str, np.ndarray]) -> Tensor:
    """``(N, D)`` float32: every entry of a batched ``Dict`` observation, flattened in key order."""
    return torch.as_tensor(np.hstack([v.reshape(len(v), -1) for v in obs.values()]), dtype=torch.float32)


def mlp(inputs: int, outputs: int, out_gain: float, hidden: int = 64) -> nn.Sequential:
    """Two tanh layers of ``hidden`` units; orthogonal weights, zero biases (PPO's usual start)."""
    layers = [nn.Linear(inputs, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, outputs)]
    for linear, gain in zip(layers, (np.sqrt(2), np.sqrt(2), out_gain), strict=True):
        nn.init.orthogonal_(linear.weight, float(gain))
        nn.init.zeros_(linear.bias)
    return nn.Sequential(layers[0], nn.Tanh(), layers[1], nn.Tanh(), layers[2])


class Agent(nn.Module):
    """Separate actor and critic networks over the flat observation."""

    def __init__(self, obs_dim: int, action_space: spaces.Space[Any]) -> None:
        super().__init__()
        discrete = isinstance(action_space, spaces.Discrete)
        outputs = spaces.flatdim(action_space)  # Discrete: n logits; Box: one mean per dimension
        self.critic = mlp(obs_dim, 1, 1.0)
        # A small last layer starts the policy near uniform (Discrete) or at u = 0, weights 0.5 (Box).
        self.actor = mlp(obs_dim, outputs, 0.01)
        self.log_std = None if discrete else nn.Parameter(torch.zeros(outputs))

    def act(self, x: Tensor, mask: Tensor | None, action: Tensor | None = None) -> tuple[Tensor, ...]:
        """``action`` (sampled when None) with its ``(N,)`` log-probabilities, entropies and values."""
        out = self.actor(x)
        if self.log_std is None:  # masked-out moves get probability 0
            out = out if mask is None else out.masked_fill(~mask, torch.finfo(out.dtype).min)
            dist: Distribution = Categorical(logits=out)
        else:
            dist = Normal(out, self.log_std.exp().expand_as(out))
        action = dist.sample() if action is None else action
        logprob, entropy = dist.log_prob(action), dist.entropy()
        if self.log_std is not None:  # a Box's dimensions are independent
            logprob, entropy = logprob.sum(-1), entropy.sum(-1)
        return action, logprob, entropy, self.critic(x).squeeze(-1)


def to_env(action: Tensor, space: spaces.Space[Any]) -> np.ndarray:
    """The env's batched action: Discrete indices as they are, Box samples squashed into the bounds."""
    if isinstance(space, spaces.Discrete):
        return action.numpy().astype(np.int64)
    assert isinstance(space, spaces.Box)
    squashed = torch.sigmoid(action).numpy().reshape((-1, *space.shape))
    return (space.low + (space.high - space.low) * squashed).astype(space.dtype)


@dataclass
class Carry:
    """What one rollout hands the next: the last observation and each env's episode so far."""

    obs: dict[str, np.ndarray]
    ended: np.ndarray  # (N,) bool: the last step ended the episode, so the next step is an autoreset
    episode_return: np.ndarray  # (N,) float: the return so far of the episode under way
    returns: list[float] = field(default_factory=list)  # returns of the episodes that ended, in order


def collect(envs: VectorEnv, agent: Agent, carry: Carry, num_steps: int) -> dict[str, Tensor]:  # type: ignore[type-arg]
    """Step the envs ``num_steps`` times with the policy: ``(T, N, ...)`` tensors, ``valid`` false on
    autoreset steps, and ``next_value`` ``(N,)``, the value of the observation after the last step."""
    store: dict[str, list[Any]] = {}
    for _ in range(num_steps):
        x = flatten(carry.obs)
        mask = torch.as_tensor(carry.obs[MASK_KEY] > 0) if MASK_KEY in carry.obs else None
        with torch.no_grad():
            action, logprob, _, value = agent.act(x, mask)
        carry.obs, reward, terminated, truncated, _ = envs.step(to_env(action, envs.single_action_space))
        # NEXT_STEP: an env whose last step ended its episode was reset by this step (action ignored,
        # reward 0); that transition is in no episode, so it is kept out of the update and the returns.
        valid = ~carry.ended
        carry.ended = np.logical_or(terminated, truncated)
        carry.episode_return += np.where(valid, reward, 0.0)
        carry.returns.extend(float(r) for r in carry.episode_return[carry.ended])
        carry.episode_return[carry.ended] = 0.0
        step = {"obs": x, "mask": mask, "action": action, "logprob": logprob, "value": value, "valid": valid}
        step |= {"reward": reward.astype(np.float32), "done": carry.ended.astype(np.float32)}
        for key, item in step.items():
            if item is not None:  # no mask where the family has none
                store.setdefault(key, []).append(torch.as_tensor(item))
    batch = {key: torch.stack(items) for key, items in store.items()}
    with torch.no_grad():
        batch["next_value"] = agent.critic(flatten(carry.obs)).squeeze(-1)
    return batch


def advantages(batch: dict[str, Tensor], gamma: float, lam: float) -> Tensor:
    """GAE over the ``(T, N)`` steps of ``batch`` (``reward``, ``value``, ``done``, ``next_value``).

    ``done[t]`` = 1 where step ``t`` ended its episode: no bootstrap from the next observation and no
    later advantage flows into step ``t``. Truncation is such an end, not a cut to bootstrap over: a
    teachgym episode truncates when its budget, an observation entry, is spent, and nothing is earned
    after. The autoreset step after an end gets a meaningless advantage here and is dropped (``valid``).
    """
    reward, value, done = batch["reward"], batch["value"], batch["done"]
    out, running = torch.zeros_like(reward), torch.zeros_like(batch["next_value"])
    for t in reversed(range(len(reward))):
        following = batch["next_value"] if t == len(reward) - 1 else value[t + 1]
        delta = reward[t] + gamma * following * (1.0 - done[t]) - value[t]
        running = out[t] = delta + gamma * lam * (1.0 - done[t]) * running
    return out


def update(agent: Agent, optimizer: Optimizer, batch: dict[str, Tensor], args: Args) -> list[float]:
    """PPO's clipped update on the rollout's valid steps; the last minibatch's losses and entropy."""
    keep = batch["valid"].reshape(-1)
    if not keep.any():  # every env was autoresetting: nothing to learn from
        return []
    adv = advantages(batch, args.gamma, args.gae_lambda).reshape(-1)[keep]
    names = [k for k in ("obs", "mask", "action", "logprob", "value") if k in batch]
    flat = {k: batch[k].flatten(0, 1)[keep] for k in names}
    returns = adv + flat["value"]
    stats: list[float] = []
    for _ in range(args.update_epochs):
        for idx in torch.randperm(len(adv)).chunk(args.num_minibatches):
            mask = flat["mask"][idx] if "mask" in flat else None
            _, logprob, entropy, value = agent.act(flat["obs"][idx], mask, flat["action"][idx])
            ratio = (logprob - flat["logprob"][idx]).exp()
            mb_adv = (adv[idx] - adv[idx].mean()) / (adv[idx].std(correction=0) + 1e-8)
            clipped = ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
            policy_loss = torch.max(-mb_adv * ratio, -mb_adv * clipped).mean()
            value_loss = 0.5 * (value - returns[idx]).pow(2).mean()
            loss = policy_loss - args.ent_coef * entropy.mean() + args.vf_coef * value_loss
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
            optimizer.step()
            stats = [policy_loss.item(), value_loss.item(), entropy.mean().item()]
    return stats


def main(args: Args) -> dict[str, Any]:
    """Train, printing one CSV line per update; return a summary: steps, updates, episode returns, the
    autoreset steps dropped, steps per second, and the agent with its initial parameters."""
    check_args(args)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    envs = make_envs(args)
    try:
        obs, _ = envs.reset(seed=TRAIN_SEED_BASE * (args.seed + 1))
        agent = Agent(flatten(obs).shape[1], envs.single_action_space)
        initial_state = copy.deepcopy(agent.state_dict())
        optimizer = Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
        carry = Carry(obs, np.zeros(args.num_envs, dtype=bool), np.zeros(args.num_envs))
        num_updates = args.total_timesteps // (args.num_envs * args.num_steps)
        global_step, dropped, sps, start = 0, 0, 0.0, time.perf_counter()
        print("global_step,episodes,mean_return,policy_loss,value_loss,entropy,sps")
        for index in range(num_updates):
            optimizer.param_groups[0]["lr"] = args.learning_rate * (1.0 - index / num_updates)
            seen = len(carry.returns)
            batch = collect(envs, agent, carry, args.num_steps)
            losses = update(agent, optimizer, batch, args)
            global_step += args.num_envs * args.num_steps
            dropped += int((~batch["valid"]).sum())
            new = carry.returns[seen:]
            mean = f"{np.mean(new):.4f}" if new else ""  # empty, not nan, when no episode ended
            sps = global_step / (time.perf_counter() - start)
            losses_text = ",".join(f"{v:.4f}" for v in losses) if losses else ",,"  # no valid step
            print(f"{global_step},{len(new)},{mean},{losses_text},{sps:.0f}", flush=True)
    finally:
        envs.close()
        torch.set_num_threads(threads)
    last = carry.returns[-args.num_envs :]
    return {
        "global_step": global_step,
        "updates": num_updates,
        "episode_returns": list(carry.returns),
        "mean_return": float(np.mean(last)) if last else math.nan,  # of the last num_envs episodes
        "autoreset_steps_dropped": dropped,
        "sps": sps,
        "agent": agent,
        "initial_state": initial_state,
    }


def cli(argv: list[str] | None = None) -> int:
    """The command line; a bad setting or id exits 2 with a one-line error."""
    try:
        main(parse_args(argv))
    except (ConfigError, gym.error.Error) as error:
        print(f"{OWNER}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())

"""A policy acting as a teacher: :class:`PolicyTeacher` plays an SB3 model (anything with SB3's
``predict``) on a teaching env through its :class:`~teachgym.rl.adapters.PolicyAdapter`.

``teachgym train`` evaluates its checkpoints with one; the ``sb3:DIR`` teacher
(``teachgym.agents.sb3.SB3Teacher``) is one loaded from a folder.
"""

from __future__ import annotations

from typing import Any

from teachgym.errors import UnsupportedError
from teachgym.rl.adapters import PolicyAdapter

__all__ = ["PolicyTeacher", "check_policy_spaces"]


class PolicyTeacher:
    """A trained SB3 model as a teacher (an object with ``act``): ``act`` is the model's deterministic
    ``predict`` on the adapted observation, mapped back by the adapter.

    :raises UnsupportedError: the model's spaces are not the adapter's (see :func:`check_policy_spaces`).
    """

    def __init__(self, model: Any, adapter: PolicyAdapter, *, source: str = "") -> None:
        check_policy_spaces(model, adapter, source=source or type(model).__name__)
        self.model = model
        self.adapter = adapter
        self.source = source

    def act(self, obs: Any, info: dict[str, Any]) -> Any:
        action, _ = self.model.predict(self.adapter.observation(obs), deterministic=True)
        return self.adapter.action(action, obs)


def check_policy_spaces(model: Any, adapter: PolicyAdapter, *, source: str) -> None:
    """Refuse a model whose spaces differ from the adapter's (an UnsupportedError naming both)."""
    for what, model_space, env_space in (
        ("observation", model.observation_space, adapter.observation_space),
        ("action", model.action_space, adapter.action_space),
    ):
        if model_space != env_space:
            own = adapter.env_observation_space if what == "observation" else adapter.env_action_space
            raise UnsupportedError(
                f"the policy {source} has {what} space {model_space}, but {adapter.name} gives its policy "
                f"{what} space {env_space}" + ("" if own == env_space else f" (the env's own: {own})")
            )

"""Core reinforcement-learning plumbing for training teachers with stable-baselines3 (extra ``teachgym[rl]``).

What environments and ``teachgym train`` need to meet SB3, one concept per module; nothing here
imports :mod:`teachgym.agents` (the ``sb3:DIR`` teacher in ``teachgym.agents.sb3`` builds on this):

* :mod:`teachgym.rl.vec_env`: :class:`~teachgym.rl.vec_env.SB3VecEnv`, a Gymnasium 1.x vector env as
  an SB3 ``VecEnv`` (same-step autoreset, reset masks, seeds).
* :mod:`teachgym.rl.adapters`: :class:`~teachgym.rl.adapters.PolicyAdapter` and the env wrappers that
  put a teaching env in the spaces an SB3 policy acts in.
* :mod:`teachgym.rl.policy_teacher`: :class:`~teachgym.rl.policy_teacher.PolicyTeacher`, a policy
  acting as a teacher through its adapter.
* :mod:`teachgym.rl.constants`: the algorithms by name and the files of a trained teacher's folder.
* :mod:`teachgym.rl.seed_stream`: :class:`~teachgym.rl.seed_stream.StudentSeedStream`, a new student
  seed for every training episode.
* :mod:`teachgym.rl.batches`: observation batches (rows in, rows out).

Importing this package imports none of its modules (so neither stable-baselines3 nor torch); import
the module you need.
"""

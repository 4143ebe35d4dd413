"""Runnable examples: single-file programs that use teachgym the way a user's code would
(``python -m teachgym.examples.ppo_make_vec``)."""

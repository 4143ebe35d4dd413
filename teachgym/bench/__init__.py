"""Benchmarks: suites of env ids, a resumable sweep runner, statistics and leaderboard reports."""

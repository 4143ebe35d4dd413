"""The headless Chromium the page tests open pages in (Debian's ``chromium``; ``.ci/run`` installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
#: CI installs Chromium (.ci/run): there a missing browser is a failure, not a skip.
if BROWSER is None and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI=true but no headless browser ({', '.join(BROWSERS)}) is installed; see .ci/run")
#: Why a page test skips without one.
MISSING = f"no headless browser ({', '.join(BROWSERS)}): install Debian's chromium"
#: Seconds one page load may take (a cold Chromium start on a loaded 2-core machine takes a few).
TIMEOUT = 90


def dump_dom(url: str, tmp_path: Path) -> str:
    """The DOM of ``url`` after its scripts ran, in a fresh headless Chromium profile."""
    assert BROWSER is not None
    command = [
        BROWSER,
        "--headless",
        "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout

"""PULSE_REQUIRE_DATA=1 (set by .ci/run) turns a skip for missing ../shared data into a failure, through the one
helper in conftest.py: the call `require_data(path)` and the mark `@pytest.mark.shared_data(path)`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SAMPLE = '''
import pytest
from conftest import require_data

MISSING = "{missing}"
PRESENT = "{present}"

@pytest.mark.shared_data(MISSING, "a corpus")
def test_marked_missing():
    pass

def test_called_missing():
    require_data(MISSING, "a fixture")

@pytest.mark.shared_data(PRESENT)
def test_marked_present():
    require_data(PRESENT)
'''


def run_sample(tmp_path: Path, require: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(SAMPLE.format(missing=tmp_path / "nothing-here", present=tmp_path),
                                             encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PULSE_REQUIRE_DATA"}
    if require is not None:
        env["PULSE_REQUIRE_DATA"] = require
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), str(tmp_path / "test_sample.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_shared_data_skips_on_a_developer_machine(tmp_path):
    out = run_sample(tmp_path, None)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 2 skipped" in out.stdout
    assert "a corpus is not available" in out.stdout and "a fixture is not available" in out.stdout


def test_missing_shared_data_fails_when_required(tmp_path):
    out = run_sample(tmp_path, "1")
    assert out.returncode == 1, out.stdout + out.stderr
    # the mark fails in the test's setup (pytest counts it as an error), the call in the test itself: neither skips
    assert "1 failed, 1 passed, 1 error" in out.stdout and "skipped" not in out.stdout
    assert "PULSE_REQUIRE_DATA=1 makes missing ../shared data a failure" in out.stdout


def test_ci_requires_the_shared_data():
    assert "export PULSE_REQUIRE_DATA=1" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")

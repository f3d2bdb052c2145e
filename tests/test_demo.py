"""`make demo` end to end: every step of `kcore.demo` succeeds and tells its story."""

from __future__ import annotations

import os

import pytest

from kcore import demo


def test_the_demo_runs_every_step_and_leaves_no_home_behind(capsys: pytest.CaptureFixture[str]) -> None:
    before = os.environ.get("KCORE_HOME")
    assert demo.run() == 0
    out = capsys.readouterr().out
    assert "deployment.apps/web   5/5     5            5" in out  # scaled and all available
    assert "Terminating" in out and "NotReady" in out  # the crashed node's pod was evicted
    assert out.count("Running") >= 3
    assert os.environ.get("KCORE_HOME") == before

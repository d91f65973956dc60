"""The web-login benchmark keeps working: ``python -m benchmarks.web --quick`` runs both apps
(ours and pycognito's) against a real redis-server and the served emulator, end to end.

No timing thresholds (the figures are in benchmarks/README.md): this checks that every login
of both apps succeeded and that the JSON holds the figures the table is made of.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.served
ROOT = Path(__file__).resolve().parent.parent


def test_quick_web_benchmark_signs_everyone_in_on_both_apps(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (CI=true: it must be)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.web", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "web.json").read_text(encoding="utf-8"))
    assert results["settings"]["order"] == ["ours", "pycognito"]
    for variant in ("ours", "pycognito"):
        summary = results["summary"][variant]
        assert summary["logins"] == 10
        assert summary["errors"] == 0
        assert results["warmup_errors"][variant] == 0
        for key in ("logins_per_s", "request_p99_ms", "login_p99_ms", "app_cpu_ms_per_login"):
            assert math.isfinite(summary[key]) and summary[key] > 0, key
        (round_,) = results["rounds"][variant]
        assert len(round_["request_latency_s"]) == 20  # two requests per login
    assert results["summary"]["pycognito"]["logins_per_s_ratio"] == 1.0
    assert "MFA logins/s" in done.stdout

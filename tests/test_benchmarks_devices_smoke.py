"""The device sign-in benchmark keeps working: ``python -m benchmarks.devices --quick``.

No timing thresholds (the figures live in benchmarks/README.md): this checks that the
benchmark runs end to end against its own emulator process and writes well-formed JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_writes_both_cases(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.devices", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "devices.json").read_text())
    rows = {row["case"]: row for row in result["rows"]}
    assert set(rows) == {"password + TOTP", "remembered device"}
    assert rows["password + TOTP"]["ratio_vs_password_totp"] == 1.0
    for row in rows.values():
        assert row["samples"] == 5
        assert row["ms_cpu_median"] > 0
    assert "| remembered device |" in done.stdout

"""The benchmark suite keeps working: ``python -m benchmarks --quick`` runs every benchmark.

No timing thresholds (the figures live in benchmarks/README.md): this only checks that each
benchmark runs end to end against the emulator and writes well-formed JSON, so a change that
breaks a benchmark fails here instead of on the next measurement. Needs the ``bench`` extra
(pycognito, the baseline).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    # benchmarks/ is a top-level directory of the repository, not part of the installed package
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module(f"benchmarks.{name}")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} in benchmark JSON")


def test_percentile_interpolates_between_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    stats = _bench(monkeypatch, "_stats")
    percentile, summary = stats.percentile, stats.summary
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert summary([3.0, 1.0, 2.0])["median"] == 2.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_profile_groups_files_by_library(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = _bench(monkeypatch, "profile")
    _group_of_file, OTHER = profile._group_of_file, profile.OTHER
    assert _group_of_file("/x/site-packages/cognito_mfa/srp.py").startswith("SRP")
    assert _group_of_file("/x/site-packages/botocore/serialize.py").startswith("botocore")
    assert _group_of_file("/x/site-packages/pydantic/main.py") == "pydantic"
    assert _group_of_file("/usr/lib/python3.11/asyncio/events.py").startswith("event loop")
    assert _group_of_file("/x/cognito_mfa/flow.py").startswith("cognito_mfa")
    assert _group_of_file("/usr/lib/python3.11/json/decoder.py") == OTHER


def test_quick_run_writes_every_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _bench(monkeypatch, "run")
    # the baseline is part of the suite: without it the benchmarks cannot run at all
    assert importlib.util.find_spec("pycognito") is not None, "install the bench extra"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    for name in run.BENCHMARKS + run.EXTRA:
        data = json.loads(
            (tmp_path / f"{name}.json").read_text(encoding="utf-8"),
            parse_constant=_refuse_constant,  # NaN and Infinity are not JSON
        )
        assert data["name"] == name
        assert data["quick"] is True
        assert data["machine"]["nproc"] >= 1
        assert data["rows"], f"{name} has no rows"
        for row in data["rows"]:
            assert isinstance(row["value"], int | float), (name, row)
            assert math.isfinite(row["value"]) and row["value"] >= 0, (name, row)
            if row["ratio"] is not None:
                assert math.isfinite(row["ratio"]) and row["ratio"] > 0, (name, row)
        assert f"| {name} |" in completed.stdout
    assert "| benchmark | case | value |" in completed.stdout


def test_the_fronts_benchmark_runs_at_its_smallest(tmp_path: Path) -> None:
    """benchmarks/fronts.py end to end: both fronts served, moto in-process (no timing)."""
    assert importlib.util.find_spec("moto") is not None, "install the bench extra"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.fronts",
            "--burst",
            "5",
            "--clients",
            "2",
            "--procs",
            "1",
            "--seconds",
            "0.5",
            "--rounds",
            "1",
            "--signins",
            "2",
            "--warmup",
            "0",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    data = json.loads((tmp_path / "fronts.json").read_text(encoding="utf-8"))
    assert data["burst"]["new"]["answered"] == 5
    assert data["throughput"]["new"]["failed"] == 0
    assert data["throughput"]["new"]["per_second"] > 0
    assert data["in_process"]["ratio"] > 0
    assert "| (c) SRP sign-in wall time" in completed.stdout

"""A pool opened and closed without ``async with``, and the README's pytest example in a user's
project (issue 11, finding 6).

Notebooks and REPLs cannot keep an ``async with`` block open across cells: ``await pool.open()``
and ``await pool.aclose()`` do the same, and both are idempotent. The README's emulator example
is copied into an empty project (no configuration, so pytest-asyncio runs in its default strict
mode) and run there by pytest in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import cognito_mfa as cm
from cognito_mfa.testing import SeededPool

if TYPE_CHECKING:
    from conftest import Front  # the shared fixtures' type (tests/conftest.py)

README = Path(__file__).resolve().parent.parent / "README.md"


async def test_open_and_aclose_without_async_with(front: Front, seeded: SeededPool) -> None:
    user = await front.seeder.create_user(seeded, "olive", "Correct-Horse-9")
    pool = front.user_pool(seeded)
    with pytest.raises(cm.PoolClosed, match=r"await pool\.open\(\)"):
        pool.sign_in(user.username, user.password)
    assert await pool.open() is pool
    assert await pool.open() is pool  # opening an open pool does nothing
    assert pool.is_open
    flow = pool.sign_in(user.username, user.password)
    async for _ in flow:
        raise AssertionError("no MFA for this user")
    assert flow.done
    await pool.aclose()
    await pool.aclose()  # closing twice does nothing
    assert not pool.is_open
    with pytest.raises(cm.PoolClosed, match="make a new one"):
        await pool.open()
    with pytest.raises(cm.PoolClosed):
        pool.sign_in(user.username, user.password)


async def test_async_with_still_works_and_closes(front: Front, seeded: SeededPool) -> None:
    async with front.user_pool(seeded) as pool:
        assert pool.is_open
    assert not pool.is_open


def _readme_pytest_example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- pytest-example:start -->\s*```python\n(.*?)```\s*<!-- pytest-example:end -->",
        text,
        re.DOTALL,
    )
    assert match, "README.md lost its marked pytest example"
    return match.group(1)


def test_the_readme_pytest_example_runs_in_an_empty_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_readme.py").write_text(_readme_pytest_example(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # this checkout first, as an installed package would be
    env["PYTHONPATH"] = os.pathsep.join(
        [str(README.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 passed" in output, output

"""Repository invariants: the README's commands and CI agree, the changelog is kept."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks[:2]:
        lines = [line for line in block.splitlines() if line and not line.startswith("#")]
        commands.append(lines[0])
    return commands


def test_readme_opens_with_the_demo_and_the_test_command() -> None:
    demo, tests = _readme_commands()
    assert "python -m cognito_mfa demo" in demo
    assert demo.startswith("python -m pip install")
    assert tests.startswith("python -m pip install")
    assert tests.rstrip().endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, tests = _readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines


def test_changelog_has_an_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def _readme_python_block_after(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match is not None
    return match.group(1)


async def test_readme_emulator_example_runs_as_written(
    cognito_emulator: object, cognito_pool: object, cognito_user_factory: object
) -> None:
    namespace: dict[str, object] = {}
    exec(_readme_python_block_after("## The emulator, for your own tests"), namespace)
    example = namespace["test_totp_sign_in"]
    await example(cognito_emulator, cognito_pool, cognito_user_factory)  # type: ignore[operator]

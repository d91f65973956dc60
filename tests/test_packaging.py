"""What the wheel ships, read from pyproject.toml: the explicit package list matches the package
directories, and the example web app (``examples/web_app/``) ships as ``cognito_mfa.webdemo``
using only the library's public API.

The list and the mapping are what setuptools builds the wheel and the editable install from, so
checking them here keeps the suite offline; building a wheel inside the suite would need a
recent setuptools and, with build isolation, the network.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "web_app"
#: The library modules whose names an example may import (each has a pinned ``__all__``).
PUBLIC_MODULES = frozenset(
    {"cognito_mfa", "cognito_mfa.web", "cognito_mfa.verify", "cognito_mfa.testing"}
)


def _setuptools() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["tool"]["setuptools"]
    return table


def test_the_package_list_is_every_package_directory_and_the_example() -> None:
    config = _setuptools()
    mapped: dict[str, str] = config["package-dir"]
    directories = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "cognito_mfa").rglob("__init__.py")
    }
    assert "cognito_mfa.testing" in directories  # the walk finds subpackages
    # a new subpackage left out of the list would be missing from the wheel
    assert sorted(config["packages"]) == sorted(directories | set(mapped))
    assert len(config["packages"]) == len(set(config["packages"]))
    assert config["package-data"]["cognito_mfa"] == ["py.typed"]


def test_the_example_web_app_ships_as_cognito_mfa_webdemo() -> None:
    assert _setuptools()["package-dir"] == {"cognito_mfa.webdemo": "examples/web_app"}
    for module in ("__init__.py", "app.py", "pages.py", "serve.py"):
        assert (EXAMPLE / module).is_file(), module
    # a module or a directory of that name inside the library would shadow the example
    assert not (ROOT / "cognito_mfa" / "webdemo.py").exists()
    assert not (ROOT / "cognito_mfa" / "webdemo").exists()


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(level, module, names) of every import in ``path``; plain ``import x`` as level 0."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            found.append((node.level, node.module or "", names))
        elif isinstance(node, ast.Import):
            found.extend((0, alias.name, []) for alias in node.names)
    return found


def test_the_example_uses_only_the_public_api_with_absolute_imports() -> None:
    siblings = {path.stem for path in EXAMPLE.glob("*.py")}
    seen = set()
    for path in sorted(EXAMPLE.glob("*.py")):
        for level, module, names in _imports(path):
            if level:
                # within the example only: a relative import cannot reach the library
                assert level == 1 and module in siblings, (path.name, level, module)
                continue
            if module.split(".")[0] != "cognito_mfa":
                continue
            assert module in PUBLIC_MODULES, (path.name, module)
            exported = set(importlib.import_module(module).__all__)
            assert names and set(names) <= exported, (path.name, module, set(names) - exported)
            seen.add(module)
    assert {"cognito_mfa", "cognito_mfa.web", "cognito_mfa.testing"} <= seen


def test_the_example_says_how_to_run_it() -> None:
    docstring = ast.get_docstring(ast.parse((EXAMPLE / "__init__.py").read_text("utf-8")))
    assert docstring is not None
    assert "python -m cognito_mfa web-demo --port" in docstring
    listed = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    for example in ("emulator_walkthrough.ipynb", "web_app/"):
        assert example in listed

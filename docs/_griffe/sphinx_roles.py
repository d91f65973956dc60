"""A griffe extension for the API reference: the docstrings' Sphinx roles, made readable.

The docstrings cite other objects with Sphinx roles (``:class:`~cognito_mfa.errors.CodeMismatch```,
``:meth:`sign_in```), which mkdocstrings would print as they are. This rewrites each role, as
the docstrings are loaded, into a link to the public name when the object is one the API
reference documents (a name in ``cognito_mfa.__all__`` or ``cognito_mfa.testing.__all__``),
and into inline code otherwise, so no link can point at a page that does not exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from griffe import Extension, Object

ROOT = Path(__file__).resolve().parents[2]
ROLE = re.compile(
    r":(?:class|exc|func|meth|attr|data|mod|obj):`(?P<short>~?)"
    r"(?:(?P<title>[^`<]+?)\s*<(?P<titled>[\w.]+)>|(?P<target>[\w.]+))`"
)


def _exported(init: Path) -> set[str]:
    """The ``__all__`` of a package, read from its source (the package is not imported)."""
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


PUBLIC = {
    "cognito_mfa": _exported(ROOT / "cognito_mfa" / "__init__.py"),
    "cognito_mfa.testing": _exported(ROOT / "cognito_mfa" / "testing" / "__init__.py"),
}


def _rewrite(match: re.Match[str]) -> str:
    target = match["target"] or match["titled"]
    name = target.rsplit(".", 1)[-1]
    shown = match["title"] or (name if match["short"] or "." not in target else target)
    package = "cognito_mfa.testing" if ".testing" in target else "cognito_mfa"
    if name in PUBLIC[package] and target.startswith(("cognito_mfa", name)):
        return f"[`{shown}`][{package}.{name}]"
    return f"`{shown}`"


class SphinxRoles(Extension):
    """Rewrite Sphinx roles in every docstring into links or inline code."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_rewrite, obj.docstring.value)

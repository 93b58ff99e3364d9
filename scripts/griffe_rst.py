"""A griffe extension for the API reference (mkdocs.yml): the docstrings are Google style
(``Args:``, ``Attributes:``) with Sphinx cross-reference roles and ``::`` literal blocks, which
Markdown would show raw; this rewrites them as Markdown before mkdocstrings renders them.

``:class:`~kuzzle_errors.KuzzleError``` becomes ```KuzzleError``` (a leading ``~`` keeps the last
name only, as Sphinx does), ``:data:`LIMITS``` becomes ```LIMITS```, and a paragraph ending in
``::`` (the indented block after it is already a Markdown code block) ends in ``:``.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"(?<=\S)::$", re.MULTILINE)
_BARE_LITERAL = re.compile(r"^[ \t]*::$", re.MULTILINE)


def _name(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown(text: str) -> str:
    """``text`` (a docstring) with its Sphinx roles and ``::`` markers as Markdown."""
    text = _ROLE.sub(_name, text)
    text = _BARE_LITERAL.sub("", text)
    return _LITERAL.sub(":", text)


# griffe comes with the docs tools only: the test suite checks markdown() without them, so the
# extension exists only where mkdocs can load it.
try:
    import griffe
except ModuleNotFoundError:
    pass
else:

    class SphinxRolesToMarkdown(griffe.Extension):
        """Rewrites every docstring griffe loads (see :func:`markdown`)."""

        def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
            if obj.docstring is not None:
                obj.docstring.value = markdown(obj.docstring.value)

"""A policy's Markdown rendered to HTML that is safe to put in a page.

markdown-it-py with raw HTML off (``<script>``, ``<img onerror>``: shown as text, never
markup), its link validation on (``javascript:``, ``vbscript:``, ``file:`` and ``data:``
links are not made links), and images off: a policy page must not load anything from
elsewhere (the instance works offline, and a remote image would tell a third party who
reads the policy). Links open as ordinary links marked ``rel="nofollow noopener"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup


def _parser() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")

    def link_open(
        self: RendererHTML,
        tokens: Sequence[Token],
        idx: int,
        options: OptionsDict,
        env: EnvType,
    ) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _parser()


def render(body: str) -> Markup:
    """The body as HTML; every piece of it comes from the parser, never from the input."""
    html: Any = _MD.render(body)
    return Markup(str(html))  # noqa: S704 - raw HTML is off: the parser escapes every input

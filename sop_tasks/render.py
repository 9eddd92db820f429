"""Rendering untrusted text inert for Markdown surfaces (approval bodies, notes, digests).

Text from a form or from the public is never interpreted: it goes inside a fenced code block (or
an inline code span) whose fence is longer than any run of the fence character in the text, so
no HTML, link, image or emphasis can be injected through it.
"""

from __future__ import annotations

import re

# Terminal escape sequences whole (CSI, OSC, and two-character ESC forms), so no "[2J" is left.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 and C1 controls (C1 such as \x9b act as escapes in some terminals), the bidi controls
# (embedding/override U+202A–202E, isolates U+2066–2069, marks U+200E/F and U+061C) and invisible
# characters that hide or disguise text (zero-width U+200B–200D, word joiner and invisible operators
# U+2060–2064, deprecated format controls U+206A–206F, BOM/ZWNBSP U+FEFF, line/paragraph
# separators U+2028/9).
_CTRL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u206f\ufeff]"
)
# Characters a spreadsheet may read as the start of a formula, also after leading blanks.
_FORMULA = re.compile(r"^[\t\r]|^\s*[=+\-@]")


def clean_text(text: str) -> str:
    """Untrusted text with terminal escapes, control characters, bidi controls and invisible
    characters removed; line breaks kept (CSV cells, Markdown blocks)."""
    text = _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CTRL.sub("", text)


def _longest_run(text: str, ch: str) -> int:
    runs = re.findall(re.escape(ch) + "+", text)
    return max((len(r) for r in runs), default=0)


def inert_block(text: str) -> str:
    """A fenced code block showing ``text`` literally."""
    text = clean_text(text)
    fence = "~" * max(3, _longest_run(text, "~") + 1)
    return f"{fence}text\n{text}\n{fence}"


def inert_inline(text: str) -> str:
    """An inline code span showing ``text`` (one line) literally."""
    text = clean_text(text).replace("\n", " ")
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def plain_line(text: str, limit: int = 120) -> str:
    """A single plain-text line (for subjects and notes), control characters removed."""
    line = " ".join(clean_text(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def csv_cell(text: str) -> str:
    """Untrusted text for a spreadsheet cell: cleaned, and prefixed with ``'`` when a spreadsheet
    could run it as a formula (``=``, ``+``, ``-``, ``@`` even after blanks; tab; carriage return)."""
    text = clean_text(text)
    return "'" + text if _FORMULA.match(text) else text


# Every ASCII punctuation character may be backslash-escaped in CommonMark, and an escaped one is
# always literal: no emphasis, link, image, autolink (``https\://``, ``www\.``), HTML, entity,
# list, heading, table or fence can start from it.
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_LONG_TOKEN = re.compile(r"\S{41,}")
_ZWSP = "\u200b"
# GFM links bare URLs and e-mail addresses in the text *after* escapes are resolved (remark-gfm's
# autolink-literal runs on text nodes), so escaping alone does not stop them: an invisible word
# joiner inside "://", after "www" and after "@" does.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z]:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)(?=[\w-])")
_WJ = "\u2060"


def _break_long(token: str) -> str:
    """A zero-width space every 40 characters of an unbroken token, so it wraps on screen."""
    return _ZWSP.join(token[i : i + 40] for i in range(0, len(token), 40))


def inert_text(text: str, *, quote: bool = True) -> str:
    """``text`` as Markdown that wraps like prose and is shown literally.

    Unlike :func:`inert_block` (a code block, which does not wrap), every Markdown
    metacharacter is escaped, leading indentation becomes no-break spaces (never an indented
    code block), line breaks are kept as hard breaks, tokens longer than 40 characters get
    zero-width break opportunities, and bare URLs and e-mail addresses get an invisible word
    joiner so GFM does not turn them into links. With ``quote`` the text sits in a block quote, so it is set
    apart from our own words.
    """
    lines = []
    for raw in clean_text(text).split("\n"):
        stripped = raw.lstrip(" \t")
        indent = "\u00a0" * (len(raw) - len(stripped)) if stripped else ""
        body = _LONG_TOKEN.sub(lambda m: _break_long(m.group(0)), stripped.rstrip())
        body = _AUTOLINK.sub(_WJ, body)
        lines.append(indent + _MD_PUNCT.sub(r"\\\1", body))
    out = []
    for i, line in enumerate(lines):
        hard = line and i + 1 < len(lines) and lines[i + 1]
        line = line + "\\" if hard else line
        out.append(("> " + line if line else ">") if quote else line)
    return "\n".join(out)

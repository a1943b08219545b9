"""One writer per place where text from a spec can land in a generated file (a *sink*).

A spec is data written by someone else. Its text (titles, help, choices, formula comments and
string constants) reaches generated files only through these functions, each of which makes any
string a valid, inert value of its sink: a Python string or docstring, an R string, roxygen or Rd
text, a DESCRIPTION field, TOML, Markdown. Nothing is ever interpolated raw into code.

Characters that no sink can carry (NUL and other control characters, lone surrogates, bidi
overrides) are refused when the spec is loaded (`refused_character`), so the writers below may
assume their absence, but still never produce invalid output when given them.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional controls can make code read differently from how it runs ("Trojan Source").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refused_character(text: str, multiline: bool) -> int | None:
    """Index of the first character no sink can carry, or None.

    Newlines (and tabs) are allowed only where the field may span lines.
    """
    for index, char in enumerate(text):
        if char in "\n\t" and multiline:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in BIDI_CONTROLS or char in "\u2028\u2029":
            return index
    return None


def describe_character(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


# ---------------------------------------------------------------------------------------------
# The terminal


def terminal_text(text: str, multiline: bool = True) -> str:
    """Text safe to print: control characters (ESC, BEL, ...), bidi controls and line separators
    shown as escapes, so a spec, a record or a file name cannot drive the terminal or forge lines.
    Newlines and tabs stay where the output may span lines."""
    return "".join(_terminal_char(char, multiline) for char in text)


def _terminal_char(char: str, multiline: bool) -> str:
    if char in "\n\t" and multiline:
        return char
    if unicodedata.category(char) in ("Cc", "Cs") or char in BIDI_CONTROLS or char in "\u2028\u2029":
        return repr(char)[1:-1] if ord(char) < 0x10000 else f"\\U{ord(char):08x}"
    return char


# ---------------------------------------------------------------------------------------------
# Python


def python_string(text: str) -> str:
    """A Python string literal; `repr` of a str is always a valid literal of the same text."""
    return repr(text)


def python_docstring(text: str) -> str:
    """Text for the inside of a `\"\"\"` docstring: backslashes doubled, and quotes escaped where
    they could close the docstring (runs of two or more, or one at the very end)."""
    text = text.replace("\\", "\\\\")
    return re.sub(r'"(?=")|(?<=")"|"$', '\\"', text)


def python_message(text: str, value_name: str) -> str:
    """An f-string literal: `text` shown as written, followed by `value_name`'s repr and a period.

    Braces in `text` are doubled so spec text can never become an f-string field.
    """
    literal = text.replace("{", "{{").replace("}", "}}") + "{" + value_name + "!r}."
    return "f" + python_string(literal)


# ---------------------------------------------------------------------------------------------
# R


def _quoted(text: str, other) -> str:
    """`"text"` with quotes, backslashes, newlines and tabs escaped; `other(char)` writes the rest."""
    simple = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}
    return '"' + "".join(simple.get(char) or other(char) for char in text) + '"'


def _r_char(char: str) -> str:
    code = ord(char)
    if 0x20 <= code < 0x7F:
        return char
    return f"\\u{{{code:04x}}}" if code <= 0xFFFF else f"\\U{{{code:08x}}}"


def r_string(text: str) -> str:
    """An R string literal in ASCII: non-printable and non-ASCII characters as \\u{...} escapes
    (portable packages keep R code ASCII)."""
    return _quoted(text, _r_char)


def rd_text(text: str) -> str:
    """Text for an Rd file: backslash, `%` and braces are markup there, so they are escaped.

    A line starting with `@` gets an empty Rd group `{}` in front (it renders as nothing): in a
    roxygen comment such a line would start a tag, and the Rd file says what roxygen2 would write.
    """
    lines = []
    for line in rd_code(text).split("\n"):
        body = line.lstrip()
        lines.append(line[: len(line) - len(body)] + "{}" + body if body.startswith("@") else line)
    return "\n".join(lines)


def rd_line(text: str) -> str:
    """One-line Rd text (titles, argument descriptions)."""
    return " ".join(rd_text(text).split())


def rd_code(code: str) -> str:
    """R code (usage, examples) inside an Rd file, where `%` starts a comment and backslashes and
    braces are Rd syntax."""
    return code.replace("\\", "\\\\").replace("%", "\\%").replace("{", "\\{").replace("}", "\\}")


def roxygen_text(text: str) -> str:
    """Text for roxygen comments (markdown off): Rd escapes, and `@` doubled so no line reads as a tag."""
    return rd_text(text).replace("@", "@@")


def roxygen_lines(text: str) -> str:
    """Multi-line text as roxygen comment lines (`#'` alone for blank lines)."""
    return "\n".join("#' " + line if line.strip() else "#'" for line in roxygen_text(text).split("\n"))


def dcf_text(text: str) -> str:
    """One-line text for a DESCRIPTION field (continuation lines would need indenting)."""
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# TOML, Markdown


def _toml_char(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cs"):
        return f"\\u{ord(char):04X}"
    return char


def toml_string(text: str) -> str:
    """A TOML basic string: UTF-8 kept as is, quotes, backslashes and control characters escaped
    (json.dumps would write astral characters as surrogate pairs, which TOML rejects)."""
    return _quoted(text, _toml_char)


MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~!#])")
MARKDOWN_BLOCK_START = re.compile(r"^(\s*)([-+=]|\d+[.)])(?=\s|$)")


def markdown_text(text: str) -> str:
    """Text shown literally in Markdown: inline markup and HTML escaped, and no line can start a
    list, heading, quote or rule."""
    lines = []
    for line in text.split("\n"):
        line = MARKDOWN_SPECIAL.sub(r"\\\1", line)
        lines.append(MARKDOWN_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line))
    return "\n".join(lines)


def markdown_cell(text: str) -> str:
    """Text in one cell of a Markdown table (one line)."""
    return markdown_text(" ".join(text.split()))


def markdown_code_span(code: str) -> str:
    """Inline code that holds any backticks, safe in a table cell (`|` escaped, as GFM requires)."""
    code = " ".join(code.split()).replace("|", "\\|")
    runs = [len(run) for run in re.findall(r"`+", code)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def markdown_fence(*texts: str) -> str:
    """A code fence longer than any backtick run in the texts a code block will hold."""
    runs = [len(run) for text in texts for run in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)

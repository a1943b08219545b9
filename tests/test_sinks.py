"""The sink writers: any text in, a valid literal of the same text out (property-based)."""

from __future__ import annotations

import ast
import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from scaffold import sinks

# Text a spec can hold: anything but the characters refused at load (and the writers must not
# break even on those).
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
SPEC_TEXT = ANY_TEXT.filter(lambda t: sinks.refused_character(t, multiline=True) is None)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_python_string_reads_back(text):
    assert ast.literal_eval(sinks.python_string(text)) == text


@settings(max_examples=300, deadline=None)
@given(SPEC_TEXT)
def test_python_docstring_reads_back(text):
    source = f'def f():\n    """{sinks.python_docstring(text)}"""\n'
    tree = ast.parse(source)
    assert ast.get_docstring(tree.body[0], clean=False) == text


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.integers() | st.text(max_size=5))
def test_python_message_shows_text_and_value_only(text, value):
    code = compile(ast.parse(sinks.python_message(text, "value"), mode="eval"), "<message>", "eval")
    assert eval(code, {}, {"value": value}) == f"{text}{value!r}."  # a test evaluating generated code


@settings(max_examples=300, deadline=None)
@given(SPEC_TEXT)
def test_toml_string_reads_back(text):
    assert tomllib.loads(f"x = {sinks.toml_string(text)}")["x"] == text


@settings(max_examples=300, deadline=None)
@given(SPEC_TEXT)
def test_r_string_is_ascii_and_escapes_every_quote(text):
    literal = sinks.r_string(text)
    assert literal.isascii() and literal.isprintable()
    body = literal[1:-1]
    # every quote inside is escaped: removing escaped pairs leaves no bare quote or backslash
    stripped = body.replace("\\\\", "").replace('\\"', "")
    assert '"' not in stripped


@settings(max_examples=300, deadline=None)
@given(SPEC_TEXT)
def test_rd_text_leaves_no_markup(text):
    escaped = sinks.rd_text(text)
    # what is left once escapes (and the empty groups that guard a leading @) are removed
    bare = escaped.replace("\\\\", "").replace("\\{", "").replace("\\}", "").replace("\\%", "").replace("{}", "")
    assert not any(char in bare for char in "{}%\\")


def test_docstring_keeps_ordinary_quotes_readable():
    assert sinks.python_docstring('a "word" here') == 'a "word" here'
    assert sinks.python_docstring('ends in "') == 'ends in \\"'
    assert sinks.python_docstring('x """ y') == 'x \\"\\"\\" y'


def test_markdown_code_span_and_fence_outgrow_backticks():
    assert sinks.markdown_code_span("a ``` b") == "````a ``` b````"
    assert sinks.markdown_code_span("`x`") == "`` `x` ``"
    assert sinks.markdown_fence("x", "a ```` b") == "`````"
    assert sinks.markdown_fence("plain") == "```"
    assert sinks.markdown_code_span("a|b") == "`a\\|b`"


def test_refused_characters():
    assert sinks.refused_character("ok 😀 é", multiline=False) is None
    assert sinks.refused_character("two\nlines", multiline=True) is None
    assert sinks.refused_character("two\nlines", multiline=False) == 3
    assert sinks.refused_character("nul\x00", multiline=True) == 3
    assert sinks.refused_character("rtl\u202e", multiline=True) == 3

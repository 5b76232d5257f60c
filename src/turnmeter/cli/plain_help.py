"""``turnmeter --help`` without argparse: the bytes argparse would print, from the same table.

Importing argparse (with gettext, locale and textwrap, which it loads to print help) costs as
much as the rest of ``turnmeter --help``. This module lays out the top-level help as argparse's
``HelpFormatter`` does for this one parser shape (usage, description, a ``COMMAND`` positional
listing the subcommands, flags, epilog), wrapping text as ``textwrap.wrap`` does. Two layout
rules changed between Python versions (see :data:`_RULES`); on a version not checked here, or a
text the port does not cover (non-ASCII, ``%`` escapes), :func:`top_level_help` returns None and
argparse prints the help. ``tests/cli/test_plain_help.py`` holds the output to argparse's.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs a third of --help
if TYPE_CHECKING:
    from collections.abc import Sequence

#: Per Python version: (the positional's usage "COMMAND ..." wraps as one part, a subcommand's
#: indent counts towards the help column). Both became true in 3.13 (and in later 3.12 patch
#: releases, so 3.12 is left to argparse); 3.14 colours its help, so it is left to argparse too.
_RULES: dict[tuple[int, int], tuple[bool, bool]] = {(3, 11): (False, False), (3, 13): (True, True)}
HELP_FLAG = ("-h, --help", "show this help message and exit")  # argparse's own -h
_PUNCT = frozenset("!\"'&.,?")


def terminal_columns() -> int:
    """shutil.get_terminal_size's rule ($COLUMNS, else stdout's terminal, else 80), without
    importing shutil (which pulls in bz2, lzma and zlib)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def top_level_help(columns: int | None = None) -> str | None:
    """What ``turnmeter --help`` prints at ``columns`` (default: the terminal's), or None
    where only argparse can say (see the module's docstring)."""
    from turnmeter.cli import COMMANDS, DESCRIPTION, EPILOG, FLAGS, PROG

    rules = _RULES.get(sys.version_info[:2])
    flags = (HELP_FLAG, *FLAGS)
    helps = [c.help for c in COMMANDS] + [text for _, text in flags]
    texts = [PROG, DESCRIPTION, EPILOG, *helps, *(c.name for c in COMMANDS)]
    if rules is None or not all(t.isascii() for t in texts) or any("%" in t for t in texts):
        return None
    whole_positional, indent_counts = rules
    width = (terminal_columns() if columns is None else columns) - 2
    commands = [(c.name, c.help) for c in COMMANDS]
    longest = max(
        len("COMMAND") + 2,
        *(len(name) + (4 if indent_counts else 2) for name, _ in commands),
        *(len(flag) + 2 for flag, _ in flags),
    )
    column = min(longest + 2, min(24, max(width - 20, 4)))
    flag_usage = [f"[{flag.split(',')[0]}]" for flag, _ in flags]
    positional_usage = ["COMMAND ..."] if whole_positional else ["COMMAND", "..."]
    parts = [
        _usage(PROG, flag_usage, positional_usage, width),
        _text(DESCRIPTION, width),
        _section("positional arguments", [_action("COMMAND", None, commands, column, width)]),
        _section("options", [_action(flag, text, [], column, width) for flag, text in flags]),
        _text(EPILOG, width),
    ]
    text = "".join(parts)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip("\n") + "\n"


def _usage(prog: str, flags: list[str], positionals: list[str], width: int) -> str:
    prefix = "usage: "
    usage = " ".join([prog, *flags, *positionals])
    if len(prefix) + len(usage) > width:
        if len(prefix) + len(prog) <= 0.75 * width:
            indent = " " * (len(prefix) + len(prog) + 1)
            lines = _usage_lines([prog, *flags], indent, width, prefix)
            lines += _usage_lines(positionals, indent, width)
        else:
            indent = " " * len(prefix)
            lines = _usage_lines(flags + positionals, indent, width)
            if len(lines) > 1:
                lines = _usage_lines(flags, indent, width)
                lines += _usage_lines(positionals, indent, width)
            lines = [prog, *lines]
        usage = "\n".join(lines)
    return f"{prefix}{usage}\n\n"


def _usage_lines(
    parts: Sequence[str], indent: str, width: int, prefix: str | None = None
) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    length = (len(indent) if prefix is None else len(prefix)) - 1
    for part in parts:
        if length + 1 + len(part) > width and line:
            lines.append(indent + " ".join(line))
            line, length = [], len(indent) - 1
        line.append(part)
        length += len(part) + 1
    if line:
        lines.append(indent + " ".join(line))
    if prefix is not None:
        lines[0] = lines[0][len(indent) :]
    return lines


def _text(text: str, width: int) -> str:
    return "\n".join(wrap(text, max(width, 11))) + "\n\n"


def _section(heading: str, items: list[str]) -> str:
    return f"\n{heading}:\n{''.join(items)}\n"


def _action(
    invocation: str,
    text: str | None,
    subactions: list[tuple[str, str]],
    column: int,
    width: int,
    indent: int = 2,
) -> str:
    help_width = max(width - column, 11)
    action_width = column - indent - 2
    pad = " " * indent
    same_line = bool(text) and len(invocation) <= action_width
    parts = [f"{pad}{invocation.ljust(action_width)}  " if same_line else f"{pad}{invocation}\n"]
    if text and text.strip():
        first, *rest = wrap(text, help_width)
        parts.append(("" if same_line else " " * column) + first + "\n")
        parts += [" " * column + line + "\n" for line in rest]
    elif same_line:
        parts.append("\n")
    for name, subtext in subactions:
        parts.append(_action(name, subtext, [], column, width, indent + 2))
    return "".join(parts)


def wrap(text: str, width: int) -> list[str]:
    """``textwrap.wrap(text, width)`` for ASCII text after argparse's whitespace clean-up."""
    for space in "\t\n\x0b\x0c\r":
        text = text.replace(space, " ")
    words = [word for word in text.split(" ") if word]
    chunks: list[str] = []
    for word in words:
        chunks += [" ", *_word_chunks(word)] if chunks else _word_chunks(word)
    return _wrap_chunks(chunks, width)


def _letter(word: str, i: int) -> bool:
    return 0 <= i < len(word) and (word[i].isalpha() or word[i] == "_")


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _dashes_then_word(word: str, i: int) -> bool:
    # textwrap's `-{2,}(?=\w)` at i
    end = i
    while end < len(word) and word[end] == "-":
        end += 1
    return end - i >= 2 and end < len(word) and _word_char(word[end])


def _after_punct(word: str, i: int) -> bool:
    return i > 0 and (_word_char(word[i - 1]) or word[i - 1] in _PUNCT)


def _hyphen_breaks(word: str, i: int) -> bool:
    # textwrap breaks after the hyphen at i in "two-letter-words", not in "--flag" or "x-1"
    behind = (_letter(word, i - 2) and _letter(word, i - 1)) or (
        _letter(word, i - 3) and word[i - 2] == "-" and _letter(word, i - 1)
    )
    ahead = _letter(word, i + 1) and (
        _letter(word, i + 2) or (i + 2 < len(word) and word[i + 2] == "-" and _letter(word, i + 3))
    )
    return behind and ahead


def _word_chunks(word: str) -> list[str]:
    """textwrap's ``wordsep_re`` split of one word (no whitespace), ASCII only."""
    if "-" not in word:  # only hyphens and dashes split a word
        return [word]
    chunks = []
    start = 0
    while start < len(word):
        end = start
        if _after_punct(word, start) and _dashes_then_word(word, start):  # an em-dash
            while word[end] == "-":
                end += 1
        else:
            end += 1
            while end < len(word):
                if word[end] == "-" and _hyphen_breaks(word, end):
                    end += 1
                    break
                if _after_punct(word, end) and _dashes_then_word(word, end):
                    break
                end += 1
        chunks.append(word[start:end])
        start = end
    return chunks


def _wrap_chunks(chunks: list[str], width: int) -> list[str]:
    """textwrap.TextWrapper._wrap_chunks with its defaults (no indents, no max_lines)."""
    lines: list[str] = []
    chunks.reverse()
    while chunks:
        line: list[str] = []
        length = 0
        if chunks[-1] == " " and lines:
            del chunks[-1]
        while chunks and length + len(chunks[-1]) <= width:
            length += len(chunks[-1])
            line.append(chunks.pop())
        if chunks and len(chunks[-1]) > width:
            _split_long_word(chunks, line, length, width)
        if line and line[-1] == " ":
            del line[-1]
        if line:
            lines.append("".join(line))
    return lines


def _split_long_word(chunks: list[str], line: list[str], length: int, width: int) -> None:
    space_left = 1 if width < 1 else width - length
    chunk = chunks[-1]
    end = space_left
    if len(chunk) > space_left:
        hyphen = chunk.rfind("-", 0, space_left)
        if hyphen > 0 and any(c != "-" for c in chunk[:hyphen]):
            end = hyphen + 1
    line.append(chunk[:end])
    chunks[-1] = chunk[end:]

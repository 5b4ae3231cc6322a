"""``-`` for standard input and output, messages read from standard input, and output folders checked
before any data is read."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import click

from triage.boilerplate import Boilerplate
from triage.exceptions import TriageError

__all__ = [
    "STDIO",
    "Message",
    "check_folders",
    "echo",
    "not_stdio",
    "notify",
    "read_texts",
    "stdin_split_options",
    "stdin_spooled",
    "stdout_spooled",
    "template_line",
    "visible",
]

STDIO = "-"


# Control characters (C0 but line feed and tab, DEL, C1) as the escapes Python writes them ("\x1b"): a label, a
# column name or a department name from a file or an untrusted model must not move the cursor, retitle the
# window or clear the screen of the terminal it is shown on.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"}


def visible(text: str) -> str:
    """``text`` with its control characters shown as escapes, for a line on the terminal."""
    return text.translate(_CONTROLS)


def echo(line: str = "", *, err: bool = False, nl: bool = True) -> None:
    """A line for people (stdout, or stderr with ``err``), its control characters shown as escapes
    (:func:`visible`); data written to standard output (CSV, JSON) goes through ``click.echo`` as it is."""
    click.echo(visible(line), err=err, nl=nl)


def template_line(template: dict[str, list[str]], before: str) -> str | None:
    """The line telling which template (:mod:`triage.boilerplate`) was cut ``before`` what; None for none."""
    phrases = Boilerplate.from_record(template).shown()
    return f"template cut before {before} (--keep-template keeps it) 模板: {phrases}" if phrases else None


def notify(line: str) -> None:
    """A line for the user on stderr (what was read and decided), beside the output on stdout."""
    echo(line, err=True)


@contextlib.contextmanager
def stdin_spooled(path: Path, file_format: str) -> Iterator[tuple[Path, str]]:
    """``(path, format)``; for ``-``, standard input in a temporary file, read as CSV unless --format says."""
    if str(path) != STDIO:
        yield path, file_format
        return
    kind = "csv" if file_format == "auto" else file_format
    with tempfile.TemporaryDirectory(prefix="triage-stdin-") as folder:
        spooled = Path(folder) / f"stdin.{kind}"
        with spooled.open("wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        try:
            yield spooled, kind
        except TriageError as error:  # named the temporary file, which the user never saw
            if str(spooled) not in str(error):
                raise
            raise type(error)(str(error).replace(str(spooled), "standard input")) from None


@contextlib.contextmanager
def stdout_spooled(path: Path, output_format: str) -> Iterator[tuple[Path, str]]:
    """``(path, format)``; for ``-``, a temporary file (CSV unless a format is given) copied to standard
    output once complete, so a failed run prints no half file."""
    if str(path) != STDIO:
        yield path, output_format
        return
    kind = "csv" if output_format == "auto" else output_format
    with tempfile.TemporaryDirectory(prefix="triage-stdout-") as folder:
        spooled = Path(folder) / f"stdout.{kind}"
        yield spooled, kind
        sys.stdout.flush()  # what click.echo wrote comes first
        with spooled.open("rb") as handle:
            shutil.copyfileobj(handle, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def not_stdio(**paths: Path | None) -> None:
    """Refuse ``-`` for options that name a directory or a file that must stay on disk."""
    for option, path in paths.items():
        if path is not None and str(path) == STDIO:
            raise click.UsageError(f"{option} names a directory or a file kept on disk; '-' (stdin/stdout) cannot")


def check_folders(**paths: Path | None) -> None:
    """Refuse outputs whose folder does not exist, before any data is read (``-`` is standard output)."""
    for option, path in paths.items():
        if path is not None and str(path) != STDIO and not path.absolute().parent.is_dir():
            raise click.BadParameter(
                f"folder {path.absolute().parent} does not exist; create it first", param_hint=option
            )


class Message(NamedTuple):
    """A message of a command's TEXT arguments or standard input; ``error`` says why one on standard input
    could not be read (its ``text`` is then empty), so that the others are still classified."""

    text: str
    error: str = ""


# What a byte order mark at the start of standard input says it is: UTF-16 (Notepad's "Unicode", a Windows
# console's `type` of such a file), whose line ends are two bytes and whose bytes 0x0A may be half of any
# character; else UTF-8 (its mark, from Notepad or PowerShell, is not part of the first message) or GB18030.
_UTF16_MARKS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_UTF8_MARK = b"\xef\xbb\xbf"


def _stdin_messages(jsonl: bool, null: bool) -> list[Message]:
    """Messages on standard input: one per line, or with ``jsonl`` one JSON string (or object with a
    ``text``) per line, or with ``null`` separated by NUL bytes (both keep line breaks inside a message).
    Split as bytes (a line end and a NUL are never part of a UTF-8 or GB18030 character; UTF-16, told by its
    byte order mark, is split at whole code units), then decoded (:func:`_decoded`): a message that cannot
    be read is an error of its own, not of the whole input."""
    data = sys.stdin.buffer.read()
    utf16 = _UTF16_MARKS.get(data[:2])
    data = data[2:] if utf16 else data.removeprefix(_UTF8_MARK)
    line_end, nul, cr = (character.encode(utf16 or "ascii") for character in "\n\0\r")
    if null:
        items = _split(data, nul)
        items = items[:-1] if items[-1] in (b"", line_end) else items
    else:  # newlines only: str.splitlines would also break at U+2028 and other separators
        items = [line.removesuffix(cr) for line in _split(data, line_end)]
        items = items[:-1] if items[-1] == b"" else items
    messages = _decoded(items, "line" if not null else "message", utf16)
    if not jsonl:
        return messages
    return [
        _json_message(message.text, number) if not message.error else message
        for number, message in enumerate(messages, start=1)
        if message.error or message.text.strip()
    ]


def _split(data: bytes, separator: bytes) -> list[bytes]:
    """``data.split(separator)``, a separator counting only where it starts a whole code unit (a UTF-16 line
    end is ``0A 00``, and ``00 0A`` across two characters is none)."""
    unit = len(separator)
    if unit == 1:
        return data.split(separator)
    items, start, at = [], 0, 0
    while (at := data.find(separator, at)) != -1:
        if at % unit:
            at += 1
            continue
        items.append(data[start:at])
        start = at = at + unit
    items.append(data[start:])
    return items


def _decoded(items: list[bytes], unit: str, utf16: str | None = None) -> list[Message]:
    """``items`` as text: in ``utf16`` when given (an item that is not is its own error); else UTF-8, or an
    input that is not UTF-8 but is GB18030 throughout (a Windows console's pipe) as GB18030, saying so;
    otherwise an item that is not UTF-8 is its own error."""
    if utf16:
        notify("stdin read as UTF-16 (its byte order mark says so)")
        return [_message_in(item, utf16, f"stdin {unit} {number}") for number, item in enumerate(items, start=1)]
    for encoding in ("utf-8", "gb18030"):
        try:
            texts = [item.decode(encoding) for item in items]
        except UnicodeDecodeError:
            continue
        if encoding != "utf-8":
            notify(f"stdin is not UTF-8; read as {encoding} (GB18030 is a superset of GBK and GB2312)")
        return [Message(text) for text in texts]
    return [_message_in(item, "utf-8", f"stdin {unit} {number}") for number, item in enumerate(items, start=1)]


def _message_in(item: bytes, encoding: str, where: str) -> Message:
    try:
        return Message(item.decode(encoding))
    except UnicodeDecodeError as error:
        name = encoding.upper().removesuffix("-LE").removesuffix("-BE")
        return Message(
            "",
            f"{where} is not {name} text ({error.reason} at byte {error.start}); convert it to UTF-8 and send it again",
        )


def _json_message(line: str, number: int) -> Message:
    """The message on line ``number`` of --jsonl input."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return Message("", f"stdin line {number} is not JSON ({error.msg}); --jsonl reads one per line")
    text = item.get("text") if isinstance(item, dict) else item
    if not isinstance(text, str):
        return Message("", f'stdin line {number} is neither a JSON string nor an object with a "text" string')
    return Message(text)


def read_texts(texts: tuple[str, ...], *, jsonl: bool = False, null: bool = False) -> list[Message]:
    """The messages of a command's TEXT arguments, ``-`` read from standard input."""
    if not texts:
        raise click.UsageError("give at least one TEXT, or - to read one message per line from stdin")
    if jsonl and null:
        raise click.UsageError("use --jsonl or --null, not both")
    if (jsonl or null) and STDIO not in texts:
        raise click.UsageError("--jsonl and --null say how standard input is split: add - to read it")
    collected: list[Message] = []
    for text in texts:
        collected.extend(_stdin_messages(jsonl, null) if text == STDIO else [Message(text)])
    return collected


def stdin_split_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--jsonl`` and ``--null``: how ``-`` splits standard input into messages that may span lines."""
    command = click.option(
        "--null",
        "-0",
        is_flag=True,
        help="With -: messages are separated by NUL bytes (find -print0, xargs -0), so they may span lines.",
    )(command)
    return click.option(
        "--jsonl",
        is_flag=True,
        help='With -: one JSON string, or object with a "text" string, per line, so messages may span lines.',
    )(command)

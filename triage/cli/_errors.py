"""What a command does with an exception: a user error is one line, a bug its traceback.

A user error is one the user can fix: triage's own errors (:class:`~triage.exceptions.TriageError`:
a file that cannot be read as asked, a bad routing config or model directory, too few labels, a
missing extra), files that are missing, exist already or cannot be read or written
(:class:`OSError`), and bytes that are not in the encoding asked for (:class:`UnicodeDecodeError`).
It becomes ``Error: <message>`` and exit status 1; output piped to a reader that stopped reading
(``| head``) ends the command quietly with the status of SIGPIPE (141). Anything else (a ``ValueError``, ``TypeError``
or ``KeyError`` from triage's own code) is a bug: it keeps its traceback, so that it can be
reported and fixed rather than mistaken for a problem with the data.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import sys
import warnings
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, NoReturn, cast

import click

from triage.cli._stdio import echo, visible
from triage.exceptions import TriageError

__all__ = ["SIGPIPE_STATUS", "USER_ERRORS", "disk_full", "handles_user_errors", "interrupted"]

#: The exceptions a command reports in one line (see the module docstring).
USER_ERRORS: tuple[type[BaseException], ...] = (TriageError, OSError, UnicodeDecodeError)

#: The exit status of a command whose output's reader stopped reading: a shell's for death by SIGPIPE (128 + 13).
SIGPIPE_STATUS = 141


def interrupted(what_now: str) -> NoReturn:
    """Ctrl-C: say what became of the work, then exit 130 as shells expect (128 + SIGINT)."""
    click.echo(f"Interrupted: {what_now}.", err=True)
    raise click.exceptions.Exit(130)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """User errors as one-line click errors, warnings as one-line notices, Ctrl-C as exit 130."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
            sys.stdout.flush()  # here a reader gone is caught, not at the interpreter's exit
        except USER_ERRORS as error:
            if _abandoned(error):
                raise click.exceptions.Exit(SIGPIPE_STATUS) from None
            raise click.ClickException(visible(_said(error))) from None
        except KeyboardInterrupt:
            interrupted("nothing was saved")
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            _flush_unless_abandoned()
            raise  # click reports these itself
        except Exception:
            click.echo("triage stopped on an internal error (a bug); please report it with this traceback:", err=True)
            raise
        finally:
            for warning in caught:
                echo(f"Warning: {warning.message}", err=True)


def _abandoned(error: BaseException) -> bool:
    """Whether ``error`` is standard output's reader having stopped reading (``| head``), not another pipe
    (a worker's) breaking: the write end of a pipe whose reader closed polls as an error. If so, standard
    output now points at /dev/null, so that the interpreter's last flush of what is still buffered fails
    no more (and warns no more)."""
    if not isinstance(error, BrokenPipeError) or not hasattr(select, "poll"):
        return False
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation: no file descriptor (a test runner's capture)
        return False
    poller = select.poll()
    poller.register(descriptor, 0)
    if not any(events & select.POLLERR for _, events in poller.poll(0)):
        return False
    os.dup2(os.open(os.devnull, os.O_WRONLY), descriptor)
    return True


def _flush_unless_abandoned() -> None:
    """Flush standard output before click reports an error or exits, unless its reader is gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError as error:
        if not _abandoned(error):
            raise


def disk_full(error: BaseException) -> bool:
    """Whether ``error`` is running out of free space or quota."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _said(error: BaseException) -> str:
    """The one line of a user error: a full disk, which a write reports with no file name, says what to do."""
    if disk_full(error) and not cast(OSError, error).filename:
        return f"{cast(OSError, error).strerror}: free some space and run the command again"
    return str(error)


def handles_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``command`` under the error policy of the module docstring."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _user_errors():
            return command(*args, **kwargs)

    return wrapper

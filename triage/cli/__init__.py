"""The ``triage`` command line: a thin layer over the library.

Each command parses its options, calls one library function and prints what it returns. A user
error (bad data, a missing file, a wrong option) is one line and exit status 1 (2 for usage
errors); a bug keeps its traceback (:mod:`triage.cli._errors`). The commands live by family:
:mod:`~triage.cli._messages` (classify, route), :mod:`~triage.cli._models` (train, evaluate,
audit-labels, info) and :mod:`~triage.cli._exports` (tag, hot); their shared options are in
:mod:`~triage.cli._options`.
"""

from __future__ import annotations

import click

from triage._optional import DISTRIBUTION
from triage.cli._exports import hot, tag
from triage.cli._messages import classify, route
from triage.cli._models import audit_labels, evaluate, info, train

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION)
def cli() -> None:
    """triage: route Chinese petitions and complaints to the department that owns them.

    诉求分拨：判断留言、工单、来信应由哪个部门办理。
    """


for _command in (classify, route, info, train, evaluate, audit_labels, tag, hot):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="triage")

"""Commands on whole export files: ``tag`` (every row, locally or on Dask) and ``hot`` (hot topics)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from triage.cli._errors import disk_full, handles_user_errors, interrupted
from triage.cli._options import (
    INPUT_FILE,
    SIMILARITY,
    config_option,
    group_threshold_options,
    group_threshold_value,
    model_option,
    raw_cells_option,
    table_options,
)
from triage.cli._stdio import STDIO, check_folders, echo, not_stdio, stdin_spooled, stdout_spooled, template_line
from triage.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_HALF_LIFE_DAYS, DEFAULT_HOT_MIN_SIZE, DEFAULT_HOT_TOP
from triage.io import FORMATS

__all__ = ["hot", "tag"]

#: Options of ``tag`` that ``--engine dask`` cannot honour, by parameter name.
_NOT_WITH_DASK = {
    "sheet": "--sheet",
    "id_column": "--id-column",
    "resume": "--resume",
    "stop_after": "--stop-after",
    "summary_path": "--summary",
    "file_format": "--format",
    "output_format": "--output-format",
    "chunk_size": "--chunk-size",
}


@click.command(short_help="Tag every row of an export file. 批量分拨")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help="Output file (format by suffix: .csv .tsv .jsonl .parquet .xlsx; - for standard output, CSV unless "
    "--output-format says otherwise). 输出文件",
)
@table_options
@click.option("--id-column", default=None, help="Column identifying rows (kept as is; checked to exist).")
@click.option(
    "--output-format",
    type=click.Choice(["auto", *FORMATS]),
    default="auto",
    show_default=True,
    help="Output format (auto: by suffix).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Rows classified together; memory grows with it, not with the file.",
)
@click.option(
    "--jobs",
    "--n-jobs",
    "n_jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes that read, classify and write their own share of the rows (n_jobs; each holds the "
    "model once). Default: one per core present (files under 1 MiB: one). 并行进程数",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint. 断点续跑")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--stop-after", type=click.IntRange(min=1), default=None, help="Tag only the first N rows (a trial).")
@click.option("--silent", is_flag=True, help="No progress bar and no run summary on stderr.")
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the run summary as JSON here.",
)
@config_option("adds urgency, local_office and co_handlers columns.")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: INPUT is a Parquet directory or a glob of CSV/TSV/JSONL/XLSX files, OUTPUT a Parquet directory.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (default: a local cluster of --jobs workers).")
@click.option(
    "--group",
    is_flag=True,
    help="Add group_id (row number of the group's first row) and group_size for near-duplicates; "
    "reads the texts in a first pass. 相似诉求归并",
)
@group_threshold_options
@click.option(
    "--keep-template",
    is_flag=True,
    help="Classify messages as written: by default the phrases that open or close a tenth of the first "
    "5,000 rows (a hotline's 市民来电反映：… template) are cut first, or, where they teach none, the template the "
    "model was trained without. 保留模板",
)
@raw_cells_option
@model_option
@handles_user_errors
def tag(
    input_path: Path,
    output: Path,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    id_column: str | None,
    output_format: str,
    chunk_size: int,
    n_jobs: int | None,
    resume: bool,
    overwrite: bool,
    stop_after: int | None,
    silent: bool,
    summary_path: Path | None,
    config: Any,
    engine: str,
    scheduler: str | None,
    group: bool,
    group_threshold: float,
    old_threshold: float | None,
    keep_template: bool,
    raw_cells: bool,
    model_path: Path | None,
) -> None:
    """Tag every row of an export (CSV/TSV incl. GBK, XLSX, JSONL, Parquet). 批量分拨.

    Every input row comes out, in order, with department, department_name, confidence,
    candidates, needs_review, review_reason and error columns added. INPUT '-' reads standard
    input (CSV unless --format says otherwise).
    """
    group_threshold = group_threshold_value(group_threshold, old_threshold)
    if engine == "dask":
        _tag_on_dask(
            input_path,
            output,
            text_columns,
            encoding,
            scheduler,
            n_jobs,
            overwrite,
            model_path,
            group_threshold if group else None,
            config,
            not keep_template,
        )
        return
    if str(input_path) != STDIO and input_path.is_dir():
        raise click.BadParameter(
            f"{input_path} is a folder: tag one file, or a folder of Parquet files with --engine dask",
            param_hint="INPUT",
        )
    if str(input_path) != STDIO and not input_path.is_file():
        raise click.BadParameter(f"no such file: {input_path}", param_hint="INPUT")
    if resume and STDIO in (str(input_path), str(output)):
        raise click.UsageError("--resume continues a run from file to file; '-' (stdin/stdout) cannot be resumed")
    check_folders(**{"-o": output, "--summary": summary_path})
    summary = _tag_file(
        input_path,
        output,
        file_format,
        output_format,
        model_path=model_path,
        config=config,
        text_columns=text_columns,
        id_column=id_column,
        encoding=encoding,
        sheet=sheet,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
        resume=resume,
        overwrite=overwrite,
        stop_after=stop_after,
        progress=not silent,
        summary_path=summary_path,
        group=group,
        group_threshold=group_threshold,
        spreadsheet_safe=not raw_cells,
        cut_template=not keep_template,
    )
    if not silent:
        _report_tagging(summary)
    if summary.failure():
        raise click.ClickException(f"{summary.failure()}; output written to {output}")


def _tag_file(input_path: Path, output: Path, file_format: str, output_format: str, **options: Any) -> Any:
    """:func:`triage.batch.tag_file` (``options``) from ``input_path`` to ``output``, either of them ``-``;
    on Ctrl-C, or when the disk fills up, say what was kept and how to continue."""
    from triage.batch import tag_file

    try:
        with (
            stdin_spooled(input_path, file_format) as (source, input_kind),
            stdout_spooled(output, output_format) as (target, output_kind),
        ):
            return tag_file(source, target, input_format=input_kind, output_format=output_kind, **options)
    except KeyboardInterrupt:
        interrupted(_resume_advice(output, output_format))
    except OSError as error:  # a write says "[Errno 28] No space left on device", not where nor what now
        if not disk_full(error):
            raise
        raise click.ClickException(
            f"{error.strerror} while tagging into {output}: free some space; {_resume_advice(output, output_format)}"
        ) from None


def _tag_on_dask(
    source: Path,
    output: Path,
    text_columns: tuple[str, ...],
    encoding: str,
    scheduler: str | None,
    n_jobs: int | None,
    overwrite: bool,
    model_path: Path | None,
    group_threshold: float | None,
    config: Any,
    cut_template: bool,
) -> None:
    """``triage tag --engine dask``: refuse the options Dask cannot honour, then tag into a Parquet dataset."""
    not_stdio(**{"INPUT (with --engine dask)": source, "-o (with --engine dask)": output})
    context = click.get_current_context()
    defaults = {parameter.name: parameter.default for parameter in context.command.params}
    given = [
        option
        for name, option in _NOT_WITH_DASK.items()
        if context.params[name] not in (None, False, defaults[name])  # a flag's default is click's UNSET
    ]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot be used with --engine dask")
    from triage.dask import tag_dataset

    address = tag_dataset(
        str(source),
        output,
        text_columns=text_columns,
        encoding=encoding,
        scheduler=scheduler,
        n_jobs=n_jobs,
        model_path=model_path,
        group_threshold=group_threshold,
        config=config,
        overwrite=overwrite,
        cut_template=cut_template,
    )
    echo(f"tagged into {output} on {address}", err=True)


def _report_tagging(summary: Any) -> None:
    echo(f"text columns: {' + '.join(summary.text_columns)}", err=True)
    if summary.encoding:
        echo(f"encoding: {summary.encoding}", err=True)
    if line := template_line(summary.template, "classifying"):
        echo(line, err=True)
    resumed = f" (resumed after row {summary.resumed_after_rows})" if summary.resumed_after_rows else ""
    echo(
        f"rows in {summary.rows_in}, rows out {summary.rows_out}{resumed}; needs review {summary.needs_review}; "
        f"errors {summary.errors}; {summary.elapsed_seconds:.1f} s, {summary.rows_per_second:.0f} rows/s",
        err=True,
    )
    counts = ", ".join(f"{code} {n}" for code, n in summary.departments.items())
    echo(f"departments: {counts or '(no rows)'}", err=True)
    if summary.suspect_rows:
        rows = ", ".join(map(str, summary.suspect_rows[:10]))
        echo(f"check rows {rows}: a cell holds what look like further rows (a stray quote?)", err=True)


@click.command(short_help="Hot topics: near-duplicate groups ranked. 热点问题")
@click.argument("input_path", metavar="INPUT", type=INPUT_FILE)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help="Report file: .csv (one row per topic) or .html (a page to read); - for CSV on standard output. 报告文件",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, allow_dash=True),
    default=None,
    help="Also write an HTML report here (- for standard output).",
)
@table_options
@click.option("--time-column", default=None, help="Column with the message time (recency). 时间列")
@click.option("--likes-column", default=None, help="Column with likes / supporters (adds to hotness). 点赞列")
@click.option("--id-column", default=None, help="Column naming members in the report (default: row number).")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=DEFAULT_HOT_TOP,
    show_default=True,
    help="Number of topics to report, hottest first.",
)
@click.option(
    "--min-size",
    type=click.IntRange(min=1),
    default=DEFAULT_HOT_MIN_SIZE,
    show_default=True,
    help="Fewest messages a topic can have.",
)
@click.option(
    "--half-life",
    "half_life",
    type=click.FloatRange(min=0),
    default=DEFAULT_HALF_LIFE_DAYS,
    show_default=True,
    help="Days after which a message counts half in hotness (0: no recency decay).",
)
@group_threshold_options
@click.option(
    "--concern-threshold",
    type=SIMILARITY,
    default=None,
    help="Similarity of two messages' key words (and places) from which they are one concern "
    "[default: 0.25; see triage.concerns].",
)
@click.option("--copies-only", is_flag=True, help="Topics are near-duplicate groups only, not concerns.")
@click.option("--overwrite", is_flag=True, help="Replace existing report files.")
@click.option("--silent", is_flag=True, help="No progress bars on stderr.")
@raw_cells_option
@model_option
@handles_user_errors
def hot(
    input_path: Path,
    output: Path,
    html_path: Path | None,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    time_column: str | None,
    likes_column: str | None,
    id_column: str | None,
    top: int,
    min_size: int,
    half_life: float,
    group_threshold: float,
    old_threshold: float | None,
    concern_threshold: float | None,
    copies_only: bool,
    overwrite: bool,
    silent: bool,
    raw_cells: bool,
    model_path: Path | None,
) -> None:
    """Hot topics of an export: concerns (one issue at one place or policy, however worded)
    ranked by distinct voices, recency and likes. 热点问题.

    Reads the file twice, streaming: memory grows with the number of messages (about 150 bytes
    each, up to 400 where many are near-duplicates; their signatures wait in a temporary file in
    TMPDIR), not with their text. See triage.hot for the hotness score. INPUT '-' reads standard
    input (CSV unless --format says otherwise).
    """
    from triage.concerns import DEFAULT_CONCERN_THRESHOLD
    from triage.hot import hot_file

    if copies_only and concern_threshold is not None:
        raise click.UsageError("--copies-only and --concern-threshold exclude each other")
    outputs = [output, *([html_path] if html_path else [])]
    to_stdout = [str(path) for path in outputs].count(STDIO)
    if to_stdout > 1:
        raise click.UsageError("-o and --html cannot both be '-' (standard output)")
    check_folders(**{"-o": output, "--html": html_path})
    with contextlib.ExitStack() as spools:
        source, input_kind = spools.enter_context(stdin_spooled(input_path, file_format))
        target, _ = spools.enter_context(stdout_spooled(output, "csv"))
        html_target = spools.enter_context(stdout_spooled(html_path, "html"))[0] if html_path else None
        report = hot_file(
            source,
            target,
            html_path=html_target,
            source_name="stdin" if str(input_path) == STDIO else None,
            overwrite=overwrite,
            model_path=model_path,
            spreadsheet_safe=not raw_cells,
            text_columns=text_columns,
            time_column=time_column,
            likes_column=likes_column,
            id_column=id_column,
            input_format=input_kind,
            encoding=encoding,
            sheet=sheet,
            threshold=group_threshold_value(group_threshold, old_threshold),
            concern_threshold=None if copies_only else (concern_threshold or DEFAULT_CONCERN_THRESHOLD),
            top=top,
            min_size=min_size,
            half_life_days=half_life,
            progress=not silent,
        )
    topics = report.topics
    echo(
        f"{_counted(len(topics), 'topic')} from {_counted(report.n_messages, 'message')}; "
        f"written to {', '.join(map(str, outputs))}",
        err=True,
    )
    for topic in topics:  # on stderr when the report itself goes to standard output
        echo(
            f"{topic.rank:>3}. {_counted(topic.size, 'msg')} ({_counted(topic.voices, 'voice')}), "
            f"hotness {topic.hotness:.2f}, "
            f"{topic.last_time or '-'}, {topic.department_name or '—'}; {topic.place or '—'}: {topic.issue}",
            err=bool(to_stdout),
        )


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _resume_advice(output: Path, output_format: str) -> str:
    """What an interrupted ``triage tag`` leaves behind, and how to continue it."""
    from triage.batch.options import _RESUMABLE
    from triage.io import resolve_format

    if str(output) == STDIO:
        return "nothing was written to standard output; to be able to continue, tag into a CSV, TSV or JSONL file"
    if resolve_format(output, output_format) in _RESUMABLE:
        return f"the rows tagged so far are kept in {output}.partial; run the same command with --resume to continue"
    return f"{output} was not written; --resume can continue CSV, TSV and JSONL outputs only"

"""The ``triage`` command line: a thin layer over the library.

Library errors become one-line messages and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click

from triage.exceptions import TriageError

__all__ = ["cli", "main"]

_model_option = click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Model directory (default: the model shipped with triage). 模型目录",
)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one-line click errors and warnings into one-line notices."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (TriageError, OSError, ValueError, TypeError) as error:
            raise click.ClickException(str(error)) from None
        finally:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)


def _handles_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _user_errors():
            return command(*args, **kwargs)

    return wrapper


def _load_model(model_path: Path | None):
    import triage

    return triage.load(model_path)


def _read_texts(texts: tuple[str, ...]) -> list[str]:
    if not texts:
        raise click.UsageError("give at least one TEXT, or - to read one message per line from stdin")
    collected: list[str] = []
    for text in texts:
        if text == "-":
            try:
                collected.extend(sys.stdin.buffer.read().decode("utf-8-sig").splitlines())
            except UnicodeDecodeError as error:
                raise click.ClickException(
                    f"stdin is not UTF-8 text ({error.reason} at byte {error.start}); "
                    "convert it first, e.g. iconv -f gb18030 -t utf-8"
                ) from None
        else:
            collected.append(text)
    return collected


def _format_classification(result: Any) -> str:
    if result.department is None:
        return f"— 无法分类 not classified [needs review: {result.reason}]"
    head = f"{result.department_name} ({result.department})  置信度 confidence {result.confidence:.2f}"
    if result.needs_review:
        head += f"  [needs review: {result.reason}]"
    candidates = ", ".join(f"{code} {p:.2f}" for code, p in result.candidates)
    lines = [head, f"  候选 candidates: {candidates}"]
    if result.explanation:
        lines.append("  依据 terms: " + ", ".join(term for term, _ in result.explanation))
    if result.truncated:
        lines.append("  (text truncated / 文本过长已截断)")
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="triage")
def cli() -> None:
    """triage: route Chinese petitions and complaints to the department that owns them.

    诉求分拨：判断留言、工单、来信应由哪个部门办理。
    """


@cli.command()
@click.argument("texts", nargs=-1)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Number of candidate departments to show. 候选部门数",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@_model_option
@_handles_user_errors
def classify(texts: tuple[str, ...], top_k: int, as_json: bool, model_path: Path | None) -> None:
    """Classify messages: which department owns each one. 判断诉求所属部门.

    TEXT is a message; '-' reads one message per line from standard input.
    """
    messages = _read_texts(texts)
    model = _load_model(model_path)
    results = model.classify(messages, top_k=top_k)
    for index, result in enumerate(results):
        if as_json:
            click.echo(json.dumps({"index": index, **result.to_dict()}, ensure_ascii=False))
        else:
            if len(results) > 1:
                click.echo(f"[{index}] {messages[index][:40]}")
            click.echo(_format_classification(result))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@_model_option
@_handles_user_errors
def info(as_json: bool, model_path: Path | None) -> None:
    """Show a model's manifest and its department table. 显示模型信息与部门表."""
    from triage.departments import default_directory
    from triage.model import default_model_path
    from triage.persistence import read_manifest

    path = model_path if model_path is not None else default_model_path()
    manifest = read_manifest(path)
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))
        return
    metrics = manifest.get("metrics", {})
    versions = manifest.get("versions", {})
    click.echo(f"model:      {path}")
    click.echo(f"format:     {manifest['format']} v{manifest['format_version']}, saved {manifest.get('created', '?')}")
    click.echo("versions:   " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    click.echo(f"trained on: {manifest.get('training_data', {}).get('description', 'not described')}")
    for name, result in metrics.items():
        scores = ", ".join(
            f"{key} {result[key]:.3f}"
            for key in ("accuracy", "top3_accuracy", "macro_f1", "topic_accuracy")
            if key in result
        )
        click.echo(f"{name} (n={result['n']}): {scores}")
    click.echo(f"review threshold: {manifest.get('review_threshold', 0):.3f}")
    click.echo("")
    directory = default_directory()
    click.echo(f"{'code':<34}{'名称':<10}english")
    for label in manifest.get("labels", []):
        department = directory.get(label["code"])
        english = department.english_name if department else ""
        click.echo(f"{label['code']:<34}{label['name']:<10}{english}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="triage")

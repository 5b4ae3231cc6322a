"""Commands on messages given as arguments or on standard input: ``classify`` and ``route``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import triage
from triage.cli._errors import handles_user_errors
from triage.cli._options import config_option, model_option
from triage.cli._stdio import Message, echo, read_texts, stdin_split_options
from triage.defaults import DEFAULT_TOP_K
from triage.text import display_text

__all__ = ["classify", "route"]


def _preview(text: str) -> str:
    """The first 40 characters of a message on one line, personal data masked, for headings of human output."""
    return " ".join(display_text(text, 40).split())


def _format_classification(result: Any) -> str:
    if result.department is None:
        return f"— 无法分类 not classified [needs review: {result.reason}]"
    head = f"{result.department_name} ({result.department})  置信度 confidence {result.confidence:.2f}"
    if result.needs_review:
        head += f"  [needs review: {result.reason}]"
    candidates = ", ".join(f"{code} {p:.2f}" for code, p in result.candidates)
    lines = [head]
    if result.unit is not None:
        lines.append(f"  单位 unit: {result.unit}")
    if result.sub_category is not None:
        lines.append(f"  子类 sub-category: {result.sub_category} ({result.sub_confidence:.2f})")
    lines.append(f"  候选 candidates: {candidates}")
    if result.explanation:
        lines.append("  依据 terms: " + ", ".join(term for term, _ in result.explanation))
    if result.truncated:
        lines.append("  (text truncated / 文本过长已截断)")
    return "\n".join(lines)


def _format_suggestion(suggestion: Any) -> str:
    if suggestion.department is None:
        return f"— 无法分拨 not routed [needs review: {', '.join(suggestion.review_reasons)}]"
    office = f" → {suggestion.local_office}" if suggestion.local_office else ""
    lines = [
        f"{suggestion.department_name} ({suggestion.department}){office}  "
        f"置信度 confidence {suggestion.confidence:.2f}  紧急程度 urgency {suggestion.urgency.value}"
    ]
    if suggestion.unit is not None:
        lines.append(f"  单位 unit: {suggestion.unit}")
    if suggestion.co_handlers:
        lines.append(f"  协办 co-handlers: {', '.join(suggestion.co_handlers)}")
    if suggestion.needs_review:
        lines.append(f"  需复核 needs review: {', '.join(suggestion.review_reasons)}")
    why = [term for term, _ in suggestion.terms] + [f"rule:{name}" for name in suggestion.rules_fired]
    why += [f"place:{place}" for place in suggestion.places]
    if why:
        lines.append(f"  依据 because: {', '.join(why)}")
    return "\n".join(lines)


def _echo_results(
    messages: list[Message], answer: Callable[[list[str]], list[Any]], as_json: bool, formatted: Any
) -> None:
    """The ``answer`` for each readable message, and the error of each one that could not be read, in input
    order: one JSON line each, or each ``formatted`` for people (headed by its message when many). Exits
    with status 1 after them when a message could not be read."""
    answers = iter(answer([message.text for message in messages if not message.error]))
    for index, message in enumerate(messages):
        if message.error:
            if as_json:
                click.echo(json.dumps({"index": index, "error": message.error}, ensure_ascii=False))
            else:
                echo(f"[{index}] — 未读取 not read: {message.error}")
            continue
        result = next(answers)
        if as_json:
            click.echo(json.dumps({"index": index, **result.to_dict()}, ensure_ascii=False))
            continue
        if len(messages) > 1:
            echo(f"[{index}] {_preview(message.text)}")
        echo(formatted(result))
    unread = sum(bool(message.error) for message in messages)
    if unread:
        raise click.ClickException(f"{unread} of {len(messages)} messages could not be read (said above, by index)")


@click.command(short_help="Which department owns each message. 判断诉求所属部门")
@click.argument("texts", nargs=-1)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_K,
    show_default=True,
    help="Number of candidate departments to show. 候选部门数",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@stdin_split_options
@model_option
@handles_user_errors
def classify(
    texts: tuple[str, ...], top_k: int, as_json: bool, jsonl: bool, null: bool, model_path: Path | None
) -> None:
    """Classify messages: which department owns each one. 判断诉求所属部门.

    TEXT is a message; '-' reads messages from standard input, one per line (--jsonl or --null
    for messages that span lines).
    """
    model = triage.load(model_path)
    messages = read_texts(texts, jsonl=jsonl, null=null)
    _echo_results(messages, lambda readable: model.classify(readable, top_k=top_k), as_json, _format_classification)


@click.command(short_help="Suggest where to send each message. 分拨建议")
@click.argument("texts", nargs=-1)
@config_option("it adds local office, co-handlers and urgency to each suggestion.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@stdin_split_options
@model_option
@handles_user_errors
def route(texts: tuple[str, ...], config: Any, as_json: bool, jsonl: bool, null: bool, model_path: Path | None) -> None:
    """Suggest where to send messages: department, local office, co-handlers, urgency. 分拨建议.

    TEXT is a message; '-' reads messages from standard input, one per line (--jsonl or --null
    for messages that span lines).
    """
    model = triage.load(model_path)
    messages = read_texts(texts, jsonl=jsonl, null=null)
    _echo_results(messages, lambda readable: model.route(readable, config=config), as_json, _format_suggestion)

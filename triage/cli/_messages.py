"""Commands on messages given as arguments or on standard input: ``classify`` and ``route``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

import triage
from triage.cli._errors import handles_user_errors
from triage.cli._options import config_option, model_option
from triage.cli._stdio import echo, read_texts, stdin_split_options
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


def _echo_results(messages: list[str], results: list[Any], as_json: bool, formatted: Any) -> None:
    """One JSON line per result, or each result ``formatted`` for people (headed by its message when many)."""
    for index, result in enumerate(results):
        if as_json:
            click.echo(json.dumps({"index": index, **result.to_dict()}, ensure_ascii=False))
            continue
        if len(results) > 1:
            echo(f"[{index}] {_preview(messages[index])}")
        echo(formatted(result))


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
    messages = read_texts(texts, jsonl=jsonl, null=null)
    results = triage.load(model_path).classify(messages, top_k=top_k)
    _echo_results(messages, results, as_json, _format_classification)


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
    messages = read_texts(texts, jsonl=jsonl, null=null)
    suggestions = triage.load(model_path).route(messages, config=config)
    _echo_results(messages, suggestions, as_json, _format_suggestion)

"""The model card: a README.md generated from a model's manifest by the training run."""

from __future__ import annotations

from typing import Any

__all__ = ["render_card"]

_INTENDED_USE = """\
Suggest which government department should own a Chinese petition or complaint (12345
hotline work orders, mayor's-mailbox letters, liaison-station messages, online posts), so that
a person can route it faster. Results below the review threshold, and every empty or
non-Chinese message, are flagged for a person to check."""

_LIMITS = """\
- Suggestions, not decisions: a caseworker stays responsible for routing.
- Which office handles a matter is partly local practice; retrain on your own history
  (`triage train`) where the departments or their remits differ.
- Only the first 5,000 characters of a message are read; personal data is masked first.
- Simplified and traditional Chinese are both seen in training, other languages are not."""


def _percent(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "—"


def _metrics_section(metrics: dict[str, Any]) -> list[str]:
    held_out = metrics.get("held_out")
    if not held_out:
        return ["No held-out metrics were recorded."]
    lines = [
        f"Held-out set: {held_out['n_test']} messages.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| accuracy | {_percent(held_out['accuracy'])} |",
        f"| macro F1 | {_percent(held_out['macro_f1'])} |",
        f"| top-3 accuracy | {_percent(held_out['top3_accuracy'])} |",
        f"| routed automatically (confidence ≥ threshold) | {_percent(held_out['automatic_share'])} |",
        f"| precision of automatically routed | {_percent(held_out['automatic_precision'])} |",
        "",
        "| department | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for code, row in held_out.get("per_class", {}).items():
        lines.append(
            f"| {code} | {_percent(row['precision'])} | {_percent(row['recall'])} | "
            f"{_percent(row['f1'])} | {row['support']} |"
        )
    return lines


def render_card(manifest: dict[str, Any]) -> str:
    """Markdown model card for ``manifest`` (labels, data, metrics, threshold, versions)."""
    data = manifest.get("training_data", {})
    versions = ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items())
    lines = [
        f"# triage model: {data.get('name', 'unnamed')}",
        "",
        "## Intended use",
        "",
        _INTENDED_USE,
        "",
        "## Departments",
        "",
        "| code | 名称 |",
        "|---|---|",
        *(f"| {label['code']} | {label['name']} |" for label in manifest.get("labels", [])),
        "",
        "## Training data",
        "",
        data.get("description", "Not described."),
        "",
        f"Documents: {data.get('n_documents', 'unknown')}.",
        "",
        "## Evaluation",
        "",
        *_metrics_section(manifest.get("metrics", {})),
        "",
        "## Review threshold",
        "",
        f"Messages whose calibrated confidence is below **{manifest.get('review_threshold', 0):.3f}** "
        f"are flagged `needs_review` (chosen on held-out data for a target precision of "
        f"{_percent(manifest.get('metrics', {}).get('held_out', {}).get('target_precision'))}).",
        "",
        "## Limits",
        "",
        _LIMITS,
        "",
        "## Versions",
        "",
        f"Saved {manifest.get('created', '')} with {versions}.",
        "",
    ]
    return "\n".join(lines)

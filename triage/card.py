"""The model card: a README.md generated from a model's manifest by the training run."""

from __future__ import annotations

from typing import Any

from triage.boilerplate import Boilerplate

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

_SUMMARY_ROWS = (
    ("accuracy", "accuracy (top-1)"),
    ("functional_top1", "top-1, messages a functional department handled"),
    ("functional_top3", "top-3, messages a functional department handled"),
    ("local_top1", "top-1, messages a local government handled"),
    ("topic_accuracy", "accuracy of the predicted department's topic"),
    ("top3_accuracy", "top-3 accuracy"),
    ("macro_f1", "macro F1"),
    ("weighted_f1", "weighted F1"),
    ("expected_calibration_error", "expected calibration error"),
    ("expected_calibration_error_temperature_only", "expected calibration error, temperature only (no scaling)"),
    ("automatic_share", "routed automatically (confidence ≥ threshold)"),
    ("automatic_precision", "precision of automatically routed"),
    ("automatic_topic_precision", "topic precision of automatically routed"),
    ("best_share_at_target", "largest share this set allows at the target precision"),
)


# What a label, a name or a file name must not bring into the card: control characters and line breaks (a
# label with a newline ended the table and could start a heading; U+2028 and U+2029 end a line for editors,
# JavaScript and str.splitlines), a ``|`` (a new table cell) and HTML (a viewer may render it). Each is
# written as text: ``\x0a``, ``\u2028``, ``\|``, ``&lt;``.
_INLINE = {
    **{c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]},
    **{c: f"\\u{c:04x}" for c in (0x2028, 0x2029)},
    ord("|"): "\\|",
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
}


def _inline(value: Any) -> str:
    """``value`` as text that stays on its line and in its table cell of the card (:data:`_INLINE`)."""
    return str(value).translate(_INLINE)


def _department_cells(code: str, label_names: dict[str, str]) -> str:
    """The code and name cells of a department (or unit) row of a table."""
    return f"{_inline(code)} | {_inline(label_names.get(code, code))}"


def _percent(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) and not isinstance(value, bool) else "—"


def _scaling_lines(record: dict[str, Any] | None) -> list[str]:
    """How the confidence was scaled (nothing for a model without a confidence scaling)."""
    if not record:
        return []
    return [
        "Confidence is the chance that the department is right: the softmax's top probability p, then "
        f"sigmoid({record['slope']:.3f} · log(p / (1 − p)) {record['intercept']:+.3f}), the other departments "
        "sharing the rest in their former ratios (`triage.confidence`).",
        "",
    ]


def _template_lines(record: dict[str, list[str]] | None) -> list[str]:
    """Which template the training export was typed into, which the model cuts from every message."""
    phrases = Boilerplate.from_record(record).shown()
    if not phrases:
        return ["No template was cut: the model reads messages as they were written.", ""]
    return [
        f"Template: {_inline(phrases)} (letters and digits only). The training messages were typed into it; "
        "it was cut from them before training, and the model cuts it from every message it classifies "
        "(`triage.boilerplate`).",
        "",
    ]


def _evaluation_section(name: str, result: dict[str, Any], label_names: dict[str, str]) -> list[str]:
    lines = [f"### {name}", "", result.get("description", ""), "", f"Messages: {result.get('n', '?')}.", ""]
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {title} | {_percent(result[key])} |" for key, title in _SUMMARY_ROWS if key in result]
    level = result.get("department_level")
    if level:  # a unit-level model: its units read as their departments
        lines += [
            f"| department of the unit predicted (n={level['n']}) | {_percent(level['accuracy'])} |",
            f"| department top-3 (unit probabilities summed) | {_percent(level['top3_accuracy'])} |",
        ]
    per_class = result.get("per_class")
    if per_class:
        lines += ["", "| department | 名称 | precision | recall | F1 | support |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {_department_cells(code, label_names)} | {_percent(row['precision'])} | {_percent(row['recall'])} | "
            f"{_percent(row['f1'])} | {row['support']} |"
            for code, row in per_class.items()
        ]
    return [*lines, ""]


def _sub_label_section(manifest: dict[str, Any], label_names: dict[str, str]) -> list[str]:
    """Each department's sub-categories with the cross-validated accuracy of the sub-category
    given the department (empty for a model without sub-labels)."""
    pairs = manifest.get("sub_labels")
    if not pairs:
        return []
    metrics = manifest.get("metrics", {}).get("cross_validated", {}).get("sub_labels", {})
    per_label = metrics.get("per_label", {})
    by_department: dict[str, list[str]] = {}
    for pair in pairs:
        by_department.setdefault(pair["label"], []).append(pair["sub_label"])
    lines = [
        "## Sub-categories",
        "",
        "A second classifier names the sub-category within the predicted department. Accuracy is that of the "
        "sub-category given the true department, on out-of-fold predictions of the training messages "
        f"(overall {_percent(metrics.get('accuracy'))}; always guessing the department's most frequent "
        f"sub-category: {_percent(metrics.get('majority_baseline'))}).",
        "",
        "| department | 名称 | sub-categories (training messages) | accuracy | majority baseline |",
        "|---|---|---|---|---|",
    ]
    for code, subs in by_department.items():
        row = per_label.get(code, {})
        counts = row.get("sub_labels", {})
        listed = ", ".join(_inline(f"{sub} ({counts[sub]})" if sub in counts else sub) for sub in subs)
        lines.append(
            f"| {_department_cells(code, label_names)} | {listed} | {_percent(row.get('accuracy'))} | "
            f"{_percent(row.get('majority_baseline'))} |"
        )
    return [*lines, ""]


def render_card(manifest: dict[str, Any]) -> str:
    """Markdown model card for ``manifest`` (labels, data, evaluations, threshold, figures, versions)."""
    data = manifest.get("training_data", {})
    labels = manifest.get("labels", [])
    label_names = {label["code"]: label["name"] for label in labels}
    versions = ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items())
    evaluations = [
        line
        for name, result in manifest.get("metrics", {}).items()
        for line in _evaluation_section(name, result, label_names)
    ]
    figures = [f"![{name}]({name})" for name in manifest.get("figures", [])]
    sources = [f"- {_inline(source)}" for source in data.get("sources", [])]
    lines = [
        f"# triage model: {_inline(data.get('name', 'unnamed'))}",
        "",
        "## Intended use",
        "",
        _INTENDED_USE,
        "",
        "## Departments",
        "",
        "| code | 名称 |",
        "|---|---|",
        *(f"| {_department_cells(code, label_names)} |" for code in label_names),
        "",
        *_sub_label_section(manifest, label_names),
        "## Training data",
        "",
        data.get("description", "Not described."),
        "",
        *sources,
        "",
        f"Documents: {data.get('n_documents', 'unknown')}.",
        "",
        *_template_lines(manifest.get("template")),
        "## Evaluation",
        "",
        *(evaluations or ["No evaluation was recorded.", ""]),
        *figures,
        "",
        "## Review threshold",
        "",
        f"Messages whose calibrated confidence is below **{manifest.get('review_threshold', 0):.3f}** are flagged "
        f"`needs_review`: the lowest threshold at which automatically routed messages reached a precision of "
        f"{_percent(manifest.get('target_precision'))}, "
        f"{manifest.get('review_threshold_basis', 'chosen on out-of-fold predictions of the training messages')}.",
        "",
        *_scaling_lines(manifest.get("confidence_scaling")),
        "## Limits",
        "",
        _LIMITS,
        "",
        "## Versions",
        "",
        f"Saved {manifest.get('created', '')} with {versions}. Words segmented by "
        f"{manifest.get('segmenter', 'jieba')} (jieba's dictionary plus triage's petition user dictionary).",
        "",
    ]
    return "\n".join(lines)

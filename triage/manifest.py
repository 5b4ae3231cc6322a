"""The schema of a model directory's ``manifest.json``, checked at every load and every save.

A manifest is read before anything else of a model, so it is checked like untrusted input: its
size before it is parsed (:data:`MAX_MANIFEST_BYTES`), then every key. Unknown keys are errors
(a typo must not silently drop a setting). Free-form content has three documented places, whose
values may be any JSON: ``training_data`` (what the model was trained on: counts, sources,
descriptions), ``metrics`` (one object of figures per evaluation) and ``params`` (the estimator's
parameters). Everything else has a fixed type; the review threshold and target precision are
finite numbers in (0, 1]; ``confidence_scaling`` is :class:`triage.confidence.ConfidenceScaling`'s
record (plain numbers); ``template`` is the training export's template (:mod:`triage.boilerplate`), which
the model cuts from every message (absent: none, as in models trained before it was kept).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from triage.boilerplate import MAX_LENGTH, MIN_LENGTH
from triage.confidence import ConfidenceScaling
from triage.exceptions import ModelIntegrityError

__all__ = ["MAX_MANIFEST_BYTES", "parse_manifest", "validate_manifest"]

#: Largest manifest read (a default model's is about 16 kB; sub-labels and metrics add a few kB each).
MAX_MANIFEST_BYTES = 8 << 20

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PHRASE = re.compile(r"[^\W_]+")

# A check returns what the value should have been, or None when it is fine.
_Check = Callable[[Any], str | None]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def _format_version(value: Any) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else "an integer >= 1"


def _fraction(value: Any) -> str | None:
    if _is_number(value) and math.isfinite(value) and 0 < value <= 1:
        return None
    return "a number greater than 0 and at most 1"


def _optional(check: _Check) -> _Check:
    def optional(value: Any) -> str | None:
        problem = check(value)
        return None if value is None or problem is None else f"null or {problem}"

    return optional


def _sha256(value: Any) -> str | None:
    return None if isinstance(value, str) and _SHA256.fullmatch(value) else "a SHA-256 digest (64 hex digits)"


def _object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "a JSON object"


def _text_map(value: Any) -> str | None:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return None
    return "an object of strings"


def _file_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and PurePath(name).name == name and "/" not in name


def _files(value: Any) -> str | None:
    expected = "an object mapping plain file names to SHA-256 digests"
    if not isinstance(value, dict):
        return expected
    bad = [name for name, digest in value.items() if not _file_name(name) or _sha256(digest) is not None]
    return f"{expected} ({bad[0]!r} is not one)" if bad else None


def _figures(value: Any) -> str | None:
    if isinstance(value, list) and all(_file_name(name) for name in value):
        return None
    return "a list of plain file names"


def _confidence_scaling(value: Any) -> str | None:
    try:
        ConfidenceScaling.from_record(value)
    except ValueError as error:
        return f"a confidence scaling record ({error})"
    return None


def _template(value: Any) -> str | None:
    """A training export's template, as :meth:`~triage.boilerplate.Boilerplate.record` writes it: phrases of
    letters, digits and CJK characters only, as the boilerplate is learned, of its lengths."""
    expected = (
        f"an object with the lists openings and endings of phrases of {MIN_LENGTH} to {MAX_LENGTH} letters "
        "(no punctuation or spaces)"
    )
    if not isinstance(value, dict) or set(value) != {"openings", "endings"}:
        return expected
    for phrases in value.values():
        if not isinstance(phrases, list):
            return expected
        for phrase in phrases:
            if not (isinstance(phrase, str) and MIN_LENGTH <= len(phrase) <= MAX_LENGTH and _PHRASE.fullmatch(phrase)):
                return f"{expected}; {_shown(phrase)} is not one"
    return None


def _records(*required: str, optional: tuple[str, ...] = ()) -> _Check:
    """A non-empty list of objects with exactly the string fields ``required`` (plus any of ``optional``)."""

    def records(value: Any) -> str | None:
        if isinstance(value, list) and value:
            for item in value:
                if not isinstance(item, dict) or not set(required) <= item.keys() <= {*required, *optional}:
                    break
                if not all(isinstance(v, str) for v in item.values()):
                    break
            else:
                return None
        fields = ", ".join([*required, *(f"{name} (optional)" for name in optional)])
        return f"a non-empty list of objects with the string fields {fields}"

    return records


# key -> (check, required)
_SCHEMA: dict[str, tuple[_Check, bool]] = {
    "format": (_text, True),
    "format_version": (_format_version, True),
    "created": (_text, False),
    "versions": (_text_map, False),
    "segmenter": (_text, False),
    "user_dictionary_sha256": (_optional(_sha256), False),
    "labels": (_records("code", optional=("name",)), True),
    "review_threshold": (_fraction, True),
    "target_precision": (_optional(_fraction), False),
    "review_threshold_basis": (_text, False),
    "confidence_scaling": (_confidence_scaling, False),
    "training_data": (_object, False),
    "metrics": (_object, False),
    "params": (_object, False),
    "sub_labels": (_records("class", "label", "sub_label"), False),
    "figures": (_figures, False),
    "template": (_template, False),
    "files": (_files, True),
}
#: Keys whose values are free-form JSON (the manifest's extension points).
FREE_FORM_KEYS = ("training_data", "metrics", "params")


def validate_manifest(manifest: Any, source: str, *, saved: bool = True) -> None:
    """Raise :class:`ModelIntegrityError` naming ``source``, the key and what it should hold, for
    the first key of ``manifest`` that breaks the schema. ``saved=False`` checks what a training
    run hands to saving, before the keys saving adds (format, versions, files...) exist."""
    if not isinstance(manifest, dict):
        raise ModelIntegrityError(f"{source} holds a {type(manifest).__name__}, expected a JSON object")
    unknown = sorted(set(manifest) - set(_SCHEMA))
    if unknown:
        raise ModelIntegrityError(
            f"{source} has unknown keys {', '.join(map(repr, unknown))}; a manifest holds only "
            f"{', '.join(_SCHEMA)} (put free-form data under {', '.join(FREE_FORM_KEYS)}). If a newer triage "
            "saved this model, upgrade triage to load it"
        )
    for key, (check, required) in _SCHEMA.items():
        if key not in manifest:
            if required and (saved or key in ("labels", "review_threshold")):
                raise ModelIntegrityError(f"{source} lacks the key {key!r}; re-save or retrain the model")
            continue
        expected = check(manifest[key])
        if expected is not None:
            raise ModelIntegrityError(
                f"{source}: key {key!r} is {_shown(manifest[key])}; expected {expected}. Re-save or retrain the model"
            )


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (parsers disagree on which value wins)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        raise ValueError(f"key {next(key for key in keys if keys.count(key) > 1)!r} appears more than once")
    return result


def parse_manifest(data: bytes, source: str) -> dict[str, Any]:
    """Parse and validate manifest bytes (already bounded by :data:`MAX_MANIFEST_BYTES`)."""
    try:
        manifest = json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "it is nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ModelIntegrityError(f"{source} is not valid JSON ({reason}); re-save or retrain the model") from None
    validate_manifest(manifest, source)
    return manifest


def label_codes(manifest: Mapping[str, Any]) -> list[str]:
    """The department codes a validated manifest lists, in order."""
    return [label["code"] for label in manifest["labels"]]

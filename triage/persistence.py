"""Saving and loading model directories, refusing anything that is not what triage saved.

A model is a directory::

    scorer.npz      the model as compact numpy arrays (triage.scoring.LinearScorer), for answering
    model.skops     optional: the fitted TriageClassifier (skops.io; never pickle), for analysis
    sub_scorer.npz, sub_model.skops
                    optional: the same for the second-level (department, sub-label) classes,
                    listed in the manifest's ``sub_labels``
    manifest.json   format version, library versions, segmenter, labels, file hashes, data, metrics
    README.md       the model card
    base_scorer.npz, base_weights.npy
                    an adapted model's only (triage.adaptation): the base model's scorer (compact
                    layout) and the weights of its scores
    units.csv       a unit-level model's only: unit -> department, not hashed (a deployment edits
                    it; checked against the model's classes at load)

Serving, sub-labels and explanations need only the scorers, so the estimators are saved only on
request (``TriageModel.save(..., include_estimator=True)``, ``triage train --with-estimator``):
they are what scikit-learn analysis (``model.estimator``) needs, and they are most of a model's
size. Format 1 (before this choice) always held ``model.skops`` and an uncompressed float32
``scorer.npz``; it still loads, and saving such a model writes format 2.

Every load first checks the manifest (size before parsing, then its schema:
:mod:`triage.manifest`) and that every file's SHA-256 matches it. No file in the directory is
read through a symbolic link, and none beyond a size limit. :func:`load_scorers` (what
:func:`triage.load` uses) then reads ``scorer.npz`` (and ``sub_scorer.npz``) from the bytes it
hashed, each array's size checked before it is expanded (:mod:`triage.archives`); it needs
neither scikit-learn nor skops. :func:`load_model` also checks that a model file is a skops
archive of bounded expanded size naming no type outside :data:`TRUSTED_TYPES` (plus the
scikit-learn, NumPy and SciPy types skops trusts by default); only then does skops build the
estimator.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from triage._optional import install_hint
from triage.adaptation import BASE_SCORER_FILE, BASE_WEIGHTS_FILE, BaseScores
from triage.archives import open_regular_file, read_regular_file, zip_expanded_size
from triage.card import render_card
from triage.exceptions import (
    InconsistentVersionWarning,
    ModelIntegrityError,
    ModelNotFoundError,
    SegmenterMismatchWarning,
    UntrustedModelError,
)
from triage.manifest import MAX_MANIFEST_BYTES, label_codes, parse_manifest, validate_manifest
from triage.scoring import LinearScorer
from triage.segmentation import dictionary_library, recorded_segmenter, user_dictionary_sha256

if TYPE_CHECKING:
    from triage.estimator import TriageClassifier

__all__ = [
    "FORMAT_VERSION",
    "TRUSTED_TYPES",
    "ServingParts",
    "check_model_destination",
    "load_model",
    "load_scorers",
    "read_figures",
    "save_model",
]

FORMAT_NAME = "triage-model"
#: Bumped when the directory layout or manifest schema changes; older formats keep a loader.
FORMAT_VERSION = 2
MODEL_FILE = "model.skops"
SCORER_FILE = "scorer.npz"
SUB_MODEL_FILE = "sub_model.skops"
SUB_SCORER_FILE = "sub_scorer.npz"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
#: The hashed files an adapted model adds (both or neither).
BASE_FILES = (BASE_SCORER_FILE, BASE_WEIGHTS_FILE)
#: Most bytes any file of a model directory may hold, and a skops file may expand to.
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class _Part:
    """The two files of one classifier: its skops estimator and its numpy scorer."""

    model_file: str
    scorer_file: str


_MAIN = _Part(MODEL_FILE, SCORER_FILE)
_SUB = _Part(SUB_MODEL_FILE, SUB_SCORER_FILE)

#: The only non-default types a triage model file may name. Everything else is refused.
TRUSTED_TYPES = ("triage.estimator.TriageClassifier", "triage.segmentation.segment")

# Written by save_model itself, never taken from the caller's manifest.
_DERIVED_KEYS = frozenset(
    {"format", "format_version", "created", "versions", "segmenter", "user_dictionary_sha256", "files", "figures"}
)
_TRACKED_LIBRARIES = ("triage", "scikit-learn", "jieba", "rjieba", "skops", "numpy", "scipy")
# Models saved before the segmenter was recorded were all segmented by jieba.
_SEGMENTER_BEFORE_RECORDING = "jieba"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular_file(path, max_bytes=MAX_FILE_BYTES) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the installed libraries whose behaviour a saved model depends on."""
    versions = {name: _installed_version(name) for name in _TRACKED_LIBRARIES}
    return {**{name: v for name, v in versions.items() if v}, "python": platform.python_version()}


def save_model(
    estimator: Any,
    path: str | Path,
    *,
    manifest: dict[str, Any],
    figures: Mapping[str, bytes] | None = None,
    overwrite: bool = False,
    sub_estimator: Any = None,
    extra_files: Mapping[str, bytes] | None = None,
    editable_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write ``estimator``, its manifest and its card to the directory ``path``, atomically.

    ``estimator`` is a fitted :class:`~triage.estimator.TriageClassifier`, saved as ``model.skops``
    beside the compact form of its scorer, or a :class:`~triage.scoring.LinearScorer`, saved alone
    (all serving needs; see the module docstring). ``manifest`` holds what the training run knows
    (labels, review threshold, training data, metrics, parameters; checked against
    :mod:`triage.manifest`); the format, library versions and file hashes are added here and
    the card is rendered from the result. ``figures`` (file name → PNG bytes) are written
    beside the card, shown in it and hashed like every other file. ``sub_estimator`` (the
    second-level classifier, whose classes the manifest's ``sub_labels`` decode; of the same kind
    as ``estimator``) is saved beside the first. ``extra_files`` (file name → bytes) are an adapted
    model's base files (:data:`BASE_FILES`, both), hashed like the rest; ``editable_files`` are
    written but not hashed (a unit-level model's ``units.csv``, which a deployment edits).

    The directory is assembled beside its destination and renamed into place, so a crash
    never leaves half a model. An existing directory is replaced only with ``overwrite=True``.
    """
    path = Path(path)
    figures = dict(figures or {})
    extra_files = dict(extra_files or {})
    editable_files = dict(editable_files or {})
    _check_what_to_save(estimator, sub_estimator, manifest, figures, extra_files, editable_files)
    check_model_destination(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it owner-only; a model directory is meant to be shared
    parts = [(_MAIN, estimator), *([(_SUB, sub_estimator)] if sub_estimator is not None else [])]
    try:
        classifier_files = _write_classifiers(parts, staging)
        full = _full_manifest(manifest, figures)
        for name, content in {**figures, **extra_files, **editable_files}.items():
            (staging / name).write_bytes(content)
        (staging / CARD_FILE).write_text(render_card(full), encoding="utf-8")
        hashed = (*classifier_files, *sorted(extra_files), CARD_FILE, *sorted(figures))
        full["files"] = {name: _sha256(staging / name) for name in hashed}
        validate_manifest(full, f"the manifest of {path}")
        (staging / MANIFEST_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _check_what_to_save(
    estimator: Any,
    sub_estimator: Any,
    manifest: dict[str, Any],
    figures: Mapping[str, bytes],
    extra_files: Mapping[str, bytes],
    editable_files: Mapping[str, bytes],
) -> None:
    """Refuse file names that clash with the model's own, a sub-label estimator without its
    manifest entry (or the reverse), a mix of estimators and scorers, and a malformed manifest."""
    own = (MODEL_FILE, SCORER_FILE, SUB_MODEL_FILE, SUB_SCORER_FILE, MANIFEST_FILE, CARD_FILE, *BASE_FILES)
    if any(Path(name).name != name or name in own for name in (*figures, *editable_files)):
        raise ValueError(
            "figure and editable file names must be plain file names other than the model's own: "
            f"{sorted([*figures, *editable_files])}"
        )
    if extra_files and sorted(extra_files) != sorted(BASE_FILES):
        raise ValueError(f"extra_files are an adapted model's {', '.join(BASE_FILES)}, got {sorted(extra_files)}")
    if (sub_estimator is None) == ("sub_labels" in manifest):
        raise ValueError("a sub_estimator is saved exactly when the manifest lists its sub_labels")
    if sub_estimator is not None and isinstance(sub_estimator, LinearScorer) != isinstance(estimator, LinearScorer):
        raise ValueError("estimator and sub_estimator must be both estimators or both scorers")
    validate_manifest(
        {k: v for k, v in manifest.items() if k not in _DERIVED_KEYS}, "the manifest to save", saved=False
    )


def _write_classifiers(parts: list[tuple[_Part, Any]], folder: Path) -> list[str]:
    """Write each classifier's scorer (and, for an estimator, its skops file); return the file names."""
    for part, fitted in parts:
        if isinstance(fitted, LinearScorer):
            fitted.save(folder / part.scorer_file)
        else:
            _dump_estimator(fitted, folder / part.model_file)
            LinearScorer.from_estimator(fitted).save(folder / part.scorer_file, estimator=fitted)
    return [name for part, _ in parts for name in (part.scorer_file, part.model_file) if (folder / name).exists()]


def _full_manifest(manifest: Mapping[str, Any], figures: Mapping[str, bytes]) -> dict[str, Any]:
    """``manifest`` with what saving adds: format, creation time, library versions, vocabulary origin,
    figures (the file hashes come last, once every file is written)."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        **_vocabulary_origin(manifest),
        **{k: v for k, v in manifest.items() if k not in _DERIVED_KEYS},
        "figures": sorted(figures),
    }


def check_model_destination(path: str | Path, *, overwrite: bool = False) -> None:
    """Raise :class:`FileExistsError` unless a model can be saved at ``path``: nothing is there, or
    (with ``overwrite``) a model directory. Checked by :func:`save_model`, and by callers before a
    long training run so that its result is not refused at the end."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if path.exists() and not is_model_directory(path):
        raise FileExistsError(f"{path} exists and is not a triage model directory; refusing to replace it")


def _dump_estimator(estimator: Any, file: Path) -> None:
    import skops.io

    skops.io.dump(estimator, file, compression=zipfile.ZIP_DEFLATED)


def _vocabulary_origin(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The segmenter and user dictionary the model's vocabulary was built with.

    A loaded model keeps its record (models saved before the segmenter was recorded were built
    with jieba), so saving it again never hides a mismatch; a freshly trained one was built
    with what this process runs.
    """
    if "format" in manifest:
        return {
            "segmenter": manifest.get("segmenter", _SEGMENTER_BEFORE_RECORDING),
            "user_dictionary_sha256": manifest.get("user_dictionary_sha256"),
        }
    return {"segmenter": recorded_segmenter(), "user_dictionary_sha256": user_dictionary_sha256()}


def is_model_directory(path: Path) -> bool:
    try:
        data = read_regular_file(path / MANIFEST_FILE, max_bytes=MAX_MANIFEST_BYTES)
        return json.loads(data.decode("utf-8")).get("format") == FORMAT_NAME
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def _swap_into_place(staging: Path, path: Path) -> None:
    """Move the new model directory to ``path``; an old one is moved aside first and removed last,
    so at every moment one complete model sits at ``path`` or beside it."""
    if not path.exists():
        os.replace(staging, path)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
    os.replace(path, aside / path.name)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(aside / path.name, path)
        raise
    finally:
        if path.exists():
            shutil.rmtree(aside, ignore_errors=True)


def _directory_of(path: Path) -> Path:
    """A model directory, also when given the path of its model or scorer file."""
    return path.parent if path.name in (MODEL_FILE, SCORER_FILE) and path.is_file() else path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and check a model directory's manifest without loading the model."""
    path = _directory_of(Path(path))
    if not path.is_dir():
        raise ModelNotFoundError(
            f"no model directory at {path}: a triage model is a directory holding "
            f"{SCORER_FILE} and {MANIFEST_FILE} (train one with `triage train`)"
        )
    manifest_path = path / MANIFEST_FILE
    if not (manifest_path.exists() or manifest_path.is_symlink()):
        raise ModelNotFoundError(f"{path} has no {MANIFEST_FILE}: it is not a triage model directory")
    try:
        data = read_regular_file(manifest_path, max_bytes=MAX_MANIFEST_BYTES)
    except ValueError as error:
        raise ModelIntegrityError(f"{error}; restore the model directory or retrain") from None
    manifest = parse_manifest(data, str(manifest_path))
    if manifest["format"] != FORMAT_NAME:
        raise ModelIntegrityError(f"{manifest_path} is not a triage model manifest")
    version = manifest["format_version"]
    if version > FORMAT_VERSION:
        raise ModelIntegrityError(
            f"{path} uses model format {version}, newer than this triage reads ({FORMAT_VERSION}); "
            f"upgrade triage: {install_hint()}"
        )
    required = MODEL_FILE if version == 1 else SCORER_FILE
    if required not in manifest["files"]:
        raise ModelIntegrityError(f"{manifest_path} lists no hash for {required}")
    return manifest


def _read_files(path: Path, files: dict[str, str]) -> dict[str, bytes]:
    """The content of every file the manifest lists, once each matches its SHA-256."""
    contents = {}
    for name, expected in files.items():
        file = path / name
        if not (file.exists() or file.is_symlink()):
            raise ModelIntegrityError(f"{path}: file {name!r} listed in {MANIFEST_FILE} is missing")
        try:
            contents[name] = read_regular_file(file, max_bytes=MAX_FILE_BYTES)
        except ValueError as error:
            raise ModelIntegrityError(
                f"{error}; a model directory must hold its own files (copy them in rather than linking them)"
            ) from None
        actual = hashlib.sha256(contents[name]).hexdigest()
        if actual != expected:
            raise ModelIntegrityError(
                f"{file} was modified after the model was saved (SHA-256 {actual[:12]}…, "
                f"manifest says {str(expected)[:12]}…); do not use it — restore the original "
                "directory or retrain"
            )
    return contents


def _audit(model_file: Path, data: bytes) -> list[str]:
    """Return the non-default types the skops file names, refusing any outside TRUSTED_TYPES."""
    import skops.io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            zip_expanded_size(archive, str(model_file), max_bytes=MAX_FILE_BYTES)
        except ValueError as error:
            raise ModelIntegrityError(f"{error}; refusing to load it") from None
    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as error:  # skops raises many types on a malformed schema
        raise ModelIntegrityError(f"{model_file} has an unreadable skops schema: {error}") from None
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise UntrustedModelError(
            f"{model_file} names types triage does not trust: {', '.join(unknown)}; refusing to "
            "load it. If you built this file yourself, inspect it with skops.io.get_untrusted_types "
            "and load it with skops.io.load at your own risk"
        )
    return untrusted


def _warn_on_drift(manifest: dict[str, Any], path: Path, *, serving: bool, estimator: bool) -> None:
    """Warn about what differs from when the model was saved: with ``serving``, what answering
    depends on (segmenter, its library, user dictionary, triage); with ``estimator``, scikit-learn."""
    saved_segmenter = manifest.get("segmenter", _SEGMENTER_BEFORE_RECORDING)
    if serving and saved_segmenter != recorded_segmenter():
        warnings.warn(
            f"model {path} was trained on words segmented by {saved_segmenter}, and triage now segments "
            f"with {recorded_segmenter()}; a few messages may get other words and scores. Set "
            f"TRIAGE_SEGMENTER={saved_segmenter} (and install it) or retrain the model",
            SegmenterMismatchWarning,
            stacklevel=4,
        )
    saved = manifest.get("versions", {})
    libraries = [*(("triage", dictionary_library()) if serving else ()), *(("scikit-learn",) if estimator else ())]
    drift = []
    for name in libraries:
        current = _installed_version(name)
        if saved.get(name) and saved[name] != current:
            drift.append(f"{name} {saved[name]} (now {current})")
    if serving and manifest.get("user_dictionary_sha256") not in (None, user_dictionary_sha256()):
        drift.append("the segmentation user dictionary")
    if drift:
        warnings.warn(
            f"model {path} was saved with {', '.join(drift)}; predictions may differ from its "
            "recorded metrics — retrain it or install the recorded versions",
            InconsistentVersionWarning,
            stacklevel=4,
        )


def _installed_version(name: str) -> str | None:
    if name == "triage":
        from triage import __version__

        return __version__
    found = _dist_info_version(name)
    if found is not None:
        return found
    from importlib import metadata  # 20 ms to import (it parses metadata as e-mail): only when needed

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _dist_info_version(name: str) -> str | None:
    """What ``importlib.metadata.version(name)`` answers, read where pip installs it; None when it is
    not plainly there (then ask importlib.metadata, whose import costs as much as the rest of a load).

    importlib.metadata takes the first ``NAME-*.dist-info`` (or ``.egg-info``) on ``sys.path`` and the
    first ``Version:`` line of its metadata; this reads the same when the first folder holding one
    holds exactly one, a ``.dist-info`` folder, and no earlier entry of ``sys.path`` is a file (a zip).
    """
    wanted = re.sub(r"[-_.]+", "_", name).lower()
    for folder in sys.path:
        if os.path.isfile(folder):
            return None
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        found = [
            entry
            for entry in entries
            if entry.lower().endswith((".dist-info", ".egg-info"))
            and re.sub(r"[-_.]+", "_", entry.lower().rpartition(".")[0].partition("-")[0]) == wanted
        ]
        if not found:
            continue
        if len(found) > 1 or not found[0].lower().endswith(".dist-info"):
            return None
        try:
            text = Path(folder or ".", found[0], "METADATA").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        lines = text.split("\n")
        for number, line in enumerate(lines):
            if line in ("", "\r"):
                return None  # the headers ended without a version
            if line[:8].lower() == "version:":
                folded = number + 1 < len(lines) and lines[number + 1][:1] in (" ", "\t")
                return None if folded else line[8:].lstrip(" \t").rstrip("\r")
        return None
    return None


def _parts(manifest: dict[str, Any]) -> tuple[_Part, ...]:
    """The classifiers a checked manifest lists: the department model, then any sub-label model."""
    return (_MAIN, _SUB) if {SUB_SCORER_FILE, SUB_MODEL_FILE} & manifest["files"].keys() else (_MAIN,)


class _CheckedDirectory(NamedTuple):
    path: Path
    manifest: dict[str, Any]
    contents: dict[str, bytes]  # of every file the manifest lists, hashes checked


def _checked_directory(path: str | Path) -> _CheckedDirectory:
    """The model directory, its manifest and its files' content, once every file matches its hash."""
    manifest = read_manifest(path)
    path = _directory_of(Path(path))
    files = manifest["files"]
    own = {MODEL_FILE, SCORER_FILE, SUB_MODEL_FILE, SUB_SCORER_FILE, CARD_FILE, *BASE_FILES}
    own |= set(manifest.get("figures", []))
    stray = sorted(files.keys() - own)
    if stray:
        raise ModelIntegrityError(f"{path / MANIFEST_FILE} lists files that are no part of a model: {stray}")
    contents = _read_files(path, files)
    expected_sub = set()
    if isinstance(manifest.get("sub_labels"), list):
        expected_sub = {SUB_SCORER_FILE, *([SUB_MODEL_FILE] if MODEL_FILE in files else [])}
    if {SUB_MODEL_FILE, SUB_SCORER_FILE} & files.keys() != expected_sub:
        raise ModelIntegrityError(
            f"{path / MANIFEST_FILE}: the sub-label model needs both its files hashed ({SUB_SCORER_FILE}, and "
            f"{SUB_MODEL_FILE} when {MODEL_FILE} is saved) and its sub_labels listed; some are missing"
        )
    if len(set(BASE_FILES) & files.keys()) == 1:
        raise ModelIntegrityError(
            f"{path / MANIFEST_FILE}: an adapted model needs both its base files hashed ({', '.join(BASE_FILES)}); "
            "one is missing. Restore the model directory or retrain"
        )
    for part in _parts(manifest):  # checked at every load, so a pickle is refused before anything is served
        if part.model_file in files and not zipfile.is_zipfile(io.BytesIO(contents[part.model_file])):
            raise UntrustedModelError(
                f"{path / part.model_file} is not a skops archive (a pickle or joblib file?); triage never "
                "loads pickles: re-save the model with triage.save or `triage train`"
            )
    return _CheckedDirectory(path, manifest, contents)


def _load_estimator(checked: _CheckedDirectory, part: _Part, *, serving_checked: bool = False) -> Any:
    import skops.io

    from triage.estimator import TriageClassifier

    path, manifest = checked.path, checked.manifest
    model_file = path / part.model_file
    if part.model_file not in manifest["files"]:
        raise ModelNotFoundError(
            f"{path} was saved without its scikit-learn estimator ({part.model_file}): serving needs only "
            f"{part.scorer_file}. For scikit-learn analysis, save the model with include_estimator=True "
            "(CLI: triage train --with-estimator)"
        )
    data = checked.contents[part.model_file]
    untrusted = _audit(model_file, data)
    _warn_on_drift(manifest, path, serving=not serving_checked, estimator=True)
    estimator = skops.io.loads(data, trusted=untrusted)
    if not isinstance(estimator, TriageClassifier):
        raise UntrustedModelError(f"{model_file} holds a {type(estimator).__name__}, not a TriageClassifier")
    return estimator


def load_model(
    path: str | Path, *, sub: bool = False, expected_files: Mapping[str, str] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Load a model directory's estimator after checking its integrity; return ``(estimator, manifest)``.

    ``sub=True`` loads the sub-label estimator instead. ``ModelNotFoundError`` when the directory
    holds no such estimator (models are saved without one unless asked). ``expected_files`` (the
    file hashes of a manifest read earlier) makes sure the directory still holds the model that was
    loaded from it then; what that load already warned about (segmenter, user dictionary, triage
    version) is not repeated.
    """
    checked = _checked_directory(path)
    if expected_files is not None and checked.manifest["files"] != dict(expected_files):
        raise ModelIntegrityError(
            f"{checked.path} was replaced by another model since this one was loaded from it; load it again"
        )
    if sub and _SUB not in _parts(checked.manifest):
        raise ModelNotFoundError(f"{checked.path} has no sub-label model (train it with sub_labels)")
    estimator = _load_estimator(checked, _SUB if sub else _MAIN, serving_checked=expected_files is not None)
    return estimator, checked.manifest


def _read_scorer(file: Path, data: bytes) -> LinearScorer:
    try:
        return LinearScorer.from_bytes(data, source=str(file))
    except ValueError as error:
        raise ModelIntegrityError(f"{error}; re-save or retrain the model") from None


def _check_classes(scorer: LinearScorer, manifest: dict[str, Any], path: Path) -> None:
    if sorted(map(str, scorer.classes)) != sorted(label_codes(manifest)):
        raise ModelIntegrityError(
            f"{path / MANIFEST_FILE}: its labels are not the classes of {SCORER_FILE}; re-save or retrain the model"
        )


class ServingParts(NamedTuple):
    """What :func:`load_scorers` read: the scorers, the manifest and, for a model saved before
    ``scorer.npz`` existed, the estimator it was converted from (else ``None``: loaded lazily)."""

    scorer: LinearScorer
    sub_scorer: LinearScorer | None  # None for a model without sub-labels
    manifest: dict[str, Any]
    estimator: TriageClassifier | None = None
    base_scores: BaseScores | None = None  # an adapted model's base part (triage.adaptation)


def load_scorers(path: str | Path) -> ServingParts:
    """Load what serving needs after checking the directory's integrity.

    Models saved before ``scorer.npz`` existed (and so before sub-labels) are converted from
    their estimator (slower), which is kept rather than read twice.
    """
    checked = _checked_directory(path)
    directory, manifest = checked.path, checked.manifest
    if SCORER_FILE not in manifest["files"]:
        estimator = _load_estimator(checked, _MAIN)
        scorer = LinearScorer.from_estimator(estimator).compacted()  # as saving it again would store it
        _check_classes(scorer, manifest, directory)
        return ServingParts(scorer, None, manifest, estimator, _read_base_scores(checked, len(scorer.classes)))
    _warn_on_drift(manifest, directory, serving=True, estimator=False)
    scorers = [
        _read_scorer(directory / part.scorer_file, checked.contents[part.scorer_file]) for part in _parts(manifest)
    ]
    _check_classes(scorers[0], manifest, directory)
    base_scores = _read_base_scores(checked, len(scorers[0].classes))
    return ServingParts(scorers[0], scorers[1] if len(scorers) > 1 else None, manifest, None, base_scores)


def _read_base_scores(checked: _CheckedDirectory, n_classes: int) -> BaseScores | None:
    """An adapted model's base part, read from the bytes whose hashes were checked (None without one)."""
    if BASE_SCORER_FILE not in checked.manifest["files"]:
        return None
    return BaseScores.from_files(checked.contents, n_classes, checked.path)


def read_figures(path: str | Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """The PNG figures a loaded model's card shows, so that saving it again keeps them.

    Only plain file names whose hash the manifest lists (and the load checked) are read.
    """
    directory = _directory_of(Path(path))
    names = manifest.get("figures", [])
    stray = [name for name in names if Path(name).name != name or name not in manifest["files"]]
    if stray:
        raise ModelIntegrityError(f"{directory / MANIFEST_FILE} lists figures without a checked file: {stray}")
    try:
        return {name: read_regular_file(directory / name, max_bytes=MAX_FILE_BYTES) for name in names}
    except ValueError as error:
        raise ModelIntegrityError(f"{error}; restore the model directory or retrain") from None

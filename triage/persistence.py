"""Saving and loading model directories, refusing anything that is not what triage saved.

A model is a directory::

    model.skops     the fitted TriageClassifier (skops.io; never pickle), for analysis and retraining
    scorer.npz      the same model as numpy arrays (triage.scoring.LinearScorer), for answering
    sub_model.skops, sub_scorer.npz
                    optional: the same pair for the second-level (department, sub-label) classes,
                    listed in the manifest's ``sub_labels``
    manifest.json   format version, library versions, segmenter, labels, file hashes, data, metrics
    README.md       the model card

Every load first checks that the manifest parses and has a known format and that every
file's SHA-256 matches it. :func:`load_scorers` (what :func:`triage.load` uses) then reads
``scorer.npz`` (and ``sub_scorer.npz``) with ``allow_pickle=False``; it needs neither
scikit-learn nor skops. :func:`load_model` also checks that a model file is a skops archive
naming no type outside :data:`TRUSTED_TYPES` (plus the scikit-learn, NumPy and SciPy types
skops trusts by default); only then does skops build the estimator.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from triage.card import render_card
from triage.exceptions import (
    InconsistentVersionWarning,
    ModelIntegrityError,
    ModelNotFoundError,
    SegmenterMismatchWarning,
    UntrustedModelError,
)
from triage.scoring import LinearScorer
from triage.segmentation import segmenter, user_dictionary_sha256

if TYPE_CHECKING:
    from triage.estimator import TriageClassifier

__all__ = [
    "FORMAT_VERSION",
    "TRUSTED_TYPES",
    "ServingParts",
    "load_model",
    "load_scorers",
    "read_figures",
    "save_model",
]

FORMAT_NAME = "triage-model"
#: Bumped when the directory layout or manifest schema changes; older formats keep a loader.
FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
SCORER_FILE = "scorer.npz"
SUB_MODEL_FILE = "sub_model.skops"
SUB_SCORER_FILE = "sub_scorer.npz"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"


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
    with path.open("rb") as handle:
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
    write_extra: Callable[[Path], Sequence[str]] | None = None,
) -> Path:
    """Write ``estimator``, its manifest and its card to the directory ``path``, atomically.

    ``manifest`` holds what the training run knows (labels, review threshold, training data,
    metrics, parameters); the format, library versions and file hashes are added here and
    the card is rendered from the result. ``figures`` (file name → PNG bytes) are written
    beside the card, shown in it and hashed like every other file. ``sub_estimator`` (the
    second-level classifier, whose classes the manifest's ``sub_labels`` decode) is saved beside
    the first in the same two formats. ``write_extra`` writes further files a model needs into the
    directory it is given and returns their names, hashed like the rest (an adapted model's base
    scorer, :mod:`triage.adaptation`).

    The directory is assembled beside its destination and renamed into place, so a crash
    never leaves half a model. An existing directory is replaced only with ``overwrite=True``.
    """
    import skops.io

    path = Path(path)
    figures = dict(figures or {})
    own = (MODEL_FILE, SCORER_FILE, SUB_MODEL_FILE, SUB_SCORER_FILE, MANIFEST_FILE, CARD_FILE)
    if any(Path(name).name != name or name in own for name in figures):
        raise ValueError(f"figure names must be plain file names other than the model's own: {sorted(figures)}")
    if (sub_estimator is None) == ("sub_labels" in manifest):
        raise ValueError("a sub_estimator is saved exactly when the manifest lists its sub_labels")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if path.exists() and not is_model_directory(path):
        raise FileExistsError(f"{path} exists and is not a triage model directory; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it owner-only; a model directory is meant to be shared
    parts = [(_MAIN, estimator), *([(_SUB, sub_estimator)] if sub_estimator is not None else [])]
    try:
        for part, fitted in parts:
            skops.io.dump(fitted, staging / part.model_file, compression=zipfile.ZIP_DEFLATED)
            LinearScorer.from_estimator(fitted).save(staging / part.scorer_file)
        full = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": library_versions(),
            **_vocabulary_origin(manifest),
            **{k: v for k, v in manifest.items() if k not in _DERIVED_KEYS},
            "figures": sorted(figures),
        }
        for name, content in figures.items():
            (staging / name).write_bytes(content)
        extra = list(write_extra(staging)) if write_extra is not None else []
        (staging / CARD_FILE).write_text(render_card(full), encoding="utf-8")
        classifier_files = [name for part, _ in parts for name in (part.model_file, part.scorer_file)]
        full["files"] = {
            name: _sha256(staging / name) for name in (*classifier_files, *extra, CARD_FILE, *sorted(figures))
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


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
    return {"segmenter": segmenter(), "user_dictionary_sha256": user_dictionary_sha256()}


def is_model_directory(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8")).get("format") == FORMAT_NAME
    except (OSError, ValueError, AttributeError):
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
    """A model directory, also when given the path of its model file."""
    return path.parent if path.name == MODEL_FILE and path.is_file() else path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and check a model directory's manifest without loading the model."""
    path = _directory_of(Path(path))
    if not path.is_dir():
        raise ModelNotFoundError(
            f"no model directory at {path}: a triage model is a directory holding "
            f"{MODEL_FILE} and {MANIFEST_FILE} (train one with `triage train`)"
        )
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ModelNotFoundError(f"{path} has no {MANIFEST_FILE}: it is not a triage model directory")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelIntegrityError(
            f"{manifest_path} is not valid JSON ({error}); re-save or retrain the model"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelIntegrityError(f"{manifest_path} is not a triage model manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelIntegrityError(f"{manifest_path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelIntegrityError(
            f"{path} uses model format {version}, newer than this triage reads ({FORMAT_VERSION}); "
            "upgrade triage: pip install -U triage"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or MODEL_FILE not in files:
        raise ModelIntegrityError(f"{manifest_path} lists no hash for {MODEL_FILE}")
    return manifest


def _verify_files(path: Path, files: dict[str, str]) -> None:
    for name, expected in files.items():
        file = path / name
        if Path(name).name != name or not file.is_file():
            raise ModelIntegrityError(f"{path}: file {name!r} listed in {MANIFEST_FILE} is missing")
        actual = _sha256(file)
        if actual != expected:
            raise ModelIntegrityError(
                f"{file} was modified after the model was saved (SHA-256 {actual[:12]}…, "
                f"manifest says {str(expected)[:12]}…); do not use it — restore the original "
                "directory or retrain"
            )


def _audit(model_file: Path) -> list[str]:
    """Return the non-default types the skops file names, refusing any outside TRUSTED_TYPES."""
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=model_file)
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
    if serving and saved_segmenter != segmenter():
        warnings.warn(
            f"model {path} was trained on words segmented by {saved_segmenter}, and triage now segments "
            f"with {segmenter()}; a few messages may get other words and scores. Set "
            f"TRIAGE_SEGMENTER={saved_segmenter} (and install it) or retrain the model",
            SegmenterMismatchWarning,
            stacklevel=4,
        )
    saved = manifest.get("versions", {})
    libraries = [*(("triage", segmenter()) if serving else ()), *(("scikit-learn",) if estimator else ())]
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
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _parts(manifest: dict[str, Any]) -> tuple[_Part, ...]:
    """The classifiers a checked manifest lists: the department model, then any sub-label model."""
    return (_MAIN, _SUB) if SUB_MODEL_FILE in manifest["files"] else (_MAIN,)


def _checked_directory(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The model directory and its manifest, once every file listed matches its hash."""
    manifest = read_manifest(path)
    path = _directory_of(Path(path))
    _verify_files(path, manifest["files"])
    sub_files = {SUB_MODEL_FILE, SUB_SCORER_FILE} & manifest["files"].keys()
    if len(sub_files) == 1 or bool(sub_files) != isinstance(manifest.get("sub_labels"), list):
        raise ModelIntegrityError(
            f"{path / MANIFEST_FILE}: the sub-label model needs both {SUB_MODEL_FILE} and {SUB_SCORER_FILE} "
            "hashed and its sub_labels listed; some are missing"
        )
    for part in _parts(manifest):  # checked at every load, so a pickle is refused before anything is served
        if not zipfile.is_zipfile(path / part.model_file):
            raise UntrustedModelError(
                f"{path / part.model_file} is not a skops archive (a pickle or joblib file?); triage never "
                "loads pickles: re-save the model with triage.save or `triage train`"
            )
    return path, manifest


def _load_estimator(path: Path, manifest: dict[str, Any], part: _Part, *, serving_checked: bool = False) -> Any:
    import skops.io

    from triage.estimator import TriageClassifier

    model_file = path / part.model_file
    untrusted = _audit(model_file)
    _warn_on_drift(manifest, path, serving=not serving_checked, estimator=True)
    estimator = skops.io.load(model_file, trusted=untrusted)
    if not isinstance(estimator, TriageClassifier):
        raise UntrustedModelError(f"{model_file} holds a {type(estimator).__name__}, not a TriageClassifier")
    return estimator


def load_model(
    path: str | Path, *, sub: bool = False, expected_files: Mapping[str, str] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Load a model directory's estimator after checking its integrity; return ``(estimator, manifest)``.

    ``sub=True`` loads the sub-label estimator instead (``ModelNotFoundError`` when there is none).
    ``expected_files`` (the file hashes of a manifest read earlier) makes sure the directory still
    holds the model that was loaded from it then; what that load already warned about (segmenter,
    user dictionary, triage version) is not repeated.
    """
    directory, manifest = _checked_directory(path)
    if expected_files is not None and manifest["files"] != dict(expected_files):
        raise ModelIntegrityError(
            f"{directory} was replaced by another model since this one was loaded from it; load it again"
        )
    if sub and _SUB not in _parts(manifest):
        raise ModelNotFoundError(f"{directory} has no sub-label model (train it with sub_labels)")
    estimator = _load_estimator(directory, manifest, _SUB if sub else _MAIN, serving_checked=expected_files is not None)
    return estimator, manifest


def _read_scorer(file: Path) -> LinearScorer:
    try:
        return LinearScorer.load(file)
    except ValueError as error:
        raise ModelIntegrityError(f"{error}; re-save or retrain the model") from None


class ServingParts(NamedTuple):
    """What :func:`load_scorers` read: the scorers, the manifest and, for a model saved before
    ``scorer.npz`` existed, the estimator it was converted from (else ``None``: loaded lazily)."""

    scorer: LinearScorer
    sub_scorer: LinearScorer | None  # None for a model without sub-labels
    manifest: dict[str, Any]
    estimator: TriageClassifier | None = None


def load_scorers(path: str | Path) -> ServingParts:
    """Load what serving needs after checking the directory's integrity.

    Models saved before ``scorer.npz`` existed (and so before sub-labels) are converted from
    their estimator (slower), which is kept rather than read twice.
    """
    directory, manifest = _checked_directory(path)
    if SCORER_FILE not in manifest["files"]:
        estimator = _load_estimator(directory, manifest, _MAIN)
        return ServingParts(LinearScorer.from_estimator(estimator), None, manifest, estimator)
    _warn_on_drift(manifest, directory, serving=True, estimator=False)
    scorers = [_read_scorer(directory / part.scorer_file) for part in _parts(manifest)]
    return ServingParts(scorers[0], scorers[1] if len(scorers) > 1 else None, manifest)


def read_figures(path: str | Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """The PNG figures a loaded model's card shows, so that saving it again keeps them.

    Only plain file names whose hash the manifest lists (and the load checked) are read.
    """
    directory = _directory_of(Path(path))
    names = manifest.get("figures", [])
    stray = [name for name in names if Path(name).name != name or name not in manifest["files"]]
    if stray:
        raise ModelIntegrityError(f"{directory / MANIFEST_FILE} lists figures without a checked file: {stray}")
    return {name: (directory / name).read_bytes() for name in names}

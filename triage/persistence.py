"""Saving and loading model directories, refusing anything that is not what triage saved.

A model is a directory::

    model.skops     the fitted TriageClassifier (skops.io; never pickle)
    manifest.json   format version, library versions, labels, file hashes, training data, metrics
    README.md       the model card

:func:`load_model` checks, in this order and before any object is constructed: the manifest
parses and has a known format; every file's SHA-256 matches the manifest; the model file is
a skops archive; the archive names no type outside :data:`TRUSTED_TYPES` (plus the
scikit-learn, NumPy and SciPy types skops trusts by default). Only then does skops build
the estimator.
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
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from triage.card import render_card
from triage.exceptions import (
    InconsistentVersionWarning,
    ModelIntegrityError,
    ModelNotFoundError,
    UntrustedModelError,
)
from triage.segmentation import user_dictionary_sha256

__all__ = ["FORMAT_VERSION", "TRUSTED_TYPES", "load_model", "save_model"]

FORMAT_NAME = "triage-model"
#: Bumped when the directory layout or manifest schema changes; older formats keep a loader.
FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"

#: The only non-default types a triage model file may name. Everything else is refused.
TRUSTED_TYPES = ("triage.estimator.TriageClassifier", "triage.segmentation.segment")

# Written by save_model itself, never taken from the caller's manifest.
_DERIVED_KEYS = frozenset(
    {"format", "format_version", "created", "versions", "user_dictionary_sha256", "files", "figures"}
)
_TRACKED_LIBRARIES = ("triage", "scikit-learn", "jieba", "skops", "numpy", "scipy")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour a saved model depends on."""
    from triage import __version__

    versions = {name: metadata.version(name) for name in _TRACKED_LIBRARIES if name != "triage"}
    return {"triage": __version__, **versions, "python": platform.python_version()}


def save_model(
    estimator: Any,
    path: str | Path,
    *,
    manifest: dict[str, Any],
    figures: Mapping[str, bytes] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``estimator``, its manifest and its card to the directory ``path``, atomically.

    ``manifest`` holds what the training run knows (labels, review threshold, training data,
    metrics, parameters); the format, library versions and file hashes are added here and
    the card is rendered from the result. ``figures`` (file name → PNG bytes) are written
    beside the card, shown in it and hashed like every other file.

    The directory is assembled beside its destination and renamed into place, so a crash
    never leaves half a model. An existing directory is replaced only with ``overwrite=True``.
    """
    import skops.io

    path = Path(path)
    figures = dict(figures or {})
    if any(Path(name).name != name or name in (MODEL_FILE, MANIFEST_FILE, CARD_FILE) for name in figures):
        raise ValueError(f"figure names must be plain file names other than the model's own: {sorted(figures)}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if path.exists() and not is_model_directory(path):
        raise FileExistsError(f"{path} exists and is not a triage model directory; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it owner-only; a model directory is meant to be shared
    try:
        skops.io.dump(estimator, staging / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
        full = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": library_versions(),
            "user_dictionary_sha256": user_dictionary_sha256(),
            **{k: v for k, v in manifest.items() if k not in _DERIVED_KEYS},
            "figures": sorted(figures),
        }
        for name, content in figures.items():
            (staging / name).write_bytes(content)
        (staging / CARD_FILE).write_text(render_card(full), encoding="utf-8")
        full["files"] = {name: _sha256(staging / name) for name in (MODEL_FILE, CARD_FILE, *sorted(figures))}
        (staging / MANIFEST_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


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


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and check a model directory's manifest without loading the model."""
    path = Path(path)
    if path.name == MODEL_FILE and path.is_file():
        path = path.parent
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

    if not zipfile.is_zipfile(model_file):
        raise UntrustedModelError(
            f"{model_file} is not a skops archive (a pickle or joblib file?); triage never "
            "loads pickles: re-save the model with triage.save or `triage train`"
        )
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


def _warn_on_version_drift(manifest: dict[str, Any], path: Path) -> None:
    saved = manifest.get("versions", {})
    current = library_versions()
    drift = [
        f"{name} {saved[name]} (now {current[name]})"
        for name in ("triage", "scikit-learn", "jieba")
        if saved.get(name) and saved[name] != current[name]
    ]
    if manifest.get("user_dictionary_sha256") not in (None, user_dictionary_sha256()):
        drift.append("the segmentation user dictionary")
    if drift:
        warnings.warn(
            f"model {path} was saved with {', '.join(drift)}; predictions may differ from its "
            "recorded metrics — retrain it or install the recorded versions",
            InconsistentVersionWarning,
            stacklevel=3,
        )


def load_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a model directory after checking its integrity; return ``(estimator, manifest)``."""
    import skops.io

    from triage.estimator import TriageClassifier

    manifest = read_manifest(path)
    path = Path(path)
    if path.name == MODEL_FILE:
        path = path.parent
    _verify_files(path, manifest["files"])
    model_file = path / MODEL_FILE
    untrusted = _audit(model_file)
    _warn_on_version_drift(manifest, path)
    estimator = skops.io.load(model_file, trusted=untrusted)
    if not isinstance(estimator, TriageClassifier):
        raise UntrustedModelError(f"{model_file} holds a {type(estimator).__name__}, not a TriageClassifier")
    return estimator, manifest

"""Chinese word segmentation: one module-level function used by training, serving and the CLI.

:func:`segment` runs jieba's dictionary segmentation, extended with the petition-domain user
dictionary shipped in ``triage/data/userdict.txt``, on one of three implementations:

- ``compiled`` (default when built): triage's own C code (``triage/_segment.c``), which runs
  jieba-rs's segmentation rule for rule on jieba's ``dict.txt`` and does segment()'s token rules in
  the same pass, in under half the time of rjieba plus those rules in Python; ``rjieba``'s tokens;
- ``rjieba`` (default when the C code was not built): bindings to jieba-rs, a compiled port of
  jieba with jieba's dictionary, about 12 times faster than jieba and ready in under 0.1 s;
- ``jieba``: the reference Python implementation, on a private :class:`jieba.Tokenizer`
  (never the global ``jieba.dt``).

``TRIAGE_SEGMENTER`` set to one of these names forces it. ``compiled`` and ``rjieba`` give the same
tokens (``tests/test_segment_compiled.py`` checks it on random text and on every real message), and
both give jieba's on 99.3% of real messages (``benchmarks/speed.py``) with models of equal
accuracy; every model records which segmentation built it (:func:`recorded_segmenter`: ``rjieba``
for the first two) and warns when served by the other. Being a plain module-level function,
:func:`segment` pickles and is loaded by skops *by reference*; no tokenizer is ever saved.

jieba keeps a marshal cache of its prefix dictionary. By default it writes that cache to the
world-shared temporary directory, where users race each other and anyone can plant a file
that jieba then unmarshals. triage keeps the cache in a per-user directory that only its
owner can write (``$TRIAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/triage``, else
``~/.cache/triage``) and builds the dictionary without caching when no such directory can be
had.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from triage.exceptions import ConfigError
from triage.text import PLACEHOLDERS

if TYPE_CHECKING:
    import jieba

__all__ = [
    "SEGMENTERS",
    "building_segmenter",
    "compiled_segmenter",
    "dictionary_library",
    "recorded_segmenter",
    "segment",
    "segment_with",
    "segmenter",
    "stop_words",
    "user_dictionary_sha256",
]

#: Implementations of jieba segmentation triage can run on, fastest first.
SEGMENTERS = ("compiled", "rjieba", "jieba")
# The segmentation each implementation gives, as models record it (compiled reproduces rjieba's tokens)
_RECORDED_AS = {"compiled": "rjieba", "rjieba": "rjieba", "jieba": "jieba"}
# The installed distribution each implementation takes its dictionary from (compiled reads jieba's dict.txt)
_DICTIONARY_LIBRARY = {"compiled": "jieba", "rjieba": "rjieba", "jieba": "jieba"}

_DATA = resources.files("triage") / "data"
_PLACEHOLDER_SPLIT = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + ")")
_PLACEHOLDER_SET = frozenset(PLACEHOLDERS.values())
# Runs of letters and digits long enough to be an account or a vehicle number (judged by _identifier)
_ALNUM_RUN = re.compile(r"[0-9A-Za-z_]{6,}")
_segment_text: Callable[[str], list[str]] | None = None
_segment_lock = threading.Lock()


def _cache_dir() -> Path | None:
    """Return a directory only the current user can write, creating it; ``None`` if impossible."""
    configured = os.environ.get("TRIAGE_CACHE_DIR")
    if configured:
        path = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "triage"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    owned = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    if not owned or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return path


def _user_words() -> list[str]:
    lines = (_DATA / "userdict.txt").read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip()]


def _build_jieba() -> jieba.Tokenizer:
    import jieba

    tokenizer = jieba.Tokenizer()
    cache_dir = _cache_dir()
    scratch = None if cache_dir else tempfile.mkdtemp(prefix="triage-jieba-")
    tokenizer.tmp_dir = str(cache_dir or scratch)
    jieba_logger = logging.getLogger("jieba")
    previous_level = jieba_logger.level
    jieba_logger.setLevel(logging.WARNING)  # jieba prints its progress to stderr at DEBUG
    try:
        tokenizer.initialize()
        for word in _user_words():
            tokenizer.add_word(word)
    finally:
        jieba_logger.setLevel(previous_level)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return tokenizer


def _rjieba_class() -> type:
    """rjieba's ``Jieba`` class, loaded without running ``rjieba/__init__.py``.

    That file builds a default dictionary at import (about 30 MB in every process, triage never
    uses it). The compiled module is loaded directly and registered as ``rjieba.rjieba``, so a
    later ``import rjieba`` elsewhere still works; any surprise falls back to a plain import.
    """
    if "rjieba" not in sys.modules:
        spec = importlib.util.find_spec("rjieba")
        folders = list(spec.submodule_search_locations or []) if spec else []
        for folder, suffix in ((f, s) for f in folders for s in importlib.machinery.EXTENSION_SUFFIXES):
            binary = Path(folder) / f"rjieba{suffix}"
            if binary.is_file():
                loader = importlib.machinery.ExtensionFileLoader("rjieba.rjieba", str(binary))
                spec = importlib.util.spec_from_loader("rjieba.rjieba", loader)
                if spec is None:
                    break
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                sys.modules["rjieba.rjieba"] = module
                return module.Jieba
    import rjieba

    return rjieba.Jieba


def _build_rjieba():
    tokenizer = _rjieba_class()()
    for word in _user_words():
        tokenizer.add_word(word, None, None)  # frequency suggested so the word stays whole, as in jieba
    return tokenizer


def _jieba_dictionary() -> Path | None:
    """jieba's ``dict.txt`` (the dictionary rjieba embeds), found without importing jieba."""
    spec = importlib.util.find_spec("jieba")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "dict.txt"
        if path.is_file():
            return path
    return None


def _compiled_available() -> bool:
    return importlib.util.find_spec("triage._segment") is not None and _jieba_dictionary() is not None


@cache
def segmenter() -> str:
    """Name of the implementation :func:`segment` runs on (``"compiled"``, ``"rjieba"`` or ``"jieba"``).

    ``$TRIAGE_SEGMENTER`` chooses; otherwise the fastest installed one.
    """
    chosen = os.environ.get("TRIAGE_SEGMENTER", "").strip().lower()
    if chosen:
        if chosen not in SEGMENTERS:
            raise ConfigError(f"TRIAGE_SEGMENTER={chosen!r} is not one of {', '.join(SEGMENTERS)}")
        if chosen == "compiled" and not _compiled_available():
            raise ConfigError(
                "TRIAGE_SEGMENTER=compiled, but triage._segment was not built (no C compiler at install) or "
                "jieba's dict.txt is missing; reinstall triage with a C compiler, or unset TRIAGE_SEGMENTER"
            )
        return chosen
    if _compiled_available():
        return "compiled"
    return "rjieba" if importlib.util.find_spec("rjieba") is not None else "jieba"


def recorded_segmenter() -> str:
    """The segmentation :func:`segment` gives, as a model records it (``"rjieba"`` or ``"jieba"``).

    ``compiled`` gives rjieba's tokens, so models built on either serve on the other without a warning.
    """
    return _RECORDED_AS[segmenter()]


def dictionary_library() -> str:
    """The installed distribution whose dictionary :func:`segment` runs on (its version is recorded)."""
    return _DICTIONARY_LIBRARY[segmenter()]


def _build_cut(name: str) -> Callable[[str], list[str]]:
    """Dictionary-only cutting (no HMM) on the library called ``name`` (``"rjieba"`` or ``"jieba"``)."""
    if name == "rjieba":
        return partial(_build_rjieba().cut, hmm=False)
    return partial(_build_jieba().lcut, HMM=False)


def _build_compiled() -> Callable[[str], list[str]]:
    """The whole of :func:`segment` in C, on jieba's dictionary plus the user words (added in file order)."""
    from triage import _segment

    dictionary = _jieba_dictionary()
    if dictionary is None:
        raise ConfigError("jieba's dict.txt was not found; reinstall jieba or set TRIAGE_SEGMENTER=rjieba")
    try:
        built = _segment.build(str(dictionary), _user_words(), sorted(stop_words()), tuple(PLACEHOLDERS.values()))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{dictionary}: {error}; reinstall jieba or set TRIAGE_SEGMENTER=rjieba") from error
    return built.segment


def _build_segment(name: str) -> Callable[[str], list[str]]:
    """:func:`segment` on the implementation called ``name``."""
    if name == "compiled":
        return _build_compiled()
    return partial(segment_with, _build_cut(name))


def _get_segment() -> Callable[[str], list[str]]:
    """Build the segmenter once; concurrent first calls wait for the same instance."""
    global _segment_text
    if _segment_text is None:
        with _segment_lock:
            if _segment_text is None:
                _segment_text = _build_segment(segmenter())
    return _segment_text


@contextlib.contextmanager
def building_segmenter() -> Iterator[None]:
    """Build the compiled segmenter on another thread while the block runs, and wait for it at the end.

    Building it takes ~55 ms, nearly all in C with the GIL released (reading jieba's dictionary), so
    on a second core it costs a block that loads a model (~100 ms, mostly zlib and numpy) no wall
    time. No thread outlives the block, so a process may fork after it. A failure is left for the
    first :func:`segment` to raise, as without this; rjieba and jieba are not built here.
    """
    if _segment_text is not None:
        yield
        return
    builder = threading.Thread(target=_build_quietly, name="triage-segmenter", daemon=True)
    builder.start()
    try:
        yield
    finally:
        builder.join()


def _build_quietly() -> None:
    with contextlib.suppress(Exception):  # raised again, in the caller's thread, by the first segment()
        compiled_segmenter()


def compiled_segmenter() -> object | None:
    """The ``triage._segment.Segmenter`` :func:`segment` runs on, or ``None`` when it runs on rjieba
    or jieba. The compiled featuriser cuts texts with it directly (:mod:`triage.scoring`)."""
    if segmenter() != "compiled":
        return None
    return getattr(_get_segment(), "__self__", None)  # _build_compiled returns its bound segment method


@cache
def stop_words() -> frozenset[str]:
    """Function words dropped from segments (loaded once from ``triage/data/stopwords.txt``)."""
    lines = (_DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def user_dictionary_sha256() -> str:
    """SHA-256 of the shipped user dictionary, recorded in every model manifest."""
    return hashlib.sha256((_DATA / "userdict.txt").read_bytes()).hexdigest()


def _content_tokens_python(tokens: list[str], dropped: frozenset[str]) -> list[str]:
    """The tokens with an alphanumeric character that are not stop words (drops punctuation and spaces)."""
    # isalnum() settles almost every token; only a longer token that fails it needs a look at each character
    return [t for t in tokens if (t.isalnum() or (len(t) > 1 and any(ch.isalnum() for ch in t))) and t not in dropped]


try:  # the same rule in C, when the featuriser was built (tests/test_segmentation.py checks they agree)
    from triage._featurize import content_tokens as _content_tokens
except ImportError:
    _content_tokens = _content_tokens_python


def segment(text: str) -> list[str]:
    """Split prepared text into content words.

    Uses dictionary-only segmentation (no HMM guessing of unknown words): results do not
    drift with context, and character n-grams elsewhere in the model cover unknown words.
    Stop words, punctuation and whitespace are dropped; one-character content words such as
    路, 坏, 黑 are kept; placeholders such as ``[PHONE]`` stay whole; runs of digits and letters
    that look like personal data (a QQ number, a VIN) are dropped.

    Examples
    --------
    >>> segment("路灯坏了，晚上路很黑")
    ['路灯', '坏', '晚上', '路', '黑']
    >>> segment("物业电话[PHONE]打不通")
    ['物业', '电话', '[PHONE]', '打', '不通']
    """
    if not isinstance(text, str):
        raise TypeError(f"segment() expects str, got {type(text).__name__}")
    return _get_segment()(text)


def _identifier(run: re.Match[str]) -> str:
    """A space for a run that looks like personal data, else the run itself.

    Seven digits or more (a phone, QQ, ID or card number :func:`triage.text.mask_pii` did not
    recognise, or an order number, which is no better a feature), or letters with four digits or
    more (a VIN, a WeChat id, a plate's tail). jieba cuts such runs into arbitrary pieces (a QQ
    number into ``12345`` and ``6789``), so they are dropped before cutting and never reach a
    vocabulary or an explanation.
    """
    value = run.group()
    digits = sum(char.isdigit() for char in value)
    return " " if digits >= 7 or (digits >= 4 and digits < len(value)) else value


def segment_with(cut: Callable[[str], list[str]], text: str) -> list[str]:
    """:func:`segment` on a given cutting function (to compare implementations)."""
    dropped = stop_words()
    tokens: list[str] = []
    for piece in _PLACEHOLDER_SPLIT.split(text):
        if piece in _PLACEHOLDER_SET:
            tokens.append(piece)
        elif piece:
            tokens.extend(_content_tokens(cut(_ALNUM_RUN.sub(_identifier, piece)), dropped))
    return tokens

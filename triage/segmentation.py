"""Chinese word segmentation: one module-level function used by training, serving and the CLI.

:func:`segment` runs on a private :class:`jieba.Tokenizer` (never the global ``jieba.dt``)
that knows the petition-domain user dictionary shipped in ``triage/data/userdict.txt``.
Being a plain module-level function, it pickles and is loaded by skops *by reference*; the
tokenizer itself is never saved.

jieba keeps a marshal cache of its prefix dictionary. By default it writes that cache to the
world-shared temporary directory, where users race each other and anyone can plant a file
that jieba then unmarshals. triage keeps the cache in a per-user directory that only its
owner can write (``$TRIAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/triage``, else
``~/.cache/triage``) and builds the dictionary without caching when no such directory can be
had.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from triage.text import PLACEHOLDERS

if TYPE_CHECKING:
    import jieba

__all__ = ["segment", "stop_words", "user_dictionary_sha256"]

_DATA = resources.files("triage") / "data"
_PLACEHOLDER_SPLIT = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + ")")
_PLACEHOLDER_SET = frozenset(PLACEHOLDERS.values())
_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()


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


def _build_tokenizer() -> jieba.Tokenizer:
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
        with (_DATA / "userdict.txt").open("rb") as user_dict:
            tokenizer.load_userdict(user_dict)
    finally:
        jieba_logger.setLevel(previous_level)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return tokenizer


def _get_tokenizer() -> jieba.Tokenizer:
    """Build the private tokenizer once; concurrent first calls wait for the same instance."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                _tokenizer = _build_tokenizer()
    return _tokenizer


@cache
def stop_words() -> frozenset[str]:
    """Function words dropped from segments (loaded once from ``triage/data/stopwords.txt``)."""
    lines = (_DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def user_dictionary_sha256() -> str:
    """SHA-256 of the shipped user dictionary, recorded in every model manifest."""
    return hashlib.sha256((_DATA / "userdict.txt").read_bytes()).hexdigest()


def _is_content(token: str, dropped: frozenset[str]) -> bool:
    return bool(token.strip()) and token not in dropped and any(ch.isalnum() for ch in token)


def segment(text: str) -> list[str]:
    """Split prepared text into content words.

    Uses dictionary-only segmentation (no HMM guessing of unknown words): results do not
    drift with context, and character n-grams elsewhere in the model cover unknown words.
    Stop words, punctuation and whitespace are dropped; one-character content words such as
    路, 坏, 黑 are kept; placeholders such as ``[PHONE]`` stay whole.

    Examples
    --------
    >>> segment("路灯坏了，晚上路很黑")
    ['路灯', '坏', '晚上', '路', '黑']
    >>> segment("物业电话[PHONE]打不通")
    ['物业', '电话', '[PHONE]', '打', '不通']
    """
    if not isinstance(text, str):
        raise TypeError(f"segment() expects str, got {type(text).__name__}")
    tokenizer = _get_tokenizer()
    dropped = stop_words()
    tokens: list[str] = []
    for piece in _PLACEHOLDER_SPLIT.split(text):
        if piece in _PLACEHOLDER_SET:
            tokens.append(piece)
        elif piece:
            tokens.extend(t for t in tokenizer.cut(piece, HMM=False) if _is_content(t, dropped))
    return tokens

"""Bounded reads of model files that may have been tampered with.

A model directory can come from anywhere, so nothing in it is trusted before it is checked:

- :func:`open_regular_file` (and :func:`read_regular_file`) open a file without following a
  symbolic link (``O_NOFOLLOW``), refuse anything but a regular file, and refuse a file larger
  than a limit before reading it;
- :func:`read_npz` reads the arrays of an ``.npz`` archive after checking, for every member, the
  size its zip entry declares and the shape and dtype its ``.npy`` header declares, so a deflated
  member that would expand to gigabytes is refused before a byte of it is expanded, and an object
  (pickled) array is refused before it is read; :func:`read_npy` does the same for one ``.npy``.

Errors are ``ValueError`` naming the file and what is wrong; callers add what to do next.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np

__all__ = ["open_regular_file", "read_npy", "read_npz", "read_regular_file", "zip_expanded_size"]

_NPY_HEADER_LIMIT = 10_000  # bytes of a .npy header; numpy's own default limit


def open_regular_file(path: str | Path, *, max_bytes: int) -> BinaryIO:
    """``path`` opened for reading, refusing a symbolic link, a non-regular file or one over ``max_bytes``."""
    if Path(path).is_symlink():  # also where O_NOFOLLOW does not exist
        raise ValueError(f"{path} is a symbolic link; model files are read only as regular files")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise ValueError(f"{path} cannot be opened as a regular file: {error.strerror}") from None
    handle = os.fdopen(descriptor, "rb")
    status = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(status.st_mode):
        problem = f"{path} is not a regular file"
    elif status.st_size > max_bytes:
        problem = f"{path} is {status.st_size:,} bytes, more than the {max_bytes:,} allowed"
    if problem:
        handle.close()
        raise ValueError(problem)
    return handle


def read_regular_file(path: str | Path, *, max_bytes: int) -> bytes:
    """The bytes of ``path``, read as :func:`open_regular_file` opens it."""
    with open_regular_file(path, max_bytes=max_bytes) as handle:
        # read(n) reserves n bytes first: ask for what the file holds (one more shows it grew)
        data = handle.read(os.fstat(handle.fileno()).st_size + 1)
    if len(data) > max_bytes:  # grew while being read
        raise ValueError(f"{path} is more than the {max_bytes:,} bytes allowed")
    return data


def zip_expanded_size(archive: zipfile.ZipFile, source: str, *, max_bytes: int) -> int:
    """The total size the members of ``archive`` declare, refused when over ``max_bytes``.

    Reading a member never yields more than its declared size (zipfile stops there), so this
    bounds what expanding the archive can cost.
    """
    total = sum(info.file_size for info in archive.infolist())
    if total > max_bytes:
        raise ValueError(f"{source} expands to {total:,} bytes, more than the {max_bytes:,} allowed")
    return total


def read_npz(data: bytes, names: Collection[str], *, max_bytes: int, source: str) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` archive ``data``, each member checked before it is expanded.

    Every member must be one of ``names`` (as ``NAME.npy``, once); its zip entry and its ``.npy``
    header must agree on its size; no array may hold objects; all of them together may not
    expand to more than ``max_bytes``. Arrays of ``names`` absent from the archive are absent
    from the result (the caller says which it needs).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ValueError(f"{source} is not an .npz (zip) archive") from None
    with archive:
        zip_expanded_size(archive, source, max_bytes=max_bytes)
        seen: set[str] = set()
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.filename == name or name not in names or name in seen:
                raise ValueError(f"{source} holds an unexpected member {info.filename!r}")
            seen.add(name)
            _check_member(archive, info, source)
        try:
            return {name: _read_member(archive, name) for name in sorted(seen)}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{source} has a damaged member: {error}") from None


def read_npy(data: bytes, *, max_bytes: int, source: str) -> np.ndarray:
    """The array of the ``.npy`` content ``data``, once its header declares no objects and exactly
    the size ``data`` holds, at most ``max_bytes``."""
    if len(data) > max_bytes:
        raise ValueError(f"{source} is {len(data):,} bytes, more than the {max_bytes:,} allowed")
    handle = io.BytesIO(data)
    _check_header(handle, len(data), source, holder="content")
    handle.seek(0)
    try:
        return np.lib.format.read_array(handle, allow_pickle=False, max_header_size=_NPY_HEADER_LIMIT)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{source} is not a readable .npy array: {error}") from None


def _check_header(handle: IO[bytes], size: int, where: str, *, holder: str) -> None:
    """Refuse ``.npy`` content whose header declares objects, or another size than the ``size``
    bytes of its ``holder`` (named in the error)."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=_NPY_HEADER_LIMIT)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=_NPY_HEADER_LIMIT)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        header_size = handle.tell()
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{where} is not a readable .npy array: {error}") from None
    if dtype.hasobject:
        raise ValueError(f"{where} holds Python objects (a pickle); only plain arrays are read")
    declared = header_size + math.prod(shape) * dtype.itemsize
    if declared != size:
        raise ValueError(f"{where} declares an array of {declared:,} bytes in {holder} of {size:,} bytes")


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> None:
    """Refuse a member whose ``.npy`` header declares objects, or another size than its zip entry."""
    where = f"{source} member {info.filename!r}"
    try:
        handle = archive.open(info)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{where} is not a readable .npy array: {error}") from None
    with handle:
        _check_header(handle, info.file_size, where, holder="a zip entry")


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(f"{name}.npy") as handle:
        return np.lib.format.read_array(handle, allow_pickle=False, max_header_size=_NPY_HEADER_LIMIT)

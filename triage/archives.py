"""Bounded reads of model files that may have been tampered with.

A model directory can come from anywhere, so nothing in it is trusted before it is checked:

- :func:`open_regular_file` (and :func:`read_regular_file`) open a file without following a
  symbolic link (``O_NOFOLLOW``), refuse anything but a regular file, and refuse a file larger
  than a limit before reading it;
- :func:`read_npz` reads the arrays of an ``.npz`` archive after checking, for every member, the
  size its zip entry declares and the shape and dtype its ``.npy`` header declares, so a deflated
  member that would expand to gigabytes is refused before a byte of it is expanded, and an object
  (pickled) array is refused before it is read; :func:`read_npy` does the same for one ``.npy``.
  Each member is then expanded in one step and its array is a read-only view of what was expanded
  (or, for a member stored uncompressed, of the archive's own bytes): no copy, CRC-32 checked.
  :func:`npz_members` checks the same and leaves expanding each member (:meth:`NpzMember.read`) to
  the caller, for arrays only some uses need.

Errors are ``ValueError`` naming the file and what is wrong; callers add what to do next.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import IO, BinaryIO, NamedTuple

import numpy as np

__all__ = [
    "NpzMember",
    "npz_members",
    "open_regular_file",
    "read_npy",
    "read_npz",
    "read_regular_file",
    "zip_expanded_size",
]

_NPY_HEADER_LIMIT = 10_000  # bytes of a .npy header; numpy's own default limit
# A zip member's local header: signature, versions, flags, method, time, date, CRC, sizes, then the
# lengths of the name and of the extra field that come before the member's data.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_LOCAL_NAME_LENGTH_AT = 26


def open_regular_file(path: str | Path, *, max_bytes: int) -> BinaryIO:
    """``path`` opened for reading, refusing a symbolic link, a non-regular file or one over ``max_bytes``."""
    if Path(path).is_symlink():  # also where O_NOFOLLOW does not exist
        raise ValueError(f"{path} is a symbolic link; model files are read only as regular files")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise ValueError(f"{path} cannot be opened as a regular file: {error.strerror}") from None
    status = os.fstat(descriptor)  # before fdopen, which refuses a folder with an IsADirectoryError naming the fd
    problem = None
    if not stat.S_ISREG(status.st_mode):
        problem = f"{path} is not a regular file"
    elif status.st_size > max_bytes:
        problem = f"{path} is {status.st_size:,} bytes, more than the {max_bytes:,} allowed"
    if problem:
        os.close(descriptor)
        raise ValueError(problem)
    return os.fdopen(descriptor, "rb")


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
    return {
        name: member.read() for name, member in npz_members(data, names, max_bytes=max_bytes, source=source).items()
    }


def npz_members(data: bytes, names: Collection[str], *, max_bytes: int, source: str) -> dict[str, NpzMember]:
    """The members of the ``.npz`` archive ``data``, checked as :func:`read_npz` checks them, by name
    (sorted), not yet expanded: each is a view of ``data`` until :meth:`NpzMember.detached`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ValueError(f"{source} is not an .npz (zip) archive") from None
    with archive:
        zip_expanded_size(archive, source, max_bytes=max_bytes)
        members: dict[str, tuple[zipfile.ZipInfo, _Header]] = {}
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.filename == name or name not in names or name in members:
                raise ValueError(f"{source} holds an unexpected member {info.filename!r}")
            members[name] = info, _check_member(archive, info, source)
    try:
        return {
            name: NpzMember(_packed(data, info), info, header, source)
            for name, (info, header) in sorted(members.items())
        }
    except zipfile.BadZipFile as error:
        raise ValueError(f"{source} has a damaged member: {error}") from None


class NpzMember:
    """A member of an ``.npz`` archive whose zip entry and ``.npy`` header were checked (its
    :attr:`shape` and :attr:`dtype` are known), expanded by :meth:`read`: size and CRC-32 checked."""

    def __init__(self, packed: memoryview | bytes, info: zipfile.ZipInfo, header: _Header, source: str) -> None:
        self._packed, self._info, self._header, self._source = packed, info, header, source

    @property
    def shape(self) -> tuple[int, ...]:
        return self._header.shape

    @property
    def dtype(self) -> np.dtype:
        return self._header.dtype

    def detached(self) -> NpzMember:
        """This member holding a copy of its own bytes, not a view of the whole archive (to keep it unread)."""
        return NpzMember(bytes(self._packed), self._info, self._header, self._source)

    def read(self) -> np.ndarray:
        """The member's array, a read-only view of its expanded content (or, when stored, of the
        archive's bytes); ``ValueError`` naming the archive when the content is damaged."""
        try:
            content = _expanded(self._packed, self._info)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(f"{self._source} has a damaged member: {error}") from None
        header = self._header
        array = np.frombuffer(content, dtype=header.dtype, count=math.prod(header.shape), offset=header.size)
        return array.reshape(header.shape, order="F" if header.fortran_order else "C")


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


class _Header(NamedTuple):
    """What a ``.npy`` header declares, and the bytes it takes."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    size: int


def _check_header(handle: IO[bytes], size: int, where: str, *, holder: str) -> _Header:
    """The header of ``.npy`` content, refused when it declares objects or another size than the
    ``size`` bytes of its ``holder`` (named in the error)."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=_NPY_HEADER_LIMIT)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=_NPY_HEADER_LIMIT)
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
    return _Header(shape, fortran_order, dtype, header_size)


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> _Header:
    """The ``.npy`` header of a member, refused when it declares objects or another size than its zip
    entry (zipfile also checks the member's local header against the archive's directory)."""
    where = f"{source} member {info.filename!r}"
    try:
        handle = archive.open(info)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{where} is not a readable .npy array: {error}") from None
    with handle:
        return _check_header(handle, info.file_size, where, holder="a zip entry")


def _packed(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The bytes of the member ``info`` of the zip archive ``data`` as stored (a view of ``data``)."""
    view = memoryview(data)
    local = view[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
    if len(local) != _LOCAL_HEADER.size or local[:4] != _LOCAL_SIGNATURE:
        raise zipfile.BadZipFile(f"member {info.filename!r} has no local header where the directory says")
    name_length, extra_length = struct.unpack_from("<HH", local, _LOCAL_NAME_LENGTH_AT)
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    return view[start : start + info.compress_size]


def _expanded(packed: memoryview | bytes, info: zipfile.ZipInfo) -> memoryview | bytes:
    """The expanded bytes of a member stored as ``packed``, checked as zipfile checks them (size and
    CRC-32): ``packed`` itself when stored, else inflated in one call, never beyond the declared size
    (zipfile inflates and copies in chunks of a few kB: 12 ms more for a 17 MB model)."""
    if info.compress_type == zipfile.ZIP_STORED:
        content: memoryview | bytes = packed[: info.file_size]
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        content = zlib.decompressobj(-zlib.MAX_WBITS).decompress(packed, info.file_size)
    else:
        raise zipfile.BadZipFile(f"member {info.filename!r} is compressed with method {info.compress_type}")
    if len(content) != info.file_size:
        raise EOFError(f"member {info.filename!r} holds {len(content):,} of its {info.file_size:,} bytes")
    if zlib.crc32(content) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return content

"""Reading .npz archives: the same arrays numpy reads, read-only, and damage refused."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

from triage.archives import npz_members, read_npz

ARRAYS = {
    "matrix": np.arange(12, dtype=np.int8).reshape(3, 4),
    "fortran": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)),
    "scalar": np.array(2, dtype=np.int64),
    "empty": np.zeros(0, dtype=np.uint32),
    "labels": np.array(["住房", "教育", "a"]),
    "big": np.tile(np.arange(256, dtype=np.uint16), 400),  # larger than zipfile's read chunks
}


def _npz(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **ARRAYS)
    return buffer.getvalue()


@pytest.mark.parametrize("compressed", [True, False], ids=["deflated", "stored"])
def test_arrays_are_what_numpy_reads_and_read_only(compressed):
    arrays = read_npz(_npz(compressed), ARRAYS.keys(), max_bytes=1 << 20, source="test.npz")
    assert arrays.keys() == ARRAYS.keys()
    for name, expected in ARRAYS.items():
        assert arrays[name].dtype == expected.dtype and arrays[name].shape == expected.shape
        np.testing.assert_array_equal(arrays[name], expected)
        assert not arrays[name].flags.writeable
    assert arrays["fortran"].flags.f_contiguous


@pytest.mark.parametrize("compressed", [True, False], ids=["deflated", "stored"])
def test_a_changed_byte_in_a_member_is_refused(compressed):
    data = bytearray(_npz(compressed))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("big.npy")
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0x55  # past the .npy header, in the member's data
    with pytest.raises(ValueError, match=r"test\.npz has a damaged member: "):
        read_npz(bytes(data), ARRAYS.keys(), max_bytes=1 << 20, source="test.npz")


@pytest.mark.parametrize("compressed", [True, False], ids=["deflated", "stored"])
def test_members_left_unread_read_later_as_numpy_reads_them(compressed):
    """A member kept detached from its archive (whose bytes may go) reads its array on demand."""
    data = _npz(compressed)
    members = npz_members(data, ARRAYS.keys(), max_bytes=1 << 20, source="test.npz")
    assert {name: (member.shape, member.dtype) for name, member in members.items()} == {
        name: (array.shape, array.dtype) for name, array in ARRAYS.items()
    }
    detached = members["big"].detached()
    del members, data
    np.testing.assert_array_equal(detached.read(), ARRAYS["big"])


def test_damage_in_a_member_left_unread_is_found_when_it_is_read():
    data = bytearray(_npz(True))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("big.npy")
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0x55
    member = npz_members(bytes(data), ARRAYS.keys(), max_bytes=1 << 20, source="test.npz")["big"]
    with pytest.raises(ValueError, match=r"test\.npz has a damaged member: "):
        member.read()

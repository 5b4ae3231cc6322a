"""Near-duplicate grouping: properties of group ids, the sketch, LSH parameters, and tag --group."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from tests.conftest import SHARED_DATA
from triage.cli import cli
from triage.grouping import (
    SignatureSpill,
    Sketcher,
    band_keys,
    estimated_jaccard,
    group,
    group_signatures,
    lsh_bands,
)

# Invented messages: two concerns reworded, one unrelated, written for these tests.
DRAIN = (
    "柳湾村三组的下水道堵了一个多月，污水漫到路上，村委会一直没人来处理",
    "柳湾村三组下水道堵了一个多月了，污水都漫到路上，村委会一直没有人来处理！",
    "柳湾村三组的下水道堵了快两个月，污水漫到路上，村委会到现在没人处理",
)
NOISE = (
    "青石区建设路一家烧烤店每天营业到凌晨两点，油烟和噪音让整栋楼的居民睡不着觉",
    "青石区建设路那家烧烤店天天营业到凌晨两点，油烟噪音让整栋楼居民都睡不着觉",
)
OTHER = "孩子上小学划片不合理，离家太远，每天接送要一个小时"

chinese = st.text(alphabet=st.sampled_from("物业费停车小区垃圾下水道堵了学校孩子路灯坏噪音，。！ A1"), max_size=40)


def test_reworded_messages_share_a_group_and_others_stand_alone():
    ids = group([*DRAIN, OTHER, *NOISE]).tolist()
    assert ids == [0, 0, 0, 3, 4, 4]


def test_group_is_exported_lazily_from_triage():
    assert triage.group is group


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(chinese, st.text(max_size=20)), max_size=30))
def test_every_text_gets_one_deterministic_id_pointing_at_its_first_member(texts):
    ids = group(texts)
    assert ids.shape == (len(texts),)
    assert np.array_equal(ids, group(texts))
    for index, first in enumerate(ids.tolist()):
        assert first <= index and ids[first] == first  # the id is the index of the group's first member


@settings(max_examples=30, deadline=None)
@given(st.lists(chinese.filter(lambda t: any("\u4e00" <= ch <= "\u9fff" for ch in t)), min_size=1, max_size=10))
def test_identical_texts_share_a_group(texts):
    ids = group([*texts, *texts])
    assert np.array_equal(ids[: len(texts)], ids[len(texts) :])


def test_texts_without_chinese_stand_alone():
    texts = ["", "", "!!!", "hello world", "hello world", "   "]
    assert group(texts).tolist() == list(range(len(texts)))


def test_punctuation_spacing_and_personal_data_do_not_separate_duplicates():
    a = "物业乱收停车费，电话13988999988，垃圾也没人清理"
    b = "物业 乱收停车费!!电话13900001111 垃圾也没人清理。"
    assert group([a, b]).tolist() == [0, 0]


def test_non_str_item_raises_naming_its_index():
    with pytest.raises(TypeError, match="text 2 is NoneType"):
        group(["物业费太贵", "学校补课", None])


def test_empty_input():
    assert group([]).tolist() == []


def test_chunks_do_not_change_the_result():
    texts = [*DRAIN, OTHER, *NOISE] * 3
    assert np.array_equal(group(texts, chunk_size=2), group(texts))


def test_signature_agreement_estimates_jaccard():
    base = "".join(chr(0x4E00 + i) for i in range(400))
    edited = base[:300] + "".join(chr(0x5E00 + i) for i in range(100))  # trigram Jaccard about 0.6
    signatures, usable = Sketcher(signature_size=256).sketch([base, edited, base])
    assert usable.all()
    assert estimated_jaccard(signatures[0], signatures[2]) == 1.0
    assert abs(estimated_jaccard(signatures[0], signatures[1]) - 298 / 498) < 0.1


def test_short_texts_are_sketched_whole():
    signatures, usable = Sketcher().sketch(["堵", "堵", "漏"])
    assert usable.all()
    assert np.array_equal(signatures[0], signatures[1]) and not np.array_equal(signatures[0], signatures[2])


def _trigram_jaccard(a: str, b: str) -> float:
    grams_a, grams_b = ({t[i : i + 3] for i in range(len(t) - 2)} for t in (a, b))
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def test_pairs_above_the_threshold_are_grouped_and_strangers_are_not():
    """Measured recall of the whole pipeline (bands, then verification against a bucket's first
    member) on random texts and edited copies whose true trigram Jaccard is known."""
    rng = np.random.default_rng(3)
    alphabet = np.array([chr(c) for c in range(0x4E00, 0x4E00 + 3000)])
    originals = ["".join(rng.choice(alphabet, 80)) for _ in range(300)]
    copies = []
    for text in originals:
        chars = list(text)
        for i in rng.choice(len(chars), int(rng.integers(8, 15)), replace=False):
            chars[i] = str(rng.choice(alphabet))
        copies.append("".join(chars))
    similarity = np.array([_trigram_jaccard(a, b) for a, b in zip(originals, copies, strict=True)])
    ids = group(originals + copies, threshold=0.3)
    together = ids[: len(originals)] == ids[len(originals) :]
    clear, near = similarity >= 0.4, (similarity >= 0.35) & (similarity < 0.4)
    assert clear.sum() > 150 and near.sum() > 30
    assert together[clear].mean() >= 0.95 and together[near].mean() >= 0.8
    assert len(set(ids[: len(originals)])) == len(originals)  # unrelated originals never merge


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="threshold"):
        lsh_bands(0, 64)
    with pytest.raises(ValueError, match="power of two"):
        Sketcher(signature_size=48)


def test_higher_threshold_never_merges_more():
    texts = [*DRAIN, OTHER, *NOISE]
    signatures, usable = Sketcher().sketch(texts)
    loose = group_signatures(signatures, usable, threshold=0.2)
    strict = group_signatures(signatures, usable, threshold=0.9)
    assert len(set(strict.tolist())) >= len(set(loose.tolist()))


def test_tag_group_adds_group_columns(saved_model_dir, tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    with src.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "内容"])
        writer.writerows([[str(i), text] for i, text in enumerate([OTHER, *DRAIN, "", *NOISE])])
    args = ["tag", str(src), "-o", str(dst), "--text-column", "内容", "--group", "--silent", "--chunk-size", "2"]
    result = CliRunner().invoke(cli, [*args, "--model", str(saved_model_dir)])
    assert result.exit_code == 0, result.output
    with dst.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["group_id"] for r in rows] == ["1", "2", "2", "2", "5", "6", "6"]
    assert [r["group_size"] for r in rows] == ["1", "3", "3", "3", "1", "2", "2"]
    assert rows[1]["department"]  # the usual tags are still there
    loud = [arg for arg in args if arg != "--silent"]
    shown = CliRunner().invoke(cli, [*loud, "--overwrite", "--model", str(saved_model_dir)])
    assert shown.exit_code == 0 and "in.csv (grouping pass)" in shown.stderr


def test_dask_groups_equal_the_local_groups(dask_client):
    import dask.dataframe as dd
    import pandas as pd

    import triage.dask

    rng = np.random.default_rng(0)
    texts = [*DRAIN, *NOISE, OTHER, "", "hello", *(_reworded(text, rng) for text in (*DRAIN, *NOISE) * 4)]
    texts = [texts[i] for i in rng.permutation(len(texts))] + [None]  # a missing cell counts as empty
    frame = pd.DataFrame({"编号": [str(i) for i in range(len(texts))], "内容": texts})
    expected = group([text or "" for text in texts])
    assert len(set(expected.tolist())) < len(texts)  # there is something to group
    for partitions in (1, 3, 7):
        ddf = dd.from_pandas(frame, npartitions=partitions)
        np.testing.assert_array_equal(triage.dask.group(ddf, ["内容"]), expected)
    assert triage.dask.group(dd.from_pandas(frame.iloc[:0], npartitions=1), ["内容"]).tolist() == []
    with pytest.raises(TypeError, match=r"for a pandas DataFrame use triage\.grouping\.group"):
        triage.dask.group(frame, ["内容"])
    with pytest.raises(ValueError, match="threshold"):
        triage.dask.group(dd.from_pandas(frame, npartitions=2), ["内容"], threshold=0)


@pytest.mark.parametrize("name", ["in.csv", "in.parquet"])
def test_dask_grouping_reads_each_piece_of_an_export_once(dask_threads_client, tmp_path, monkeypatch, name):
    """The partitions' lengths, which turn row numbers in a partition into positions, come with their sketches:
    no pass of their own over the export. Only the partitions holding the rows the boilerplate is learned from
    are read once more."""
    import contextlib
    from collections import Counter

    import pandas as pd

    import triage.boilerplate
    import triage.dask

    texts = [*DRAIN, *NOISE, OTHER] * 4
    frame = pd.DataFrame({"编号": [str(i) for i in range(len(texts))], "内容": texts})
    if name.endswith(".csv"):
        frame.to_csv(tmp_path / name, index=False)
    else:
        frame.to_parquet(tmp_path / name, row_group_size=5)
    reads: Counter = Counter()
    real = triage.dask.read_rows

    @contextlib.contextmanager
    def counting(path, **options):
        reads[str(options.get("byte_range") or options.get("row_groups"))] += 1
        with real(path, **options) as export:
            yield export

    monkeypatch.setattr(triage.dask, "read_rows", counting)  # seen by the worker threads of this process
    ddf = triage.dask.read_export(tmp_path / name, blocksize="512B")
    first = len(ddf.get_partition(0))
    # the boilerplate is learned from the first partition's rows alone
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", first)
    monkeypatch.setattr(triage.dask, "SAMPLE_SIZE", first)
    reads.clear()  # the header, and where the text ranges end
    ids = triage.dask.group(ddf, ["内容"])
    assert ddf.npartitions > 2 and sorted(reads.values()) == [1] * (ddf.npartitions - 1) + [2]
    np.testing.assert_array_equal(ids, group(texts))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_row_keys_order_rows_as_the_frame_does_and_map_back_to_positions(lengths):
    """Dask's grouping keys rows by partition and row until the partitions' lengths are known (empty partitions
    too): the keys sort as the rows stand in the frame, and become their positions once the lengths are."""
    from triage.dask import _positions, _row_keys

    keys = np.concatenate([_row_keys(part, np.arange(n)) for part, n in enumerate(lengths)])
    assert (np.diff(keys) > 0).all()
    np.testing.assert_array_equal(_positions(keys, np.array(lengths)), np.arange(sum(lengths)))


def _reworded(text: str, rng: np.random.Generator) -> str:
    """The text with one character dropped and one punctuation mark added (a near-copy)."""
    at = int(rng.integers(1, len(text) - 1))
    return text[:at] + text[at + 1 :] + "！"


@pytest.mark.parametrize("prefix", ["", "triage_"])
def test_tag_group_on_dask_writes_the_local_group_columns(dask_client, saved_model_dir, tmp_path, prefix):
    """The same groups, under the same names: with an input column named group_id (an earlier run's), every
    added column is triage_* in both (Dask prefixed only the clashing ones)."""
    import pandas as pd

    src = tmp_path / "in.csv"
    columns = {"编号": [str(i) for i in range(7)], "内容": [OTHER, *DRAIN, "", *NOISE]}
    if prefix:
        columns["group_id"] = ["旧"] * 7
    pd.DataFrame(columns).to_csv(src, index=False)
    common = [str(src), "--text-column", "内容", "--group", "--model", str(saved_model_dir)]
    local = CliRunner().invoke(cli, ["tag", *common, "-o", str(tmp_path / "local.csv"), "--silent"])
    assert local.exit_code == 0, local.output
    address = dask_client.scheduler.address
    remote = CliRunner().invoke(
        cli, ["tag", *common, "-o", str(tmp_path / "out"), "--engine", "dask", "--scheduler", address]
    )
    assert remote.exit_code == 0, remote.output
    expected = pd.read_csv(tmp_path / "local.csv", dtype=str, keep_default_na=False)
    got = pd.read_parquet(tmp_path / "out")
    assert list(got.columns) == list(expected.columns)
    group_id, group_size, department = (prefix + name for name in ("group_id", "group_size", "department"))
    assert got[group_id].tolist() == [1, 2, 2, 2, 5, 6, 6] == expected[group_id].astype(int).tolist()
    assert got[group_size].tolist() == expected[group_size].astype(int).tolist()
    assert got[department].tolist() == expected[department].tolist()


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data/teddy2020c is absent (real data stays outside)")
def test_real_messages_group_into_small_groups():
    from triage.datasets.teddy2020c import load_votes

    texts = load_votes(SHARED_DATA)["text"].tolist()
    ids = group(texts)
    sizes = np.bincount(ids)
    assert 50 < (sizes >= 2).sum() < 1000  # duplicates exist, but most messages are their own concern
    assert sizes.max() < 50


def test_a_bare_string_is_refused():
    with pytest.raises(ValueError, match="iterable of texts"):
        group("小区下水道堵了")


_TMPFS_NOTE = pytest.mark.filterwarnings("ignore:the temporary directory .* is in memory:RuntimeWarning")


@_TMPFS_NOTE  # where /tmp is a tmpfs
@pytest.mark.parametrize("in_memory_rows", [100, 2])  # in memory; spilled to a temporary file
def test_signature_spill_gives_back_what_was_appended(in_memory_rows):
    sketcher = Sketcher()
    first = sketcher.sketch(["小区下水道堵了一个月没人管", "", "学校食堂饭菜太差"])
    second = sketcher.sketch(["小区下水道堵了一个多月没人管！"])
    with SignatureSpill(sketcher.signature_size, in_memory_rows=in_memory_rows) as spill:
        assert spill.arrays()[0].shape == (0, sketcher.signature_size)
        spill.append(*first)
        spill.append(*second)
        signatures, usable = spill.arrays()
        assert isinstance(signatures, np.memmap) == (in_memory_rows == 2)
        np.testing.assert_array_equal(signatures, np.concatenate([first[0], second[0]]))
        assert usable.tolist() == [True, False, True, True]
        assert group_signatures(signatures, usable).tolist() == [0, 1, 2, 0]
        with pytest.raises(ValueError, match="expected 1 x 64 signatures"):
            spill.append(first[0], first[1][:1])
    np.testing.assert_array_equal(signatures[3], second[0][0])  # still readable after close


@_TMPFS_NOTE
def test_signature_spill_says_what_to_do_without_a_temporary_directory(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    signatures, usable = Sketcher().sketch(["小区下水道堵了一个月没人管"] * 3)
    with SignatureSpill(in_memory_rows=2) as spill, pytest.raises(OSError, match="set TMPDIR to a writable"):
        spill.append(signatures, usable)


def test_band_keys_do_not_depend_on_the_block_size():
    signatures, _ = Sketcher().sketch([f"第{i}号楼下水道堵了{i % 7}天没人管" for i in range(50)])
    members = np.arange(0, 50, 3)
    whole = band_keys(signatures, members, 8, 16)
    for block in (1, 4, 7):
        np.testing.assert_array_equal(band_keys(signatures, members, 8, 16, block=block), whole)


def test_signature_spill_warns_when_the_temporary_directory_is_in_memory(monkeypatch, tmp_path):
    import tempfile

    import triage.grouping

    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\ntmpfs {tmp_path} tmpfs rw 0 0\n")
    monkeypatch.setattr(triage.grouping, "_MOUNTS", mounts)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    signatures, usable = Sketcher().sketch(["小区下水道堵了一个月没人管"] * 3)
    with (
        SignatureSpill(in_memory_rows=2) as spill,
        pytest.warns(RuntimeWarning, match="set TMPDIR to a directory on disk"),
    ):
        spill.append(signatures, usable)
    mounts.write_text("tmpfs /run tmpfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    with SignatureSpill(in_memory_rows=2) as spill, warnings.catch_warnings():
        warnings.simplefilter("error")
        spill.append(signatures, usable)  # on disk: no warning


def test_dask_grouping_of_an_export_puts_a_row_that_cannot_be_read_in_a_group_of_its_own(dask_threads_client, tmp_path):
    """``triage.dask.group`` of :func:`triage.dask.read_export`'s frame groups as ``tag --group`` does: a row that
    could not be read (a field too many) reads as empty however like another row its cells are, so it is grouped
    with none (it was grouped with the row it repeats)."""
    import triage.dask

    texts = ["小区物业乱收停车费，垃圾也没人清理", "派出所补办身份证要排好几天队", "学校食堂有很大的煤气味"]
    lines = ["编号,内容", *(f"{n},{text}" for n, text in enumerate(texts)), f"3,{texts[0]},多余"]
    (source := tmp_path / "in.csv").write_text("\n".join(lines) + "\n", "utf-8")
    frame = triage.dask.read_export(str(source))
    assert frame.compute()["内容"].iloc[-1] == texts[0]  # the cells as read, the error beside them
    for grouped in (triage.dask.group(frame, ["内容"]), triage.dask.group(frame)):
        assert grouped.tolist() == [0, 1, 2, 3]

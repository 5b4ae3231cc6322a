"""`triage tag --engine dask` writes the Parquet the local tagger writes for the same input: the same schema
(the input's Arrow types kept, candidates a list of structs, typed tags) and the same rows."""

from __future__ import annotations

import csv
import datetime
from collections import Counter
from contextlib import contextmanager

import pytest

from tests.conftest import TEXTS
from tests.test_dask_reading import jsonl_parts
from tests.test_result_rows import MESSAGES, write_config
from triage.batch import tag_file

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("distributed")


def _write_input(tmp_path, kind):
    """A Parquet file with typed columns beside the text (an int64 with a null, a timestamp, a list), or a
    CSV file with a quote left open (a row with a reading error)."""
    ids = [int(number) for number, _ in MESSAGES]
    texts = [text or None for _, text in MESSAGES]
    if kind == "parquet":
        table = pa.table(
            {
                "编号": pa.array([None, *ids[1:]], pa.int64()),
                "内容": pa.array(texts, pa.string()),
                "收到": pa.array([datetime.datetime(2024, 5, day + 1) for day in range(len(ids))], pa.timestamp("ms")),
                "标签": pa.array([["物业"], None, *[[] for _ in ids[2:]]], pa.list_(pa.string())),
            }
        )
        pq.write_table(table, tmp_path / "in.parquet")
        return tmp_path / "in.parquet"
    with (tmp_path / "in.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("编号", "内容"), *MESSAGES[:-1]])
        handle.write(f'{MESSAGES[-1][0]},"{MESSAGES[-1][1]}\n')  # a quote left open: the row cannot be read
    return tmp_path / "in.csv"


def _tagged_both(client, saved_model_dir, small_model, source, config, group):
    """``(tag_file's Parquet output, tag_dataset's dataset on client)`` of ``source``, as read back, side by side
    in the source's folder."""
    import triage.dask

    folder = source.parent
    tag_file(source, folder / "local.parquet", model=small_model, group=group, config=config, progress=False)
    triage.dask.tag_dataset(
        source,
        folder / "out",
        scheduler=client.scheduler.address,
        model_path=saved_model_dir,
        config=config,
        group_threshold=triage.dask.DEFAULT_THRESHOLD if group else None,
    )
    return pq.read_table(folder / "local.parquet"), pq.read_table(folder / "out")


@pytest.mark.parametrize("option", ["plain", "group", "config"])
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_the_dask_dataset_is_the_local_parquet_output(
    dask_client, saved_model_dir, small_model, tmp_path, kind, option
):

    source = _write_input(tmp_path, kind)
    config = write_config(tmp_path) if option == "config" else None
    tagged = _tagged_both(dask_client, saved_model_dir, small_model, source, config, option == "group")
    local, remote = (table.replace_schema_metadata(None) for table in tagged)
    assert remote.schema.equals(local.schema), f"{remote.schema}\n---\n{local.schema}"
    assert remote.equals(local)
    assert remote.schema.field("candidates").type == pa.list_(
        pa.struct([("department", pa.string()), ("confidence", pa.float64())])
    )
    if kind == "parquet":  # the input's own types, as read
        assert remote.schema.field("编号").type == pa.int64() and remote.column("编号")[0].as_py() is None
        assert remote.schema.field("收到").type == pa.timestamp("ms")
        assert remote.column("标签").to_pylist()[:2] == [["物业"], None]
    else:  # the row left unread has no tags: nulls, as locally
        assert "quoted cell" in remote.column("error")[-1].as_py() and remote.column("confidence")[-1].as_py() is None


def counted_reads(monkeypatch) -> Counter:
    """How many times triage.dask reads each piece of an export (a byte range, or a run of Parquet row groups),
    on the client or on worker threads of this process; a read of a whole file counts under ``None``."""
    import triage.dask

    reads: Counter = Counter()
    real = triage.dask.read_rows

    @contextmanager
    def counting(path, **options):
        groups = options.get("row_groups")
        reads[options.get("byte_range") or (tuple(groups) if groups is not None else None)] += 1
        with real(path, **options) as export:
            yield export

    monkeypatch.setattr(triage.dask, "read_rows", counting)
    return reads


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_tagging_reads_each_piece_once_and_grouping_once_more_and_planning_text_once_more(
    dask_threads_client, saved_model_dir, small_model, tmp_path, monkeypatch, kind, group
):
    """Each piece of the export is read once by the tagging pass, once more by the grouping pass, which learns the
    partitions' lengths as it sketches them, and a text file's once more on the client, for where its ranges
    end; the client reads the header (or footer) once, and the pieces holding the rows the template is learned
    from once more for tagging, and once more for grouping."""
    import triage.boilerplate
    import triage.dask

    texts = [TEXTS[i % len(TEXTS)] for i in range(24)]
    if kind == "csv":
        source = tmp_path / "in.csv"
        with source.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([("编号", "内容"), *enumerate(texts)])
    else:
        source = tmp_path / "in.parquet"
        pq.write_table(pa.table({"编号": range(len(texts)), "内容": texts}), source, row_group_size=4)
    monkeypatch.setattr(triage.dask, "_BLOCKSIZE", "256B")
    # the template is learned from the first row, so tagging, and the grouping pass, read the first piece once more
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", 1)
    monkeypatch.setattr(triage.dask, "SAMPLE_SIZE", 1)
    reads = counted_reads(monkeypatch)
    local, remote = _tagged_both(dask_threads_client, saved_model_dir, small_model, source, None, group)
    assert remote.equals(local.replace_schema_metadata(None))
    pieces = Counter({piece: times for piece, times in reads.items() if piece is not None})
    assert len(pieces) > 2 and reads[None] == 1
    once = 1 + (kind == "csv") + group
    assert sorted(pieces.values()) == [once] * (len(pieces) - 1) + [once + 1 + group]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_workers_in_this_process_write_the_local_parquet_output(
    dask_threads_client, saved_model_dir, small_model, tmp_path, kind
):
    """The test above on worker threads: the partitions are read, tagged and written (``parquet_table``) here."""

    source = _write_input(tmp_path, kind)
    local, remote = _tagged_both(
        dask_threads_client, saved_model_dir, small_model, source, write_config(tmp_path), True
    )
    local = local.replace_schema_metadata(None)
    assert remote.schema.metadata is None  # no pandas metadata
    assert remote.schema.equals(local.schema), f"{remote.schema}\n---\n{local.schema}"
    assert remote.equals(local)


def test_a_glob_of_jsonl_files_with_other_keys_is_tagged_as_their_concatenation_locally(
    dask_client, saved_model_dir, small_model, tmp_path
):
    import triage.dask

    parts = jsonl_parts(tmp_path)
    tag_file(tmp_path / "all.jsonl", tmp_path / "local.parquet", model=small_model, progress=False)
    triage.dask.tag_dataset(
        parts, tmp_path / "out", scheduler=dask_client.scheduler.address, model_path=saved_model_dir
    )
    local, remote = pq.read_table(tmp_path / "local.parquet"), pq.read_table(tmp_path / "out")
    assert remote.replace_schema_metadata(None).equals(local.replace_schema_metadata(None))
    assert remote.column_names[:5] == ["id", "内容", "区", "电话", "late"] and remote.num_rows == 6


def test_pandas_reads_the_dataset_back_list_columns_included(dask_client, saved_model_dir, tmp_path):
    """Parts written with pandas metadata recorded a list column's dtype as 'list<...>[pyarrow]', which
    pandas.read_parquet cannot parse back ("data type not understood")."""
    import triage.dask

    pd = pytest.importorskip("pandas")
    source = _write_input(tmp_path, "parquet")
    triage.dask.tag_dataset(
        source, tmp_path / "out", scheduler=dask_client.scheduler.address, model_path=saved_model_dir
    )
    frame = pd.read_parquet(tmp_path / "out")
    assert len(frame) == len(MESSAGES) and list(frame["标签"].iloc[0]) == ["物业"]
    assert frame["candidates"].iloc[0][0]["department"] == frame["department"].iloc[0]


def test_the_parts_sort_by_name_in_row_order(dask_client, saved_model_dir, small_model, tmp_path):
    """Twelve partitions: part.10 sorted before part.2 for pyarrow, pandas and DuckDB, which read a folder's
    files in name order (dask alone sorted them by number)."""
    import triage.dask

    (tmp_path / "set").mkdir()
    for number, text in MESSAGES:
        pq.write_table(pa.table({"编号": [number], "内容": [text]}), tmp_path / "set" / f"{int(number):02d}.parquet")
    triage.dask.tag_dataset(
        tmp_path / "set", tmp_path / "out", scheduler=dask_client.scheduler.address, model_path=saved_model_dir
    )
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == [f"part.{number:02d}.parquet" for number in range(len(MESSAGES))]
    assert pq.read_table(tmp_path / "out").column("编号").to_pylist() == [number for number, _ in MESSAGES]


def test_a_folder_holding_the_input_is_not_replaced(dask_client, saved_model_dir, tmp_path):
    import triage.dask

    source = _write_input(tmp_path, "csv")
    with pytest.raises(ValueError, match="holds the input or the working directory"):
        triage.dask.tag_dataset(
            source, tmp_path, scheduler=dask_client.scheduler.address, model_path=saved_model_dir, overwrite=True
        )
    assert source.exists()


def _typed_columns(kind: str) -> dict:
    """Columns of types the Dask frame holds otherwise than as read.

    "converted": types whose dask meta is no pandas ``ArrowDtype`` of them (a large_string column's is pandas'
    own string dtype) or that pandas converts on the way (a timezone, a decimal, a dictionary, nested types, an
    extension type). "views": Polars writes text as string_view, for which pandas has no kernels ("array_take
    has no kernel matching input types (string_view, int64)" ended the Dask run in a traceback)."""
    import decimal
    import uuid

    count, texts = len(MESSAGES), [text for _, text in MESSAGES]
    if kind == "views":
        return {
            "内容": pa.array(texts, pa.string_view()),
            "附件": pa.array([text.encode() for text in texts], pa.binary_view()),
        }
    return {
        "内容": pa.array(texts, pa.large_string()),
        "收到": pa.array([datetime.datetime(2024, 5, 1)] * count, pa.timestamp("us", tz="Asia/Shanghai")),
        "金额": pa.array([decimal.Decimal(f"{n}.25") for n in range(count)], pa.decimal128(9, 2)),
        "类别": pa.array(["物业", "交通"] * (count // 2), pa.string()).dictionary_encode(),
        "次数": pa.array([[n] for n in range(count)], pa.large_list(pa.int64())),
        "来源": pa.array([{"渠道": "热线", "编号": n} for n in range(count)]),
        "标识": pa.array([uuid.UUID(int=n).bytes for n in range(count)], pa.binary(16)).cast(pa.uuid()),
    }


@pytest.mark.parametrize(("kind", "group"), [("converted", False), ("views", True)])
def test_input_types_are_written_as_read(dask_client, saved_model_dir, small_model, tmp_path, kind, group):
    """The Dask output has the input's Arrow types, from its footer, as the local output has (_typed_columns)."""
    columns = _typed_columns(kind)
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table(columns), source)
    local, remote = (
        table.replace_schema_metadata(None)
        for table in _tagged_both(dask_client, saved_model_dir, small_model, source, None, group)
    )
    assert remote.schema.equals(local.schema), f"{remote.schema}\n---\n{local.schema}"
    assert remote.equals(local)
    assert [remote.schema.field(name).type for name in columns] == [
        pq.read_schema(source).field(name).type for name in columns
    ]


def test_a_partition_is_written_with_its_columns_only_whatever_its_index(small_model):
    """A partition's index is no column of its part (a partition of a filtered or shuffled frame has an index
    that is not a range, which pyarrow would otherwise keep as a column ``__index_level_0__``)."""
    pd = pytest.importorskip("pandas")
    from triage.batch import output_columns, parquet_table, tag_dataframe

    frame = pd.DataFrame({"编号": ["7", "3"], "内容": [MESSAGES[0][1], MESSAGES[1][1]]}, index=[7, 3])
    table = parquet_table(tag_dataframe(frame, ["内容"], model=small_model), ["编号", "内容"], output_columns(False))
    assert table.column_names == ["编号", "内容", *output_columns(False)]
    assert table.column("编号").to_pylist() == ["7", "3"]


def test_an_existing_output_is_replaced_only_with_overwrite(dask_threads_client, saved_model_dir, tmp_path):
    """A folder or a file at the output is refused, then replaced whole with overwrite (no part of an earlier
    dataset is left among the new parts). The scheduler's address is returned."""
    import triage.dask

    source = _write_input(tmp_path, "csv")
    address = dask_threads_client.scheduler.address
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part.7.parquet").write_bytes(b"an earlier run's part")
    (tmp_path / "out.parquet").write_bytes(b"an earlier file")
    for output in (tmp_path / "out", tmp_path / "out.parquet"):
        with pytest.raises(FileExistsError) as refused:
            triage.dask.tag_dataset(source, output, scheduler=address, model_path=saved_model_dir)
        assert str(refused.value) == f"{output} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
        assert triage.dask.tag_dataset(
            source, output, scheduler=address, model_path=saved_model_dir, overwrite=True
        ) == (address)
        assert [path.name for path in output.iterdir()] == ["part.0.parquet"]
        assert pq.read_table(output).column("编号").to_pylist() == [number for number, _ in MESSAGES]


def test_a_folder_holding_the_input_or_the_working_directory_is_not_replaced(tmp_path, monkeypatch):
    """Refused before any cluster is reached (no scheduler runs at the address given)."""
    import triage.dask

    source = _write_input(tmp_path, "csv")
    (tmp_path / "work" / "here").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work" / "here")
    for output in (tmp_path, source, tmp_path / "work", tmp_path / "work" / "here"):
        with pytest.raises(ValueError) as refused:
            triage.dask.tag_dataset(source, output, scheduler="tcp://127.0.0.1:9", overwrite=True)
        assert str(refused.value) == f"{output} holds the input or the working directory; write the output elsewhere"
    assert source.exists()


def test_a_run_that_fails_on_its_workers_leaves_no_output(dask_threads_client, tmp_path):
    """The worker threads fail as they tag (no model where the path says): the output folder, where other
    partitions may have written parts, is removed."""
    import triage.dask

    source = _write_input(tmp_path, "csv")
    with pytest.raises(FileNotFoundError, match="no model directory at"):
        triage.dask.tag_dataset(
            source, tmp_path / "out", scheduler=dask_threads_client.scheduler.address, model_path=tmp_path / "none"
        )
    assert not (tmp_path / "out").exists()


def test_workers_in_this_process_use_the_shipped_model_and_a_routing_config_given_loaded(dask_threads_client, tmp_path):
    """Without a model path the workers tag with the shipped model, as ``tag_file`` does without a model; a
    routing config may be given as a loaded :class:`~triage.routing.RoutingConfig`, not only as its file."""
    from triage.batch import ROUTING_COLUMNS
    from triage.routing import load_config

    source = _write_input(tmp_path, "csv")
    config = load_config(write_config(tmp_path))
    local, remote = _tagged_both(dask_threads_client, None, None, source, config, False)
    assert remote.equals(local.replace_schema_metadata(None))
    assert set(ROUTING_COLUMNS) <= set(remote.column_names)


def test_a_row_that_cannot_be_read_is_grouped_with_none_as_locally(
    dask_threads_client, saved_model_dir, small_model, tmp_path
):
    """A row that cannot be read (a field too many) is in a group of its own, as in the local grouping pass, which
    reads its text as empty, however like the others its cells are: it was grouped with the row it repeats."""
    texts = ["小区物业乱收停车费，垃圾也没人清理", "派出所补办身份证要排好几天队", "学校食堂有很大的煤气味"]
    lines = ["编号,内容", *(f"{n},{text}" for n, text in enumerate(texts)), f"3,{texts[0]},多余"]
    (source := tmp_path / "in.csv").write_text("\n".join(lines) + "\n", "utf-8")
    local, remote = _tagged_both(dask_threads_client, saved_model_dir, small_model, source, None, True)
    assert remote.equals(local.replace_schema_metadata(None))
    assert "3 fields" in remote.column("error")[-1].as_py()
    assert remote.column("group_id").to_pylist() == [1, 2, 3, 4] and set(remote.column("group_size").to_pylist()) == {1}


def test_a_row_that_cannot_be_read_has_every_cell_missing_for_grouping_whatever_the_types():
    """A Parquet input is grouped from its values of their Arrow types (an int64, a list, text): the cells of a
    row that could not be read are missing, of the column's type, the others as read."""
    import pandas as pd

    from triage.dask import READ_ERRORS, _readable

    def typed(values, kind):
        return pd.array(values, dtype=pd.ArrowDtype(kind))

    frame = pd.DataFrame(
        {
            "编号": typed([1, 2], pa.int64()),
            "标签": typed([["物业"], ["学校"]], pa.list_(pa.string())),
            "内容": typed(["小区物业乱收停车费", "学校食堂有很大的煤气味"], pa.large_string()),
            READ_ERRORS: pd.array(["", "the Parquet data of rows 2 to 2 cannot be read"], dtype="string"),
        }
    )
    readable = _readable(frame)
    assert (readable.dtypes == frame.dtypes).all()
    assert readable.iloc[0].tolist() == frame.iloc[0].tolist()
    assert readable.iloc[1, :3].isna().all() and readable.iloc[1, 3] == frame.iloc[1, 3]
    assert frame.iloc[1, :3].notna().all()  # the partition given is left as it is


# Requests in traditional characters, written in Big5 below: read as GB18030 (what "auto" picks for them) they
# are other text. The first two are near duplicates (grouped at the default threshold, not at 0.9).
REQUESTS = (
    "社區物業亂收停車費，垃圾也沒人清理",
    "社區物業亂收停車費，垃圾沒人清理",
    "派出所補辦身分證要排好幾天隊",
    "學校食堂有很大的煤氣味",
    "樓道燈壞了，物業說不歸他們管",
)


def test_workers_in_this_process_use_the_encoding_text_columns_and_threshold_given(
    dask_threads_client, saved_model_dir, small_model, tmp_path
):
    """The options are the ones ``tag_file`` is given: the Big5 file read as Big5, the ``request`` column
    tagged and grouped (not ``content``, the one found by its name, the same in every row), at 0.9."""
    import triage.dask

    with (tmp_path / "in.csv").open("w", encoding="big5", newline="") as handle:
        csv.writer(handle).writerows([("id", "content", "request"), *((n, "同上", t) for n, t in enumerate(REQUESTS))])
    options = {"text_columns": ["request"], "encoding": "big5"}
    tag_file(
        tmp_path / "in.csv",
        tmp_path / "local.parquet",
        model=small_model,
        group=True,
        group_threshold=0.9,
        progress=False,
        **options,
    )
    triage.dask.tag_dataset(
        tmp_path / "in.csv",
        tmp_path / "out",
        scheduler=dask_threads_client.scheduler.address,
        model_path=saved_model_dir,
        group_threshold=0.9,
        **options,
    )
    local, remote = (
        pq.read_table(tmp_path / "local.parquet").replace_schema_metadata(None),
        pq.read_table(tmp_path / "out"),
    )
    assert remote.equals(local)
    assert remote.column("request").to_pylist() == list(REQUESTS)
    assert len(set(remote.column("group_id").to_pylist())) == len(REQUESTS)


def test_without_a_scheduler_a_cluster_is_started_for_the_call_and_closed(saved_model_dir, tmp_path):
    """``triage tag --engine dask`` without ``--scheduler``: a local cluster of ``n_jobs`` worker processes
    tags the rows, and is gone when the call returns."""
    import distributed

    import triage.dask

    source = _write_input(tmp_path, "csv")
    address = triage.dask.tag_dataset(source, tmp_path / "out", n_jobs=1, model_path=saved_model_dir)
    assert pq.read_table(tmp_path / "out").column("编号").to_pylist() == [n for n, _ in MESSAGES]
    with pytest.raises(OSError):
        distributed.Client(address, timeout=1)


def test_a_workbook_is_read_as_locally_its_error_values_rows_errors_and_formulas_never_calculated_refused(
    dask_threads_client, saved_model_dir, small_model, tmp_path
):
    """On Dask as in ``tag_file``: a message cell holding an Excel error value (read as an empty cell) makes its
    row's error, not an empty message tagged; one in a column not read is copied as read; a text column of
    formulas never calculated refuses the workbook, naming the cell, before anything is written."""
    import openpyxl

    import triage.dask
    from triage.io import DataError

    book = openpyxl.Workbook()
    book.active.title = "工单"
    for row in [
        ["编号", "内容", "备注"],
        [1, "小区物业乱收停车费", "#N/A"],
        [2, "#REF!", ""],
        [3, "学校食堂卫生差", ""],
    ]:
        book.active.append(row)
    book.save(source := tmp_path / "in.xlsx")
    local, remote = _tagged_both(dask_threads_client, saved_model_dir, small_model, source, None, False)
    assert remote.equals(local.replace_schema_metadata(None))
    errors = remote.column("error").to_pylist()
    assert not errors[0] and "cell B3 of sheet '工单' holds the Excel error value #REF!" in errors[1] and not errors[2]
    assert not remote.column("department").to_pylist()[1]  # not tagged as an empty message
    book.active["B4"] = "=B2&C2"  # openpyxl saves no value for a formula
    book.save(source)
    with pytest.raises(DataError, match=r"column '内容'.*cell B4.*=B2&C2"):
        triage.dask.tag_dataset(
            source, tmp_path / "refused", scheduler=dask_threads_client.scheduler.address, model_path=saved_model_dir
        )
    assert not (tmp_path / "refused").exists()

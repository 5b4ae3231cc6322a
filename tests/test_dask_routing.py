"""triage.dask.tag routes with a config, and its columns equal the local tagger's (synchronous scheduler)."""

from __future__ import annotations

import pytest

from tests.conftest import TEXTS
from tests.test_result_rows import MESSAGES, write_config
from triage.batch import output_columns, tag_dataframe
from triage.routing import load_config

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")


@pytest.mark.parametrize("as_path", [True, False], ids=["config-path", "config-object"])
def test_dask_routes_like_the_local_tagger(saved_model_dir, small_model, tmp_path, as_path):
    import triage.dask

    config_path = write_config(tmp_path)
    frame = pd.DataFrame(MESSAGES, columns=["编号", "内容"])
    ddf = dd.from_pandas(frame, npartitions=3)
    config = config_path if as_path else load_config(config_path)
    tagged = triage.dask.tag(ddf, ["内容"], model_path=saved_model_dir, config=config)
    assert list(tagged.columns) == [*frame.columns, *output_columns(routing=True)]
    with dask.config.set(scheduler="synchronous"):
        remote = tagged.compute()
    local = tag_dataframe(frame, ["内容"], model=small_model, config=load_config(config_path))
    pd.testing.assert_frame_equal(remote.reset_index(drop=True), local.reset_index(drop=True), check_dtype=False)
    assert set(remote["urgency"]) == {"normal", "urgent", "emergency"} and "南城派出所" in set(remote["local_office"])


def test_dask_without_a_config_adds_no_routing_columns(saved_model_dir, small_model):
    import triage.dask

    frame = pd.DataFrame(MESSAGES, columns=["编号", "内容"])
    tagged = triage.dask.tag(dd.from_pandas(frame, npartitions=2), ["内容"], model_path=saved_model_dir)
    assert list(tagged.columns) == [*frame.columns, *output_columns(routing=False)]
    with dask.config.set(scheduler="synchronous"):
        remote = tagged.compute()
    local = tag_dataframe(frame, ["内容"], model=small_model)
    pd.testing.assert_frame_equal(remote.reset_index(drop=True), local.reset_index(drop=True), check_dtype=False)


def test_a_config_survives_pickling_for_distributed_workers(small_model, tmp_path):
    """A distributed scheduler ships the config to its workers pickled (RE2 patterns included)."""
    import pickle

    config = load_config(write_config(tmp_path))
    shipped = pickle.loads(pickle.dumps(config))
    texts = [text for _, text in MESSAGES]
    assert small_model.route(texts, config=shipped) == small_model.route(texts, config=config)


def test_rows_read_by_read_export_are_tagged_as_the_local_tagger_tags_them(saved_model_dir, small_model, tmp_path):
    """Synchronously (the cluster tests run the tagging in worker processes): a row that cannot be read keeps its
    error and gets missing tags (nullable dtypes), only the text columns named are read, and input columns
    named like tag columns are kept as read, the tags beside them as triage_*."""
    import triage.dask
    from triage.batch import tag_file
    from triage.io import detect_text_columns, read_rows

    lines = [f"{i},高,物业,派出所,{text}" for i, text in enumerate(TEXTS[:12])]  # 标题 is found, not named
    lines[2] = "2,高,学校,派出所,学校乱收费,补课费"
    lines[-1] = f'{len(lines) - 1},高,物业,派出所,"路灯坏了'
    (tmp_path / "in.csv").write_text("id,confidence,department,标题,内容\n" + "\n".join(lines) + "\n", "utf-8")
    tag_file(tmp_path / "in.csv", tmp_path / "local.csv", model=small_model, text_columns=["内容"], progress=False)
    with read_rows(tmp_path / "local.csv") as export:
        local = [dict(zip(export.header, row.cells, strict=True)) for chunk in export.chunks for row in chunk]
    frame = triage.dask.read_export(str(tmp_path / "in.csv"), blocksize="64B")
    assert detect_text_columns(list(frame.columns)) != ["内容"]  # what 标题 is for
    tagged = triage.dask.tag(frame, ["内容"], model_path=saved_model_dir)
    with dask.config.set(scheduler="synchronous"):
        remote = tagged.compute()
    # named as tag_file names them: every tag column gets the prefix when one name is taken
    assert list(remote.columns) == list(tagged.columns) == list(local[0])
    assert list(local[0])[5:] == [f"triage_{name}" for name in output_columns(routing=False)]
    columns = ["id", "confidence", "department", "标题", "内容", "triage_department", "triage_error"]
    columns.append("triage_confidence")
    read = remote[columns].astype(object).fillna("").astype(str)  # a missing confidence is written blank
    assert read.values.tolist() == [[row[name] for name in columns] for row in local]
    assert str(remote["triage_confidence"].dtype) == "Float64"
    assert str(remote["triage_needs_review"].dtype) == "boolean"
    unread = remote["triage_error"] != ""
    assert unread.sum() == 2 and remote.loc[unread, "triage_confidence"].isna().all()
    assert remote.loc[unread, "triage_needs_review"].isna().all()
    assert remote.loc[~unread, "triage_needs_review"].notna().all()


def test_dask_without_a_model_path_tags_with_the_shipped_model():
    import triage
    import triage.dask

    frame = pd.DataFrame(MESSAGES, columns=["编号", "内容"])
    tagged = triage.dask.tag(dd.from_pandas(frame, npartitions=1), ["内容"])
    with dask.config.set(scheduler="synchronous"):
        remote = tagged.compute()
    local = tag_dataframe(frame, ["内容"], model=triage.load())
    pd.testing.assert_frame_equal(remote.reset_index(drop=True), local.reset_index(drop=True), check_dtype=False)

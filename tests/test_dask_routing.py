"""triage.dask.tag routes with a config, and its columns equal the local tagger's (synchronous scheduler)."""

from __future__ import annotations

import pytest

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

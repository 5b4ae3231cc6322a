"""Where the real data is looked for, what scripts say about it, and no score on the model's own training data."""

from __future__ import annotations

import pytest

import triage
from triage.datasets import authored_texts, load_petitions, teddy2020c, trained_on_authored_corpus
from triage.evaluation import evaluate
from triage.exceptions import TrainingDataOverlapError


@pytest.fixture
def no_data_env(monkeypatch):
    monkeypatch.delenv(teddy2020c.DATA_ENV, raising=False)


def _shared_data(root):
    folder = root / "shared" / "data" / "teddy2020c"
    folder.mkdir(parents=True)
    (folder / "messages.csv").write_text("id,subject,body,label\n", encoding="utf-8")
    return folder


def test_shared_data_is_found_from_the_working_directory(tmp_path, monkeypatch, no_data_env):
    """A non-editable install lives in site-packages: only the working directory leads to ../shared/data."""
    folder = _shared_data(tmp_path)
    notebooks = tmp_path / "checkout" / "notebooks"
    notebooks.mkdir(parents=True)
    monkeypatch.chdir(notebooks)
    assert teddy2020c.default_path() == folder


def test_the_environment_variable_wins_and_must_name_a_real_folder(tmp_path, monkeypatch):
    named = _shared_data(tmp_path / "elsewhere")
    monkeypatch.setenv(teddy2020c.DATA_ENV, str(named))
    monkeypatch.chdir(tmp_path)
    assert teddy2020c.default_path() == named
    monkeypatch.setenv(teddy2020c.DATA_ENV, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"TRIAGE_TEDDY2020C names .*missing.*no messages\.csv"):
        teddy2020c.default_path()


def test_the_data_used_is_said_loudly(tmp_path):
    assert teddy2020c.describe_source(tmp_path).startswith(f"DATA: real teddy2020c messages from {tmp_path}")
    absent = teddy2020c.describe_source(None)
    assert absent.startswith("DATA: no teddy2020c folder found") and "no test score" in absent


def test_the_default_model_is_not_scored_on_its_own_training_data():
    """The shipped model was trained on every authored message: a score there would read 1.000 and mean nothing."""
    model = triage.load()
    assert trained_on_authored_corpus(model.manifest)
    corpus = load_petitions()
    texts = ["楼下饭店油烟太大，窗户都不敢开", *corpus.texts[:5]]
    labels = ["ecology_environment", *corpus.departments[:5]]
    with pytest.raises(TrainingDataOverlapError, match=r"5 of 6 texts are messages of the authored petition corpus"):
        evaluate(model, texts, labels)
    assert evaluate(model, texts[:1], labels[:1])["n"] == 1  # invented text, never trained on


def test_a_model_trained_without_the_corpus_may_be_scored_on_it(small_model):
    assert not trained_on_authored_corpus(small_model.manifest)
    corpus = load_petitions()
    assert evaluate(small_model, list(corpus.texts[:5]), list(corpus.departments[:5]))["n"] == 5
    assert set(corpus.texts[:5]) <= authored_texts()

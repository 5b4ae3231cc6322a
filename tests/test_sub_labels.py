"""Second-level labels: a sub-category within the predicted department, trained, served, saved and checked."""

from __future__ import annotations

import json
import pickle
import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import skops.io
from click.testing import CliRunner

import triage
from tests.conftest import LABELS, SUB_DEPARTMENTS, SUB_LABELS, SUB_TEXTS, TEXTS, rehash
from triage.batch import tag_dataframe
from triage.cli import cli
from triage.exceptions import ModelIntegrityError, ModelNotFoundError, TrainingDataWarning, UntrustedModelError
from triage.metrics import evaluate_sub_labels
from triage.persistence import (
    CARD_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    SCORER_FILE,
    SUB_MODEL_FILE,
    SUB_SCORER_FILE,
    load_model,
)
from triage.results import Classification, ReviewReason

PROBES = ["物业费又涨了，收费不公开", "护照丢了去哪里补办", "孩子入学划片太远", "楼道灯坏了没人修", "!!!"]


@pytest.fixture
def sub_copy(saved_sub_model_dir, tmp_path):
    return shutil.copytree(saved_sub_model_dir, tmp_path / "copy")


def _manifest(directory):
    return json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))


def test_training_records_pairs_data_and_cross_validated_metrics(sub_model):
    manifest = sub_model.manifest
    pairs = {(entry["label"], entry["sub_label"]) for entry in manifest["sub_labels"]}
    assert pairs == {(d, s) for d, s in zip(SUB_DEPARTMENTS, SUB_LABELS, strict=True) if s}
    classes = [entry["class"] for entry in manifest["sub_labels"]]
    assert "property_management/其他" in classes and "public_security/其他" in classes  # same name, kept apart
    assert manifest["training_data"]["sub_labels"]["n_documents"] == 32
    assert manifest["training_data"]["sub_labels"]["rows_without_sub_label"] == 3
    metrics = manifest["metrics"]["cross_validated"]["sub_labels"]
    assert metrics["n"] == 32 and 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["per_label"]["education"]["sub_labels"] == {"enrolment": 5, "fees": 5}
    assert metrics["per_label"]["education"]["majority_baseline"] == 0.5
    assert sub_model.sub_categories("public_security") == ("documents", "其他")
    assert sub_model.sub_categories("health") == ()


def test_sub_metrics_restrict_to_the_true_label():
    pairs = [("a", "x"), ("a", "y"), ("b", "x")]
    proba = np.array([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])
    labels = np.array(["a", "a", "b"], dtype=object)
    subs = np.array(["y", "y", "x"], dtype=object)
    result = evaluate_sub_labels(labels, subs, proba, pairs)
    # row 0: b/x is most probable overall, but among a's pairs a/y wins: correct
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["per_label"]["a"] == {"n": 2, "accuracy": 0.5, "majority_baseline": 1.0, "sub_labels": {"y": 2}}
    assert result["majority_baseline"] == 1.0


def test_sub_category_is_one_of_the_predicted_departments(sub_model):
    results = sub_model.classify([*SUB_TEXTS, *PROBES])
    for result in results[:-1]:
        assert result.sub_category in sub_model.sub_categories(result.department)
        assert 0.0 < result.sub_confidence <= 1.0
    assert results[-1].department is None and results[-1].reason == ReviewReason.EMPTY_TEXT
    assert (results[-1].sub_category, results[-1].sub_confidence) == (None, 0.0)


def test_sub_confidence_is_the_estimators_probability_renormalised_within_the_department(sub_model):
    """The estimator's probabilities as served: by its compact scorer (close to it: tests/test_scoring.py)."""
    scorer = sub_model.sub_scorer
    classes = [str(name) for name in scorer.classes]
    proba = scorer.predict_proba(PROBES[:4])
    for row, result in zip(proba, sub_model.classify(PROBES[:4]), strict=True):
        under = [i for i, name in enumerate(classes) if name.startswith(f"{result.department}/")]
        within = row[under] / row[under].sum()
        best = int(np.argmax(within))
        assert classes[under[best]] == f"{result.department}/{result.sub_category}"
        assert result.sub_confidence == pytest.approx(within[best], abs=1e-5)


def test_sub_categories_are_learned_on_training_texts(sub_model):
    results = sub_model.classify(list(SUB_TEXTS))
    known = [(r, d, s) for r, d, s in zip(results, SUB_DEPARTMENTS, SUB_LABELS, strict=True) if s]
    assert np.mean([r.department == d and r.sub_category == s for r, d, s in known]) > 0.9


def test_a_model_without_sub_labels_is_unchanged(small_model, saved_model_dir):
    result = small_model.classify("小区物业乱收停车费")
    assert (result.sub_category, result.sub_confidence) == (None, 0.0)
    assert small_model.sub_scorer is None and small_model.sub_estimator is None
    assert "sub_labels" not in small_model.manifest
    assert {p.name for p in saved_model_dir.iterdir()} == {MODEL_FILE, SCORER_FILE, MANIFEST_FILE, CARD_FILE}
    assert "## Sub-categories" not in (saved_model_dir / CARD_FILE).read_text(encoding="utf-8")
    assert triage.load(saved_model_dir).sub_scorer is None


def test_classification_keeps_its_positional_fields():
    old_style = Classification("education", "教育", 0.9, (("education", 0.9),), False, None, (), False)
    assert old_style.sub_category is None and old_style.sub_confidence == 0.0
    assert old_style.to_dict()["sub_category"] is None


def test_round_trip_preserves_sub_predictions(sub_model, saved_sub_model_dir):
    assert {SUB_MODEL_FILE, SUB_SCORER_FILE} <= set(_manifest(saved_sub_model_dir)["files"])
    loaded = triage.load(saved_sub_model_dir)
    assert loaded.classify(PROBES) == sub_model.classify(PROBES)
    assert loaded.sub_estimator.get_params() == sub_model.sub_estimator.get_params()
    assert list(loaded.sub_estimator.classes_) == list(sub_model.sub_estimator.classes_)


def test_resaving_a_loaded_model_keeps_its_sub_model(saved_sub_model_dir, tmp_path):
    again = triage.load(saved_sub_model_dir).save(tmp_path / "again")
    assert triage.load(again).classify(PROBES) == triage.load(saved_sub_model_dir).classify(PROBES)


def test_card_lists_sub_categories_with_accuracy(saved_sub_model_dir):
    card = (saved_sub_model_dir / CARD_FILE).read_text(encoding="utf-8")
    assert "## Sub-categories" in card
    assert "| education | 教育 | enrolment (5), fees (5) |" in card
    assert "| public_security | 公安 | documents (6), 其他 (6) |" in card


@pytest.mark.parametrize("name", [SUB_MODEL_FILE, SUB_SCORER_FILE])
def test_tampered_sub_files_are_refused(sub_copy, name):
    with (sub_copy / name).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match=rf"{name} was modified after the model was saved"):
        triage.load(sub_copy)


def test_sub_model_pickle_is_refused_before_construction(sub_copy, monkeypatch):
    (sub_copy / SUB_MODEL_FILE).write_bytes(pickle.dumps({"not": "a model"}))
    rehash(sub_copy, SUB_MODEL_FILE)
    monkeypatch.setattr(skops.io, "load", lambda *a, **k: pytest.fail("skops.io.load called"))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    with pytest.raises(UntrustedModelError, match=r"sub_model.skops is not a skops archive"):
        triage.load(sub_copy)


def test_sub_scorer_of_other_classes_is_refused(sub_copy):
    shutil.copyfile(sub_copy / SCORER_FILE, sub_copy / SUB_SCORER_FILE)
    rehash(sub_copy, SUB_SCORER_FILE)
    with pytest.raises(ModelIntegrityError, match=r"do not match the manifest's sub_labels"):
        triage.load(sub_copy)


@pytest.mark.parametrize("drop", ["sub_labels", SUB_SCORER_FILE])
def test_half_a_sub_model_is_refused(sub_copy, drop):
    manifest = _manifest(sub_copy)
    manifest.pop(drop) if drop in manifest else manifest["files"].pop(drop)
    (sub_copy / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"sub-label model needs both"):
        triage.load(sub_copy)


def test_load_model_sub_loads_the_sub_estimator(saved_sub_model_dir, saved_model_dir):
    estimator, _ = load_model(saved_sub_model_dir, sub=True)
    assert "education/enrolment" in estimator.classes_
    with pytest.raises(ModelNotFoundError, match="no sub-label model"):
        load_model(saved_model_dir, sub=True)


def test_rare_pairs_are_reported_and_single_ones_left_out():
    subs = ["fees"] * 10 + ["documents"] * 7 + ["lost"] * 3 + ["enrolment"] * 9 + ["其他"]
    with pytest.warns(TrainingDataWarning, match=r"label/sub-label\) classes seen once left out: \['education/其他'\]"):
        model = triage.train(TEXTS, LABELS, sub_labels=subs, min_df=1, calibration_folds=2)
    data = model.manifest["training_data"]["sub_labels"]
    assert data["classes_left_out"] == ["education/其他"]
    assert data["rare_classes"] == {"public_security/lost": 3}
    assert "其他" not in model.sub_categories("education")
    assert model.sub_categories("property_management") == ("fees",)
    assert model.classify("物业费一年涨了两次").sub_confidence == 1.0  # one sub-category: certain


def test_evaluate_refuses_sub_labels_that_do_not_match_the_texts(sub_model):
    """With a row without a label among them, they failed in zip() ("argument 2 is longer than argument 1");
    without one, the extra sub-labels were never looked at."""
    from triage.evaluation import evaluate

    for departments in (list(SUB_DEPARTMENTS), ["", *SUB_DEPARTMENTS[1:]]):
        with pytest.raises(ValueError, match=rf"^{len(SUB_TEXTS)} texts but {len(SUB_TEXTS) + 1} sub-labels$"):
            evaluate(sub_model, list(SUB_TEXTS), departments, sub_labels=[*SUB_LABELS, "fees"])


def test_sub_labels_must_match_texts_and_name_two_pairs():
    with pytest.raises(ValueError, match="30 texts but 2 sub-labels"):
        triage.train(TEXTS, LABELS, sub_labels=["a", "b"], min_df=1)
    with pytest.raises(ValueError, match="at least 2"):
        triage.train(TEXTS, LABELS, sub_labels=["fees"] * 10 + [""] * 20, min_df=1, calibration_folds=2)


def test_colliding_pair_names_are_refused():
    labels = ["a/b"] * 15 + ["a"] * 15
    subs = ["c"] * 15 + ["b/c"] * 15
    with pytest.raises(ValueError, match="both written 'a/b/c'"):
        triage.train(TEXTS, labels, sub_labels=subs, min_df=1, calibration_folds=2)


def test_tagging_and_routing_use_the_sub_category(sub_model):
    frame = pd.DataFrame({"内容": PROBES})
    tagged = tag_dataframe(frame, ["内容"], model=sub_model)
    expected = [r.sub_category or "" for r in sub_model.classify(PROBES)]
    assert list(tagged["sub_category"]) == expected and all(expected[:4])
    routed = sub_model.route(PROBES[:4])
    assert [s.subcategory for s in routed] == expected[:4]


def test_cli_train_with_sub_label_column_then_classify(tmp_path):
    export = tmp_path / "export.csv"
    pd.DataFrame({"内容": SUB_TEXTS, "部门": SUB_DEPARTMENTS, "子类": SUB_LABELS}).to_csv(export, index=False)
    runner = CliRunner()
    model = tmp_path / "model"
    base = ["train", str(export), "-o", str(model), "--label-column", "部门", "--text-column", "内容"]
    missing = runner.invoke(cli, [*base, "--sub-label-column", "nope"])
    assert missing.exit_code == 1 and "no sub-label column 'nope'" in missing.output
    result = runner.invoke(cli, [*base, "--sub-label-column", "子类", "--with-estimator"])
    assert result.exit_code == 0, result.output
    assert "cross_validated sub-labels given the department (n=32): accuracy" in result.output
    assert {SUB_MODEL_FILE, SUB_SCORER_FILE} <= {p.name for p in model.iterdir()}

    shown = runner.invoke(cli, ["classify", "--model", str(model), "学校乱收校服费和资料费"])
    assert shown.exit_code == 0, shown.output
    assert "子类 sub-category: fees (" in shown.output
    as_json = runner.invoke(cli, ["classify", "--json", "--model", str(model), "护照过期了去哪里办理加急"])
    row = json.loads(as_json.stdout)
    assert row["sub_category"] == "documents" and 0 < row["sub_confidence"] <= 1
    info = runner.invoke(cli, ["info", "--model", str(model)])
    assert "sub-labels given the department (n=32)" in info.output
    evaluated = runner.invoke(
        cli, ["evaluate", str(model), str(export), "--label-column", "部门", "--sub-label-column", "子类"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "evaluated sub-labels given the department (n=32): accuracy" in evaluated.output
    assert "evaluated department and sub-label both right:" in evaluated.output


def test_authored_corpus_sub_categories_beat_the_majority_baseline():
    """Trained on 1,000 authored messages, scored on 1,000 others (a wrong department counts as wrong)."""
    from triage.datasets import load_petitions

    data = load_petitions()
    order = np.random.default_rng(0).permutation(len(data.texts))
    train_rows, test_rows = order[:1000], order[1000:2000]
    departments, subs = np.array(data.departments), np.array(data.subcategories)
    with pytest.warns(TrainingDataWarning):  # a few pairs have fewer than 5 of 1,000 messages
        model = triage.train(
            [data.texts[i] for i in train_rows],
            departments[train_rows],
            sub_labels=subs[train_rows],
            calibration_folds=3,
        )
    results = model.classify([data.texts[i] for i in test_rows])
    accuracy = np.mean([r.sub_category == s for r, s in zip(results, subs[test_rows], strict=True)])
    majority = {d: Counter(subs[train_rows][departments[train_rows] == d]).most_common(1)[0][0] for d in departments}
    baseline = np.mean([majority[d] == s for d, s in zip(departments[test_rows], subs[test_rows], strict=True)])
    assert accuracy > baseline + 0.3, (accuracy, baseline)


def test_missing_sub_labels_in_any_form_mean_unknown():
    from triage.training import sub_label_array

    values = [*pd.array(["fees", pd.NA, None, " parking ", ""], dtype="string").tolist(), float("nan")]
    assert sub_label_array(values, 6).tolist() == ["fees", "", "", "parking", "", ""]


def test_evaluate_scores_sub_labels_given_the_department_and_end_to_end(sub_model):
    from triage.evaluation import evaluate

    texts, departments = list(SUB_TEXTS), np.array(SUB_DEPARTMENTS, dtype=object)
    subs = [*SUB_LABELS[:-3], "", None, "a sub-category the model never saw"]
    result = evaluate(sub_model, texts, departments, sub_labels=subs)["sub_labels"]
    known = [i for i, s in enumerate(subs) if s]
    assert result["n"] == len(known) < len(texts)  # rows without a sub-label are not scored
    found = sub_model.classify(texts)
    both = [r.department == d and r.sub_category == s for r, d, s in zip(found, departments, subs, strict=True) if s]
    assert result["accuracy_with_predicted_department"] == pytest.approx(np.mean(both))
    assert result["accuracy_with_predicted_department"] <= result["accuracy"] <= 1
    assert set(result["per_label"]) == set(departments[known])


def test_evaluate_leaves_a_row_without_a_label_out_of_the_sub_label_scores_too(sub_model, capsys):
    from triage.evaluation import evaluate

    departments = list(SUB_DEPARTMENTS)
    departments[SUB_LABELS.index(next(sub for sub in SUB_LABELS if sub))] = ""  # a row with a sub-label
    with pytest.warns(TrainingDataWarning, match=r"^1 rows without a label left out$"):
        result = evaluate(sub_model, list(SUB_TEXTS), departments, sub_labels=list(SUB_LABELS), progress=True)
    assert result["sub_labels"]["n"] == sum(1 for d, s in zip(departments, SUB_LABELS, strict=True) if d and s)
    assert f"evaluating {len(SUB_TEXTS) - 1} messages: scoring sub-labels (1/2 steps done" in capsys.readouterr().err


def test_evaluate_refuses_sub_labels_for_a_model_without_them(sub_model):
    from triage.evaluation import evaluate

    plain = triage.train(TEXTS, LABELS, calibration_folds=3, min_df=1)
    with pytest.raises(ValueError, match="no sub-category model"):
        evaluate(plain, list(TEXTS), list(LABELS), sub_labels=["x"] * len(TEXTS))
    with pytest.raises(ValueError, match="no row has a sub-label"):
        evaluate(sub_model, list(TEXTS), list(LABELS), sub_labels=[""] * len(TEXTS))

"""TriageModel behaviour that mutation testing found unchecked: input errors, candidates and
explanations, truncation of repeated texts, names, thresholds, saving and loading, sub-categories and
unit-level models. Through the public API only (triage.train / load, classify, predict, route)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import triage
from tests.conftest import LABELS, TEXTS
from triage.departments import default_directory
from triage.exceptions import ModelIntegrityError, ModelNotFoundError
from triage.model import TriageModel, default_model_path
from triage.results import ReviewReason
from triage.routing import example_config_path
from triage.text import MAX_TEXT_CHARS

PROPERTY = "小区物业乱收停车费，垃圾也没人清理"
POLICE = "派出所补办身份证要排好几天队"
SCHOOL = "学校食堂饭菜太差，孩子吃不饱"

# Units of a unit-level model: each invented department of the corpus split in two offices, one of
# them with no department known.
UNIT_OF_LABEL = {"property_management": "物业办", "public_security": "派出所", "education": "教育局"}
UNIT_DEPARTMENTS = {"物业办": "property_management", "派出所": "public_security", "教育局": None}


@pytest.fixture(scope="module")
def unit_model() -> TriageModel:
    return triage.train(
        TEXTS,
        [UNIT_OF_LABEL[label] for label in LABELS],
        unit_departments=UNIT_DEPARTMENTS,
        min_df=1,
        calibration_folds=3,
    )


# ---------------------------------------------------------------- input


def test_a_non_str_item_is_named_with_what_to_do(small_model):
    message = (
        "text at index 2 is NoneType, not str; "
        "convert missing values (None, NaN) to '' and decode bytes before classifying"
    )
    for call in (small_model.classify, small_model.predict, small_model.predict_proba):
        with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
            call([PROPERTY, POLICE, None])


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (None, "got NoneType; a missing message is ''"),
        (float("nan"), "got float; a missing message is ''"),
        (pd.NA, "got NAType; a missing message is ''"),  # a missing cell of a pandas string column
        (PROPERTY.encode(), "got bytes; decode bytes first"),  # iterated as numbers: 'text at index 0 is int'
        ({"text": PROPERTY}, "got dict; pass the message"),  # iterated as its keys: the word 'text' classified
        (5, "got int$"),
    ],
    ids=["None", "NaN", "NA", "bytes", "mapping", "int"],
)
def test_what_is_no_message_nor_messages_is_named_with_what_to_do(small_model, given, said):
    """None, NaN and a number ended in Python's bare "'NoneType' object is not iterable"."""
    for call in (small_model.classify, small_model.route, small_model.predict, small_model.predict_proba):
        with pytest.raises(TypeError, match=rf"^expected a message \(str\) or an iterable of messages, {said}"):
            call(given)


def test_predict_proba_refuses_a_bare_string_and_takes_an_empty_list(small_model):
    with pytest.raises(ValueError, match=r"^predict_proba\(\) takes an iterable of texts$"):
        small_model.predict_proba(PROPERTY)
    empty = small_model.predict_proba([])
    assert empty.shape == (0, len(small_model.classes_))


def test_predict_proba_rows_are_probabilities_in_class_order(small_model):
    proba = small_model.predict_proba([PROPERTY, POLICE, SCHOOL])
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert [small_model.classes_[i] for i in proba.argmax(axis=1)] == [
        "property_management",
        "public_security",
        "education",
    ]


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_top_k_candidates_most_probable_first(small_model, top_k):
    result = small_model.classify(POLICE, top_k=top_k)
    assert len(result.candidates) == top_k
    assert result.candidates[0] == (result.department, result.confidence)
    probabilities = [p for _, p in result.candidates]
    assert probabilities == sorted(probabilities, reverse=True)


def test_top_k_below_one_names_the_value(small_model):
    with pytest.raises(ValueError, match=r"^top_k must be at least 1, got -2$"):
        small_model.classify([PROPERTY], top_k=-2)


# ---------------------------------------------------------------- explanations


@pytest.mark.parametrize("explain", [1, 2, 4])
def test_explain_gives_that_many_strongest_terms_first(small_model, explain):
    terms = small_model.classify(PROPERTY, explain=explain).explanation
    assert len(terms) == explain
    weights = [weight for _, weight in terms]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
    assert all(weight == round(weight, 4) for weight in weights)


def test_character_ngrams_explain_only_what_no_chosen_word_shows(small_model):
    terms = [term for term, _ in small_model.classify("物业把垃圾堆在单元门口", explain=30).explanation]
    assert "垃圾堆" in terms and "把垃圾" in terms  # a word, and characters across words
    assert "垃圾" not in terms  # characters inside a chosen word add nothing


# ---------------------------------------------------------------- unclassified and truncated texts


def test_an_unclassified_long_text_keeps_its_truncation_flag(small_model):
    result = small_model.classify("!" * (MAX_TEXT_CHARS + 10))
    assert result.reason is ReviewReason.EMPTY_TEXT and result.truncated


def test_repeated_text_is_flagged_truncated_only_where_it_was_cut(small_model):
    long, short = PROPERTY * (MAX_TEXT_CHARS // len(PROPERTY) + 1), PROPERTY * (MAX_TEXT_CHARS // len(PROPERTY))
    cut = long[:MAX_TEXT_CHARS]
    results = small_model.classify([long, cut, short])
    assert [r.truncated for r in results] == [True, False, False]
    assert results[0].department == results[1].department == "property_management"


# ---------------------------------------------------------------- names, thresholds, representation


def test_department_names_come_from_the_manifest_then_the_directory(small_model):
    assert small_model.department_name("public_security") == "公安"
    assert small_model.department_name("water_affairs") == "水务"  # not a class of this model: the directory
    assert small_model.classify(POLICE).department_name == "公安"


def test_review_threshold_is_the_manifests(small_model):
    threshold = small_model.manifest["review_threshold"]
    assert small_model.review_threshold == threshold
    without = TriageModel(
        small_model.scorer, {k: v for k, v in small_model.manifest.items() if k != "review_threshold"}
    )
    assert without.review_threshold == 0.0
    assert without.classify("今天天气不错").reason is not ReviewReason.LOW_CONFIDENCE  # nothing is below 0


def test_repr_names_the_number_of_departments_and_the_directory(small_model):
    assert repr(small_model) == "<TriageModel 3 departments from None>"


def test_a_fitted_estimator_is_not_a_scorer(small_model):
    with pytest.raises(
        TypeError, match=r"^TriageModel\(\) takes a LinearScorer; wrap a fitted estimator: TriageModel\.from_estimator$"
    ):
        TriageModel(small_model.estimator, small_model.manifest)


# ---------------------------------------------------------------- saving and loading


def test_a_saved_model_answers_the_same_after_loading(small_model, tmp_path):
    directory = small_model.save(tmp_path / "m")
    loaded = triage.load(directory)
    assert loaded.path == directory and repr(loaded) == f"<TriageModel 3 departments from {directory}>"
    texts = [PROPERTY, POLICE, SCHOOL, ""]
    assert loaded.classify(texts) == small_model.classify(texts)
    assert list(loaded.predict(texts)) == list(small_model.predict(texts))
    with pytest.raises(ModelNotFoundError):
        loaded.estimator  # noqa: B018 - saved without it


def test_the_estimator_of_a_model_saved_with_it_is_loaded_on_first_use(saved_model_dir):
    loaded = triage.load(saved_model_dir)
    assert loaded.estimator is loaded.estimator  # loaded once
    assert list(loaded.estimator.predict([POLICE])) == ["public_security"]
    assert loaded.sub_estimator is None


def test_a_model_without_estimator_or_directory_says_so(small_model):
    bare = TriageModel(small_model.scorer, small_model.manifest)
    with pytest.raises(ModelNotFoundError, match=r"^this model has no estimator and no directory to load one from$"):
        bare.estimator  # noqa: B018


def test_route_takes_a_config_path_and_metadata_for_one_text(small_model):
    config = example_config_path()
    one = small_model.route(PROPERTY, config=config, metadata={"place": "金桂小区"})
    many = small_model.route([PROPERTY], config=str(config), metadata=[{"place": "金桂小区"}])
    assert [one] == many and "金桂小区" in one.places


# ---------------------------------------------------------------- sub-categories


def test_sub_categories_are_named_per_department(sub_model):
    assert set(sub_model.sub_categories("education")) == {"enrolment", "fees"}
    assert set(sub_model.sub_categories("public_security")) == {"documents", "其他"}
    assert sub_model.sub_categories("water_affairs") == ()
    result = sub_model.classify("小升初摇号结果不公开，孩子不能就近入学")
    assert result.department == "education" and result.sub_category == "enrolment"
    assert 0.5 < result.sub_confidence <= 1.0
    assert sub_model.classify(["", POLICE])[0].sub_category is None


def test_a_model_without_sub_labels_names_no_sub_category(small_model):
    result = small_model.classify(SCHOOL)
    assert (result.sub_category, result.sub_confidence) == (None, 0.0)
    assert small_model.sub_categories("education") == ()


# ---------------------------------------------------------------- unit-level models


def test_a_unit_level_model_answers_with_the_unit_and_its_department(unit_model):
    assert unit_model.unit_departments == UNIT_DEPARTMENTS
    result = unit_model.classify(POLICE)
    assert (result.unit, result.department) == ("派出所", "public_security")
    assert result.department_name == "公安"
    assert list(unit_model.predict([POLICE, ""])) == ["派出所", "unclassified"]


def test_a_unit_without_a_department_borrows_its_siblings_most_probable(unit_model):
    result = unit_model.classify(SCHOOL)
    assert result.unit == "教育局"
    proba = unit_model.predict_proba([SCHOOL])[0]
    others = {
        unit_model.unit_departments[u]: p for u, p in zip(unit_model.classes_, proba, strict=True) if u != "教育局"
    }
    assert result.department == max(others, key=others.__getitem__)


def test_department_proba_sums_units_per_department(unit_model, small_model):
    proba = unit_model.predict_proba([PROPERTY, POLICE])
    departments, summed = unit_model.department_proba(proba)
    assert departments == ["property_management", "public_security"]
    column = {u: i for i, u in enumerate(unit_model.classes_)}
    assert np.allclose(summed[:, 0], proba[:, column["物业办"]])
    assert np.allclose(summed[:, 1], proba[:, column["派出所"]])
    with pytest.raises(ValueError, match="this model is not unit-level"):
        small_model.department_proba(proba)
    assert small_model.unit_departments == {}


def test_a_unit_map_must_list_exactly_the_models_classes(unit_model):
    with pytest.raises(ValueError, match=r"^the unit → department map must list exactly the model's classes$"):
        TriageModel(unit_model.scorer, unit_model.manifest, units={"物业办": ("property_management", "given")})


# ---------------------------------------------------------------- what saving keeps


def test_a_saved_sub_label_model_keeps_its_sub_categories(sub_model, saved_sub_model_dir):
    loaded = triage.load(saved_sub_model_dir)
    for department in ("education", "public_security", "property_management"):
        assert loaded.sub_categories(department) == sub_model.sub_categories(department)
    texts = ["小升初摇号结果不公开", "派出所补办身份证", "物业费涨价"]
    assert loaded.classify(texts) == sub_model.classify(texts)
    assert loaded.sub_estimator is not None and loaded.sub_label_pairs == sub_model.sub_label_pairs


def test_a_saved_unit_level_model_keeps_its_units(unit_model, tmp_path):
    loaded = triage.load(unit_model.save(tmp_path / "units"))
    assert loaded.unit_departments == UNIT_DEPARTMENTS
    assert loaded.classify([POLICE, SCHOOL]) == unit_model.classify([POLICE, SCHOOL])


def test_saving_over_a_model_needs_overwrite_and_keeps_figures(small_model, tmp_path):
    model = TriageModel(small_model.scorer, small_model.manifest)
    model.figures = {"confusion.png": b"\x89PNG\r\n\x1a\n invented"}
    directory = model.save(tmp_path / "m")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        model.save(directory)
    assert model.save(directory, overwrite=True) == directory
    assert triage.load(directory).figures == model.figures


def test_the_estimator_is_saved_only_when_asked(small_model, tmp_path):
    with_it = triage.load(small_model.save(tmp_path / "with", include_estimator=True))
    assert list(with_it.estimator.predict([SCHOOL])) == ["education"]
    without = triage.load(small_model.save(tmp_path / "without"))
    with pytest.raises(ModelNotFoundError):
        without.estimator  # noqa: B018


def test_the_default_model_is_found_and_loaded():
    directory = default_model_path()
    assert (directory / "manifest.json").is_file()
    assert triage.load().path == directory


def test_sub_label_scorers_need_the_manifests_sub_labels(sub_model):
    manifest = {k: v for k, v in sub_model.manifest.items() if k != "sub_labels"}
    with pytest.raises(ModelIntegrityError, match=r"^the manifest's sub_labels are missing or malformed$"):
        TriageModel(sub_model.scorer, manifest, sub_scorer=sub_model.sub_scorer)
    fewer = {**sub_model.manifest, "sub_labels": sub_model.manifest["sub_labels"][1:]}
    with pytest.raises(ModelIntegrityError, match=r"^the sub-label scorer's classes do not match the manifest's"):
        TriageModel(sub_model.scorer, fewer, sub_scorer=sub_model.sub_scorer)


def test_messages_of_the_other_refusals(small_model):
    with pytest.raises(ValueError, match=r"^predict\(\) takes an iterable of texts; use classify\(\) for one message$"):
        small_model.predict(POLICE)
    with pytest.raises(ValueError, match=r"^this model is not unit-level; its classes are its departments$"):
        small_model.department_proba(small_model.predict_proba([POLICE]))


def test_an_unclassified_text_has_an_empty_explanation_and_routes_without_a_config(small_model):
    assert small_model.classify("").explanation == ()
    assert small_model.route(POLICE).department == "public_security"


# ---------------------------------------------------------------- adapted models


@pytest.fixture(scope="module")
def adapted_model(small_model) -> TriageModel:
    """Trained on the units of the invented corpus with the small model as its base."""
    return triage.train(
        TEXTS,
        [UNIT_OF_LABEL[label] for label in LABELS],
        base=small_model,
        unit_departments=UNIT_DEPARTMENTS,
        min_df=1,
        calibration_folds=3,
    )


def test_an_adapted_model_scores_with_its_base_in_chunks(adapted_model):
    assert adapted_model.base_scores is not None
    assert adapted_model.classify(POLICE).unit == "派出所"
    texts = [f"第{i}次反映：{TEXTS[i % len(TEXTS)]}" for i in range(300)]  # more than one scoring chunk
    together = adapted_model.predict_proba(texts)
    assert together.shape == (300, 3)
    for i in (0, 255, 256, 299):
        assert np.allclose(together[i], adapted_model.predict_proba([texts[i]])[0])
    assert [r.unit for r in adapted_model.classify(texts)] == [adapted_model.classify(t).unit for t in texts]


def test_a_confidence_equal_to_the_review_threshold_is_not_sent_to_review(small_model) -> None:
    """Review is for confidences below the threshold: at it exactly, the answer stands."""
    confidence = small_model.classify(PROPERTY).confidence

    def at(threshold: float) -> TriageModel:
        return TriageModel(small_model.scorer, {**small_model.manifest, "review_threshold": threshold})

    assert not at(confidence).classify(PROPERTY).needs_review
    assert at(np.nextafter(confidence, 1.0)).classify(PROPERTY).reason is ReviewReason.LOW_CONFIDENCE


def test_department_names_are_the_manifests_labels_else_the_code(small_model) -> None:
    """A label without a name is shown by its code; a manifest without labels names by the directory."""
    named, unnamed = small_model.classes_[:2]
    labels = [{"code": named, "name": "自拟的部门名"}, {"code": unnamed}]
    model = TriageModel(small_model.scorer, {**small_model.manifest, "labels": labels})
    assert (model.department_name(named), model.department_name(unnamed)) == ("自拟的部门名", unnamed)
    bare = TriageModel(small_model.scorer, {k: v for k, v in small_model.manifest.items() if k != "labels"})
    assert bare.department_name(named) == default_directory().display_name(named)
    assert bare.figures == {}


def test_route_explains_with_as_many_terms_as_asked(small_model) -> None:
    assert small_model.route(PROPERTY).terms and small_model.route([PROPERTY])[0].terms
    assert small_model.route(PROPERTY, explain=0).terms == ()
    assert small_model.route([PROPERTY], explain=0)[0].terms == ()

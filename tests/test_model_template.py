"""A model trained on a templated export (triage.boilerplate): it learns without the template, keeps it in its
manifest and card, cuts it from every message it classifies or routes, and lends it to a batch too small to
learn its own."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

import triage
from tests.test_boilerplate import CONCERNS, ENDING, OPENING, _departments, _orders
from triage.boilerplate import Boilerplate, compared_text
from triage.cli import cli
from triage.exceptions import ModelIntegrityError
from triage.labelled import LabelOptions

# The invented orders' concerns as departments; the single orders are all urban management's.
DEPARTMENTS = {"parking": "property_management", "tutoring": "education", "noise": "ecology_environment"}
TEMPLATE = {"openings": [compared_text(OPENING)], "endings": [compared_text(ENDING)]}
# Another centre's form, for a batch that brings its own template.
OTHER_OPENING, OTHER_ENDING = "来电人称：", "望尽快解决为盼，谢谢。"


def _labelled() -> tuple[list[str], list[str]]:
    orders, concerns, _ = _orders()
    return orders, [DEPARTMENTS.get(concern, "urban_management") for concern in concerns]


def _train(**options) -> triage.TriageModel:
    orders, labels = _labelled()
    return triage.train(orders, labels, min_df=1, calibration_folds=3, **options)


@pytest.fixture(scope="module")
def templated_dir(tmp_path_factory):
    return _train().save(tmp_path_factory.mktemp("models") / "templated", include_estimator=True)


@pytest.fixture(scope="module")
def templated(templated_dir):
    return triage.load(templated_dir)


def _write(path, texts, labels=None):
    with path.open("w", encoding="utf-8", newline="") as handle:
        rows = [("内容", "部门"), *zip(texts, labels, strict=True)] if labels else [("内容",), *((t,) for t in texts)]
        csv.writer(handle).writerows(rows)
    return path


def test_training_cuts_the_template_and_keeps_it_in_the_manifest_and_card(templated, templated_dir):
    assert templated.manifest["template"] == TEMPLATE
    assert templated.template == Boilerplate.from_record(TEMPLATE)
    card = (templated_dir / "README.md").read_text(encoding="utf-8")
    assert f"Template: 「{TEMPLATE['openings'][0]}」… …「{TEMPLATE['endings'][0]}」" in card
    # the template's words were cut before the vectoriser saw them; kept, they are features
    template_words = {"words__市民", "words__核实", "words__回复"}
    assert not template_words & set(templated.estimator.feature_names())
    kept = _train(cut_template=False)
    assert template_words <= set(kept.estimator.feature_names())


def test_a_model_classifies_and_routes_a_templated_order_as_the_order_without_it(templated):
    for cores in CONCERNS.values():
        for core in cores[:2]:
            assert templated.classify(OPENING + core + ENDING) == templated.classify(core)
            assert templated.route(OPENING + core + ENDING) == templated.route(core)
    orders, _, cores = _orders()
    assert (templated.predict_proba(orders) == templated.predict_proba(cores)).all()  # their notes end in 。
    assert templated.predict(orders).tolist() == [result.department for result in templated.classify(orders)]
    explained = templated.classify(OPENING + "实验二小老师有偿补课" + ENDING).explanation
    assert explained and not any("核实" in term or "市民" in term for term, _ in explained)


def test_a_model_trained_as_written_keeps_no_template(tmp_path, small_model):
    kept = _train(cut_template=False)
    assert "template" not in kept.manifest and not kept.template
    saved = triage.load(kept.save(tmp_path / "kept"))
    assert not saved.template and "No template was cut" in (tmp_path / "kept" / "README.md").read_text("utf-8")
    # untemplated training messages teach none, and such a model reads messages as written
    assert "template" not in small_model.manifest and not small_model.template
    order = OPENING + "阳光小区物业乱收停车费" + ENDING
    assert small_model.classify(order) == small_model._classify_many([order], 3, 5, Boilerplate())[0]


def test_a_manifest_without_a_template_loads_as_before(templated_dir, tmp_path):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(templated_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["template"]
    (copy / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    old = triage.load(copy)
    assert not old.template
    order = OPENING + "东风工地夜间施工噪音扰民" + ENDING
    assert old.classify(order) == old._classify_many([order], 3, 5, Boilerplate())[0]


def test_tag_cuts_the_model_template_from_a_batch_too_small_to_learn_one(templated, tmp_path):
    from triage.batch import tag_file

    orders, _, cores = _orders()
    source = _write(tmp_path / "few.csv", orders[:40])
    summary = tag_file(source, tmp_path / "cut.csv", model=templated, progress=False)
    assert summary.template == TEMPLATE
    assert _departments(tmp_path / "cut.csv") == [r.department for r in templated.classify(cores[:40])]
    kept = tag_file(source, tmp_path / "kept.csv", model=templated, cut_template=False, progress=False)
    assert kept.template == {}
    written = templated._classify_many(orders[:40], 3, 0, Boilerplate())
    assert _departments(tmp_path / "kept.csv") == [r.department for r in written]


def test_a_batch_that_teaches_its_own_template_has_it_cut_instead(templated, tmp_path):
    from triage.batch import tag_dataframe, tag_file

    _, _, cores = _orders()
    others = [OTHER_OPENING + core + OTHER_ENDING for core in cores]
    own = Boilerplate.from_texts(others)
    assert own and own != templated.template
    summary = tag_file(_write(tmp_path / "other.csv", others), tmp_path / "out.csv", model=templated, progress=False)
    assert summary.template == own.record()
    import pandas as pd

    frames = {"big": others, "small": [OPENING + core + ENDING for core in cores[:30]]}
    expected = {"big": own, "small": templated.template}
    for name, texts in frames.items():
        frame = pd.DataFrame({"内容": texts})
        tagged = tag_dataframe(frame, model=templated)
        assert tagged.equals(tag_dataframe(frame, model=templated, template=expected[name])), name
        assert not tagged.equals(tag_dataframe(frame, model=templated, template=Boilerplate())), name


def test_the_checkpoint_records_the_model_template_a_small_batch_was_cut_with(templated, tmp_path):
    from tests.test_batch_checkpoints import interrupt
    from triage.batch import tag_file
    from triage.io import DataError

    orders, _, _ = _orders()
    source, output = _write(tmp_path / "few.csv", orders[:20]), tmp_path / "out.csv"
    state = interrupt(source, output, templated, chunks=3)
    assert state["template"] == [TEMPLATE["openings"], TEMPLATE["endings"]]
    with pytest.raises(DataError, match="the template cut before classifying"):
        tag_file(source, output, model=templated, chunk_size=2, progress=False, resume=True, cut_template=False)


def test_evaluate_scores_a_small_set_without_the_model_template(templated):
    from triage.evaluation import evaluate

    orders, labels = _labelled()
    _, _, cores = _orders()
    cut = evaluate(templated, orders[:40], labels[:40])
    assert cut["template"] == TEMPLATE
    kept = evaluate(templated, orders[:40], labels[:40], cut_template=False)
    assert kept["template"] == {"openings": [], "endings": []}
    # scored as the orders without their template are (the template's words are no features of a model trained
    # without them, so kept they change no figure either: what cutting changes is what the rules and explanations read)
    written = evaluate(templated, cores[:40], labels[:40], cut_template=False)
    figures = ("accuracy", "macro_f1", "expected_calibration_error", "automatic_share")
    assert [cut[name] for name in figures] == [written[name] for name in figures]


@pytest.mark.parametrize(
    "template",
    [
        ["市民来电反映"],
        {"openings": ["市民来电反映"]},
        {"openings": "市民来电反映", "endings": []},
        {"openings": ["市民来电反映："], "endings": []},
        {"openings": ["市民"], "endings": []},
        {"openings": [7], "endings": []},
    ],
)
def test_a_damaged_template_is_refused_at_load(templated_dir, tmp_path, template):
    import shutil

    copy = tmp_path / "damaged"
    shutil.copytree(templated_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["template"] = template
    (copy / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"key 'template' is .*; expected an object with the lists openings"):
        triage.load(copy)


def test_the_cli_trains_with_the_template_cut_or_kept_and_info_names_it(tmp_path):
    data = _write(tmp_path / "labelled.csv", *_labelled())
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", str(data), "-o", str(tmp_path / "cut"), "--label-column", "部门"])
    assert trained.exit_code == 0, trained.output
    line = f"模板: 「{TEMPLATE['openings'][0]}」… …「{TEMPLATE['endings'][0]}」"
    assert f"template cut before training (--keep-template keeps it) {line}" in trained.output
    assert triage.load(tmp_path / "cut").manifest["template"] == TEMPLATE
    shown = runner.invoke(cli, ["info", str(tmp_path / "cut")])
    assert shown.exit_code == 0 and f"template:   「{TEMPLATE['openings'][0]}」…" in shown.output
    args = ["train", str(data), "-o", str(tmp_path / "kept"), "--label-column", "部门", "--keep-template"]
    kept = runner.invoke(cli, args)
    assert kept.exit_code == 0, kept.output
    assert "模板" not in kept.output and "template" not in triage.load(tmp_path / "kept").manifest
    assert "template:" not in runner.invoke(cli, ["info", str(tmp_path / "kept")]).output


def test_hot_topics_of_a_small_batch_are_described_without_the_model_template(templated):
    from tests.test_boilerplate import TEMPLATE_WORDS
    from triage.hot import hot_topics

    orders, _, _ = _orders()
    topics = hot_topics(orders[:40], model=templated, top=40, min_size=1)
    assert topics and not any(TEMPLATE_WORDS & set(topic.key_terms) for topic in topics)


def test_dask_cuts_the_model_template_from_a_small_batch(dask_client, templated, templated_dir):
    import dask.dataframe as dd
    import pandas as pd

    import triage.dask
    from triage.batch import tag_dataframe

    _, _, cores = _orders()
    frame = pd.DataFrame({"内容": [OPENING + core + ENDING for core in cores[:30]]})
    tagged = triage.dask.tag(dd.from_pandas(frame, npartitions=2), model_path=templated_dir).compute()
    expected = tag_dataframe(frame, model=templated)
    for column in ("department", "candidates", "review_reason"):  # confidences round to 1.0 either way
        assert tagged[column].tolist() == expected[column].tolist(), column


@pytest.mark.parametrize("cut", [True, False])
def test_held_out_rows_are_scored_as_the_model_was_trained(tmp_path, cut):
    """128 held-out rows teach their template: scored without it only when training cut it too."""
    from triage.labelled import LabelOptions
    from triage.training import train_from_file

    orders, labels = _labelled()
    data = _write(tmp_path / "labelled.csv", orders * 3, labels * 3)
    options = {"held_out": 0.4, "min_df": 1, "calibration_folds": 3, "progress": False, "cut_template": cut}
    model = train_from_file(data, tmp_path / "model", LabelOptions("部门"), **options)
    assert model.manifest["metrics"]["held_out"]["n"] == 128
    assert model.manifest["metrics"]["held_out"]["template"] == (TEMPLATE if cut else {"openings": [], "endings": []})


def test_labels_are_audited_on_the_messages_without_their_template_as_train_learns(tmp_path, monkeypatch):
    """audit-labels cross-validates a classifier as ``train`` fits one: on the orders with the template cut (and
    says so), or as written with ``--keep-template``."""
    import triage.audit

    fitted: list[list[str]] = []

    class Recording(triage.audit.TriageClassifier):
        def fit(self, X, y, **options):
            fitted.append(list(X))
            return super().fit(X, y, **options)

    monkeypatch.setattr(triage.audit, "TriageClassifier", Recording)
    orders, labels = _labelled()
    path = _write(tmp_path / "labelled.csv", orders, labels)
    arguments = ["audit-labels", str(path), "--label-column", "部门", "--silent", "--jobs", "1"]
    cut = CliRunner().invoke(cli, arguments)
    assert cut.exit_code == 0, cut.output
    assert f"template cut before auditing (--keep-template keeps it) 模板: 「{TEMPLATE['openings'][0]}」" in cut.stderr
    assert not any("市民来电" in text or "核实处理" in text for text in fitted[-1])
    kept = CliRunner().invoke(cli, [*arguments, "--keep-template"])
    assert kept.exit_code == 0 and "template cut" not in kept.stderr
    assert all(text.startswith("市民来电反映") for text in fitted[-1])
    options = LabelOptions(label_column="部门")
    assert triage.audit.audit_file(path, options, progress=False).template == Boilerplate.from_record(TEMPLATE)
    assert not triage.audit.audit_file(path, options, progress=False, cut_template=False).template

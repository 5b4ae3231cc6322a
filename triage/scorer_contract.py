"""What :class:`~triage.scoring.LinearScorer` implements of a fitted
:class:`~triage.estimator.TriageClassifier`, checked twice.

Features are computed three ways (scikit-learn for fitting, numpy and C for serving), so the
serving pair must never be handed a model it does not reproduce:

- on conversion (:func:`check_servable`), every vectorizer, ``FeatureUnion`` and SVM setting
  that changes what ``transform`` or ``decision_function`` returns must be the one value the
  scorer implements; anything else is refused, naming the setting and the value served;
- before saving (:func:`check_agreement`), the scorer must answer a probe set as the estimator
  does: invented messages plus vocabulary terms taken from the estimator (the one pushing each
  class hardest and a spread over all columns), each as a message of its own. A compact scorer
  is compared with the estimator's features times the estimator's weights quantised as
  :meth:`~triage.scoring.LinearScorer.compacted` does (features whose weights quantise to zero
  left out, norms taken again), so the tolerance covers float rounding, not quantisation (which
  moved the float estimator's probabilities by up to 0.6 on tiny test models, 0.05 on the default
  model). On the default model (19 classes, 382,818 features) it took 0.1-0.3 s on a loaded 2-core
  machine, mostly passes over the weights and the vocabularies; converting and writing took 3-4 s.

Settings that only shape fitting are not checked, because the scorer copies what fitting
produced (``vocabulary_``, ``idf_``, the SVM's weights): ``min_df``, ``max_df``,
``max_features``, ``vocabulary``, ``smooth_idf``, and every ``LinearSVC`` parameter. Nor are
``encoding`` and ``decode_error`` (they apply to bytes, which triage refuses), nor a
vectorizer's ``token_pattern`` beside a tokenizer, or the character vectorizer's tokenizer and
stop words (scikit-learn does not use them there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from triage.exceptions import ScorerMismatchError, UnservableEstimatorError
from triage.segmentation import segment

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from triage.estimator import TriageClassifier
    from triage.scoring import LinearScorer

__all__ = ["AGREEMENT_TOLERANCE", "PROBE_TEXTS", "ServedParts", "check_agreement", "check_servable", "probe_texts"]

# Setting -> the one value LinearScorer implements, for both vectorizers.
_SERVED_BY_BOTH: dict[str, Any] = {
    "input": "content",
    "preprocessor": None,
    "strip_accents": None,
    "lowercase": False,
    "binary": False,
    "norm": "l2",
    "use_idf": True,
    "dtype": np.float32,
}
# ... and per vectorizer, in the FeatureUnion's order (the scorer's columns: words, then characters).
_SERVED_BY_NAME: dict[str, dict[str, Any]] = {
    "words": {"analyzer": "word", "tokenizer": segment, "stop_words": None},
    "chars": {"analyzer": "char"},
}

#: Invented messages every scorer must answer as its estimator does before it is saved: everyday
#: complaints, personal data to mask, full-width and traditional forms, and texts with no words.
PROBE_TEXTS = (
    "楼道里的灯坏了两个星期，物业一直不来修",
    "孩子上小学报名要交一堆证明，学校说学位不够",
    "路口红绿灯时间太短，老人过马路来不及",
    "工地晚上十一点还在打桩，吵得睡不着，电话13912345678",
    "单位拖欠工资三个月，我叫李明，身份证号110101199003071234",
    "自来水发黄有怪味，烧开了也有沉淀",
    "餐馆油烟直接排进居民楼，窗户都不敢开",
    "医院挂号排队一上午，看病只有五分钟",
    "冬天暖气不热，屋里只有十四度",
    "公交车老是不按时到站，司机态度也差",
    "小區停車費漲價沒有公示",
    "ＡＢＣ　１２３！物业费涨了２０％",
    "   ",
    "!!!",
    "ok 123",
)
_SPREAD_TERMS = 128  # terms at evenly spaced columns of the vocabulary
#: Largest probability gap allowed on any probe. The expected answers already hold the int8
#: quantisation, so what is left is float32 rounding: measured below 2e-7 on the test models
#: (2,000 random texts each) and 3e-8 on the default model's probes.
AGREEMENT_TOLERANCE = 1e-3


class ServedParts(NamedTuple):
    """What :class:`~triage.scoring.LinearScorer` takes of an estimator: the two vectorizers, and the
    SVM's float32 weights (classes by features) and intercepts, one row per class even for two."""

    words: TfidfVectorizer
    chars: TfidfVectorizer
    weights: np.ndarray
    intercept: np.ndarray


def _refuse(where: str, setting: str, value: Any, served: Any) -> UnservableEstimatorError:
    def shown(v: Any) -> str:
        return getattr(v, "__qualname__", None) or repr(v)

    return UnservableEstimatorError(
        f"LinearScorer cannot serve this estimator: {where} has {setting}={shown(value)}, "
        f"but the scorer implements only {setting}={shown(served)}; refit with triage's settings"
    )


def _same(value: Any, served: Any) -> bool:
    if isinstance(served, type):  # a dtype
        return isinstance(value, type | np.dtype) and np.dtype(value) == np.dtype(served)
    if served is None or callable(served):  # the segmenter: that very function
        return value is served
    return type(value) is type(served) and value == served


def check_servable(estimator: TriageClassifier) -> ServedParts:
    """What :class:`~triage.scoring.LinearScorer` takes of ``estimator``, after checking that it
    implements every setting that shapes the vectorizers' and the SVM's output."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion
    from sklearn.svm import LinearSVC

    from triage.estimator import TriageClassifier, _as_columns
    from triage.scoring import MAX_NGRAM

    if not isinstance(estimator, TriageClassifier):
        raise UnservableEstimatorError(f"LinearScorer converts a TriageClassifier, not {type(estimator).__name__}")
    missing = [name for name in ("vectorizer_", "svm_", "classes_", "temperature_") if not hasattr(estimator, name)]
    if missing:
        raise UnservableEstimatorError(f"the estimator is not fitted (no {', '.join(missing)}); call fit first")
    union = estimator.vectorizer_
    if type(union) is not FeatureUnion:
        raise _refuse("the estimator", "vectorizer_", type(union), FeatureUnion)
    if union.transformer_weights is not None:
        raise _refuse("the FeatureUnion", "transformer_weights", union.transformer_weights, None)
    names = [name for name, _ in union.transformer_list]
    if names != list(_SERVED_BY_NAME):
        raise _refuse("the FeatureUnion", "transformer names", names, list(_SERVED_BY_NAME))
    vectorizers = dict(union.transformer_list)
    for name, own in _SERVED_BY_NAME.items():
        vectorizer = vectorizers[name]
        if type(vectorizer) is not TfidfVectorizer:
            raise _refuse(f"the FeatureUnion's {name!r}", "type", type(vectorizer), TfidfVectorizer)
        for setting, served in {**_SERVED_BY_BOTH, **own}.items():
            value = getattr(vectorizer, setting)
            if not _same(value, served):
                raise _refuse(f"vectorizer {name!r}", setting, value, served)
        low, high = vectorizer.ngram_range
        if not 1 <= low <= high <= MAX_NGRAM:
            raise UnservableEstimatorError(
                f"LinearScorer cannot serve this estimator: vectorizer {name!r} has ngram_range=({low}, {high}), "
                f"but the scorer implements n-grams of 1 to {MAX_NGRAM} units"
            )
        if len(vectorizer.idf_) != len(vectorizer.vocabulary_):
            raise UnservableEstimatorError(
                f"vectorizer {name!r} has {len(vectorizer.idf_)} IDF weights for {len(vectorizer.vocabulary_)} terms"
            )
    words, chars = vectorizers["words"], vectorizers["chars"]
    if words.sublinear_tf != chars.sublinear_tf:
        raise UnservableEstimatorError(
            f"LinearScorer cannot serve this estimator: its vectorizers have sublinear_tf={words.sublinear_tf} "
            f"(words) and {chars.sublinear_tf} (chars), but the scorer implements one setting for both"
        )
    svm = estimator.svm_
    if type(svm) is not LinearSVC:
        raise _refuse("the estimator", "svm_", type(svm), LinearSVC)
    n_rows = 1 if len(estimator.classes_) == 2 else len(estimator.classes_)
    n_features = len(words.vocabulary_) + len(chars.vocabulary_)
    if svm.coef_.shape != (n_rows, n_features) or np.shape(svm.intercept_) != (n_rows,):
        raise UnservableEstimatorError(
            f"the SVM's weights have shape {svm.coef_.shape} and intercept {np.shape(svm.intercept_)}, "
            f"expected ({n_rows}, {n_features}) and ({n_rows},) for {len(estimator.classes_)} classes"
        )
    weights = np.asarray(svm.coef_, dtype=np.float32)
    intercept = np.asarray(svm.intercept_, dtype=np.float32)
    if n_rows == 1:  # a binary SVM's one signed score, split as the estimator splits it
        weights, intercept = _as_columns(weights[0]).T, _as_columns(intercept)[0]
    return ServedParts(words, chars, weights, intercept)


def probe_texts(estimator: TriageClassifier) -> list[str]:
    """:data:`PROBE_TEXTS` and vocabulary terms of ``estimator``, each term as a message of its own:
    the term pushing each class hardest (a changed weight there changes that class's answer) and
    terms at evenly spaced columns."""
    return _probe_texts(check_servable(estimator))


def _probe_texts(parts: ServedParts) -> list[str]:
    n_columns = parts.weights.shape[1]
    spread = np.linspace(0, n_columns - 1, min(_SPREAD_TERMS, n_columns)).astype(np.intp)
    wanted = set(np.concatenate([parts.weights.argmax(axis=1), spread]).tolist())
    n_words = len(parts.words.vocabulary_)
    terms = {column: term for term, column in parts.words.vocabulary_.items() if column in wanted}
    terms |= {n_words + c: term for term, c in parts.chars.vocabulary_.items() if n_words + c in wanted}
    return [*PROBE_TEXTS, *(terms[column] for column in sorted(terms))]


def _expected_proba(estimator: TriageClassifier, parts: ServedParts, texts: list[str], *, compact: bool) -> np.ndarray:
    """The estimator's probabilities of ``texts``; with ``compact``, those of its weights quantised
    as :meth:`~triage.scoring.LinearScorer.compacted` quantises them, features whose weights all
    quantise to zero left out and each block's L2 norm taken again without them."""
    from triage.scoring import int8_levels, int8_scales, softmax

    features = estimator.transform(texts).tocsc()
    columns = np.flatnonzero(np.diff(features.indptr))  # the features the texts hold
    values = features[:, columns].toarray().astype(np.float64)
    weights = parts.weights[:, columns]
    if compact:
        scales = int8_scales(parts.weights)
        levels = int8_levels(weights, scales)
        values[:, ~levels.any(axis=0)] = 0.0
        weights = levels * scales[:, None]
        for block in (columns < len(parts.words.vocabulary_), columns >= len(parts.words.vocabulary_)):
            norms = np.sqrt((values[:, block] ** 2).sum(axis=1, keepdims=True))
            values[:, block] /= np.where(norms > 0, norms, 1.0)
    logits = values @ weights.T.astype(np.float64) + parts.intercept
    return softmax(logits / estimator.temperature_)


def check_agreement(scorer: LinearScorer, estimator: TriageClassifier) -> None:
    """Raise :class:`~triage.exceptions.ScorerMismatchError` unless ``scorer`` gives every text of
    :func:`probe_texts` the estimator's probabilities within :data:`AGREEMENT_TOLERANCE` and a top
    class whose expected probability is within it of the expected top (the estimator's weights
    quantised as the scorer's are, for a compact scorer)."""
    expected_classes = [str(c) for c in estimator.classes_]
    if [str(c) for c in scorer.classes] != expected_classes:
        raise ScorerMismatchError(
            f"the scorer's classes {[str(c) for c in scorer.classes]} are not the estimator's {expected_classes}"
        )
    parts = check_servable(estimator)
    probes = _probe_texts(parts)
    expected = _expected_proba(estimator, parts, probes, compact=scorer.weight_scales is not None)
    got = scorer.predict_proba(probes)
    rows = np.arange(len(probes))
    top = got.argmax(axis=1)
    gap = np.maximum(np.abs(got - expected).max(axis=1), expected.max(axis=1) - expected[rows, top])
    wrong = np.flatnonzero(gap > AGREEMENT_TOLERANCE)
    if wrong.size:
        worst = int(wrong[np.argmax(gap[wrong])])
        best = int(expected[worst].argmax())
        raise ScorerMismatchError(
            f"the scorer disagrees with its estimator on {wrong.size} of {len(probes)} probe texts, most on "
            f"{probes[worst]!r}: the estimator gives {expected_classes[best]} {expected[worst, best]:.3f}, the "
            f"scorer {expected_classes[top[worst]]} {got[worst, top[worst]]:.3f} (probabilities apart by up to "
            f"{gap[worst]:.3f}, tolerance {AGREEMENT_TOLERANCE}); it was changed after conversion or the "
            "featurisers differ: convert it again with LinearScorer.from_estimator"
        )

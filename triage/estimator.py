"""The scikit-learn estimator at the core of triage.

:class:`TriageClassifier` is a plain scikit-learn classifier, so ``Pipeline``, ``clone``,
``GridSearchCV`` and ``cross_val_score`` work as with any other. It

1. prepares each message with :func:`triage.text.prepare` (normalise, mask personal data, cut);
2. joins word TF-IDF over :func:`triage.segmentation.segment` with character n-gram TF-IDF
   (character n-grams catch words the dictionary splits, typos and traditional forms);
3. fits a linear SVM and calibrates its scores by temperature scaling on cross-validated
   scores, so ``predict_proba`` is a calibrated probability and the ranking is the SVM's own.

Calibration is done here rather than with ``CalibratedClassifierCV`` so that a saved model
holds only public scikit-learn types, which skops trusts, plus triage's own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from triage.exceptions import TrainingDataError
from triage.segmentation import segment
from triage.text import prepared_texts
from triage.tfidf import fit_union

__all__ = ["TriageClassifier"]


def _pack_terms(vocabulary: Mapping[str, int]) -> np.ndarray:
    """A vocabulary as UTF-8 bytes of its terms in index order, newline-separated.

    skops writes a dict entry by entry into its JSON schema (about 700 bytes and a Python
    object per term), so a 60,000-term vocabulary took a minute to save and seconds to load;
    one byte array is written and read as a single ``.npy`` member. Prepared text never
    holds a newline (whitespace runs become one space), so no term does.
    """
    ordered = sorted(vocabulary, key=vocabulary.__getitem__)
    if any("\n" in term for term in ordered):
        raise ValueError("a vocabulary term contains a newline; texts must go through triage.text.prepare")
    return np.frombuffer("\n".join(ordered).encode("utf-8"), dtype=np.uint8).copy()


def _unpack_terms(packed: np.ndarray) -> dict[str, int]:
    return {term: index for index, term in enumerate(packed.tobytes().decode("utf-8").split("\n"))}


#: Tolerance of the SVMs fitted on the calibration folds (scikit-learn's default, kept by the SVM
#: that serves, is 1e-4). Their scores only fit the temperature and the out-of-fold metrics; on the
#: teddy2020c bodies 1e-2 made those fits 40% cheaper and moved no out-of-fold probability by more
#: than 0.0012 (the temperature and the review threshold the same to 4 decimals).
CALIBRATION_TOL = 1e-2


def fit_with_out_of_fold_scores(
    svm: Any,
    features: sparse.csr_matrix,
    labels: np.ndarray,
    n_folds: int,
    *,
    n_jobs: int | None,
    sample_weight: np.ndarray | None = None,
) -> tuple[Any, np.ndarray]:
    """``svm`` fitted on every row, and the decision scores of every row from a copy fitted on the
    other folds (stratified, fixed seed; one column per class): what the temperature is fitted on.

    The full fit and the fold fits share one pool of ``n_jobs`` processes, the full fit (the
    longest) first, so no process waits for the others to finish the folds. The fold fits see the
    labels' codes, as they did under ``cross_val_predict``, so a prior keyed by label
    (``_NaiveBayesScaledSVC.prior_columns``) reaches only the full fit, as before.
    """
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0).split(np.zeros(len(labels)), labels)
    codes = np.unique(labels, return_inverse=True)[1]
    fold_svm = clone(svm).set_params(tol=CALIBRATION_TOL)
    parts = [(svm, labels, None, None), *((clone(fold_svm), codes, train, test) for train, test in folds)]
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_part)(part_svm, features, part_labels, train, test, sample_weight)
        for part_svm, part_labels, train, test in parts
    )
    out_of_fold = np.empty((len(labels), fitted[1].shape[1]))
    for (_, _, _, test), scores in zip(parts[1:], fitted[1:], strict=True):
        out_of_fold[test] = scores
    return fitted[0], out_of_fold


def _fit_part(
    svm: Any,
    features: sparse.csr_matrix,
    labels: np.ndarray,
    train: np.ndarray | None,
    test: np.ndarray | None,
    sample_weight: np.ndarray | None,
) -> Any:
    """``svm`` fitted on the ``train`` rows (None: all), or, given ``test`` rows, its scores of them."""
    if train is None:
        return svm.fit(features, labels, sample_weight=sample_weight)
    weights = sample_weight[train] if sample_weight is not None else None
    svm.fit(features[train], labels[train], sample_weight=weights)
    return _as_columns(svm.decision_function(features[test]))


def _as_columns(scores: np.ndarray) -> np.ndarray:
    """SVM scores as one column per class (a binary SVM gives one signed column)."""
    return np.column_stack([-scores / 2, scores / 2]) if scores.ndim == 1 else scores


def _fit_temperature(scores: np.ndarray, codes: np.ndarray) -> float:
    """The temperature minimising the log-loss of ``softmax(scores / T)`` on out-of-fold scores."""

    def log_loss(log_t: float) -> float:
        return -log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(codes)), codes].mean()

    return float(np.exp(minimize_scalar(log_loss, bounds=(-5.0, 5.0), method="bounded").x))


def _log_count_ratios(features: sparse.csr_matrix, codes: np.ndarray, n_classes: int, alpha: float) -> np.ndarray:
    """Per class, the log-ratio of each term's (smoothed) document frequency inside and outside
    the class (Wang & Manning, 2012): shape ``(n_classes, n_features)``."""
    present = features.copy()
    present.data[:] = 1
    members = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_classes, len(codes)))
    inside = np.asarray((members @ present).todense())
    outside = inside.sum(axis=0) - inside
    p, q = alpha + inside, alpha + outside
    return (np.log(p / p.sum(axis=1, keepdims=True)) - np.log(q / q.sum(axis=1, keepdims=True))).astype(np.float32)


class _NaiveBayesScaledSVC(ClassifierMixin, BaseEstimator):
    """NB-SVM: one binary LinearSVC per class on features scaled by that class's log-count ratios.

    The ratios are folded into the weights afterwards (``w * r``), so the fitted model is an
    ordinary linear model over the unscaled features. Internal to :class:`TriageClassifier` and
    :mod:`triage.adaptation`, whose last ``dense_columns`` columns (a base model's scores, not term
    counts) are left unscaled, except that a class's column in ``prior_columns`` (class → index
    among the dense columns: the department a unit belongs to) is scaled by ``prior_boost``, so its
    SVM pays less regularisation for using it: a prior it can still overrule.
    """

    def __init__(
        self,
        C: float = 0.5,
        class_weight: str | None = "balanced",
        alpha: float = 1.0,
        dense_columns: int = 0,
        prior_columns: Mapping[Any, int] | None = None,
        prior_boost: float = 1.0,
        tol: float = 1e-4,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.alpha = alpha
        self.dense_columns = dense_columns
        self.prior_columns = prior_columns
        self.prior_boost = prior_boost
        self.tol = tol

    def fit(self, X: sparse.csr_matrix, y: np.ndarray, sample_weight: np.ndarray | None = None) -> _NaiveBayesScaledSVC:
        self.classes_, codes = np.unique(y, return_inverse=True)
        ratios = _log_count_ratios(X, codes, len(self.classes_), self.alpha)
        if self.dense_columns:
            ratios[:, -self.dense_columns :] = 1.0
            first = ratios.shape[1] - self.dense_columns
            prior = self.prior_columns or {}
            for code, label in enumerate(self.classes_):
                if label in prior:
                    ratios[code, first + prior[label]] = self.prior_boost
        # two classes: one signed score towards classes_[1], as every scikit-learn linear model gives
        targets = [1] if len(self.classes_) == 2 else range(len(self.classes_))
        coef, intercept = [], []
        for code in targets:
            scaled = X.copy()  # each stored value times its column's ratio: X @ diag(ratios), 20x cheaper
            scaled.data *= ratios[code].astype(X.dtype)[X.indices]
            svm = LinearSVC(C=self.C, class_weight=self.class_weight, tol=self.tol, random_state=0)
            svm.fit(scaled, codes == code, sample_weight=sample_weight)
            coef.append(svm.coef_[0] * ratios[code])
            intercept.append(svm.intercept_[0])
        self.coef_ = np.vstack(coef).astype(np.float32)
        self.intercept_ = np.asarray(intercept)
        return self

    def decision_function(self, X: sparse.csr_matrix) -> np.ndarray:
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: sparse.csr_matrix) -> np.ndarray:
        return self.classes_[np.argmax(_as_columns(self.decision_function(X)), axis=1)]

    def as_linear_svc(self) -> LinearSVC:
        """The same linear model as a fitted LinearSVC: a public type skops trusts."""
        svm = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=0)
        svm.coef_, svm.intercept_, svm.classes_ = self.coef_, self.intercept_, self.classes_
        svm.n_features_in_ = self.coef_.shape[1]
        svm.n_iter_ = 0
        return svm


class TriageClassifier(ClassifierMixin, BaseEstimator):
    """Word + character TF-IDF and a calibrated linear SVM, on raw Chinese petition text.

    Parameters
    ----------
    word_ngram_range : tuple of int, default=(1, 2)
        Range of word n-grams over jieba segments.
    char_ngram_range : tuple of int, default=(1, 3)
        Range of character n-grams.
    min_df : int, default=2
        Ignore terms seen in fewer documents (both vectorizers).
    max_features : int or None, default=200_000
        Keep at most this many terms per vectorizer (by corpus frequency); bounds model size.
    sublinear_tf : bool, default=True
        Use ``1 + log(tf)``: long messages that repeat a word do not drown the rest.
    C : float, default=0.5
        Inverse regularisation strength of the linear SVM.
    class_weight : "balanced" or None, default="balanced"
        Re-weight classes inversely to their frequency (imbalanced petition streams).
    nb_scaling : bool, default=True
        Fit one binary SVM per class on features scaled by that class's naive-Bayes log-count
        ratios (NB-SVM, Wang & Manning 2012); False fits one multi-class LinearSVC. On the
        teddy2020c bodies (5-fold CV by the fixed folds) it raises macro-F1 from 0.908 to 0.918,
        better on every fold, for about 40% more training time.
    calibration_folds : int, default=5
        Cross-validation folds whose out-of-fold scores fit the temperature; lowered to the
        smallest class size when needed. Their SVMs stop at :data:`CALIBRATION_TOL`.
    n_jobs : int or None, default=None
        Processes for the two vectorizers and the SVM fits, the one on all data beside those of
        the folds (None: one).

    Attributes
    ----------
    classes_ : ndarray
        Labels seen in ``fit`` (str labels as Python str objects, integer labels as integers).
    vectorizer_ : FeatureUnion
        The fitted word and character vectorizers.
    svm_ : LinearSVC
        The linear SVM fitted on all training data (its weights explain predictions).
    temperature_ : float
        Divides SVM scores before the softmax that turns them into probabilities.
    oof_proba_ : ndarray of shape (n_documents, n_classes)
        Calibrated out-of-fold probabilities of the training documents, each from an SVM
        that was not fitted on it (like a forest's ``oob_decision_function_``), for metrics and
        the review threshold. The vocabulary and IDF weights are fitted once on all documents,
        which makes these slightly optimistic. Not saved with the model.

    Examples
    --------
    >>> from triage import TriageClassifier
    >>> texts = ["楼上漏水没人管", "物业费又涨了", "孩子入学报名难", "学校乱收补课费"] * 3
    >>> labels = ["property", "property", "education", "education"] * 3
    >>> clf = TriageClassifier(min_df=1, calibration_folds=3).fit(texts, labels)
    >>> clf.predict(["物业费太贵"])[0]
    'property'
    """

    def __init__(
        self,
        *,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_features: int | None = 200_000,
        sublinear_tf: bool = True,
        C: float = 0.5,
        class_weight: str | None = "balanced",
        nb_scaling: bool = True,
        calibration_folds: int = 5,
        n_jobs: int | None = None,
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.C = C
        self.class_weight = class_weight
        self.nb_scaling = nb_scaling
        self.calibration_folds = calibration_folds
        self.n_jobs = n_jobs

    def _make_vectorizer(self, n_documents: int) -> FeatureUnion:
        # A min_df larger than the corpus would leave no terms at all (tiny training sets).
        min_df = min(self.min_df, max(1, n_documents // 2))
        shared = {
            "min_df": min_df,
            "max_features": self.max_features,
            "sublinear_tf": self.sublinear_tf,
            "lowercase": False,
            "dtype": np.float32,
        }
        return FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(tokenizer=segment, token_pattern=None, ngram_range=self.word_ngram_range, **shared),
                ),
                ("chars", TfidfVectorizer(analyzer="char", ngram_range=self.char_ngram_range, **shared)),
            ]
        )

    def fit(
        self,
        X: Iterable[str],
        y: Sequence[str] | Sequence[int] | np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> TriageClassifier:
        """Fit vectorizers and the calibrated linear model on raw texts ``X`` and labels ``y``;
        ``sample_weight`` weighs each text in the SVM's loss (e.g. recent messages more)."""
        texts = prepared_texts(X)
        labels = np.asarray(y)
        if labels.dtype.kind in "US":
            # str labels as Python objects (any length); integer labels stay integers, as
            # scikit-learn passes them when it encodes the labels itself (cross_val_predict)
            labels = labels.astype(object)
        if len(texts) != len(labels):
            raise ValueError(f"X has {len(texts)} documents but y has {len(labels)} labels")
        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) < 2:
            named = f" ({classes[0]!r})" if len(classes) else ""
            raise TrainingDataError(
                f"need at least 2 classes to train, got {len(classes)}{named}: check the label column, and the rows "
                "left out (without a label or Chinese text, of a class seen once)"
            )
        if self.calibration_folds < 2:
            raise ValueError(f"calibration_folds must be at least 2, got {self.calibration_folds}")
        n_folds = min(self.calibration_folds, int(counts.min()))
        if n_folds < 2:
            rare = ", ".join(str(c) for c, n in zip(classes, counts, strict=True) if n < 2)
            raise TrainingDataError(
                f"classes with a single example cannot be calibrated: {rare}; add examples or merge these labels"
            )
        self.vectorizer_ = self._make_vectorizer(len(texts))
        # float64 once here, not in each of the SVM fits below (liblinear works in float64)
        features = fit_union(self.vectorizer_, texts, n_jobs=self.n_jobs).astype(np.float64)
        svm = (
            _NaiveBayesScaledSVC(C=self.C, class_weight=self.class_weight)
            if self.nb_scaling
            else LinearSVC(C=self.C, class_weight=self.class_weight, random_state=0)
        )
        svm, out_of_fold = fit_with_out_of_fold_scores(
            svm, features, labels, n_folds, n_jobs=self.n_jobs, sample_weight=sample_weight
        )
        self.svm_ = svm.as_linear_svc() if self.nb_scaling else svm
        # float32 weights halve the model file; scores change by less than 1e-6.
        self.svm_.coef_ = self.svm_.coef_.astype(np.float32)
        self.classes_ = self.svm_.classes_
        codes = np.searchsorted(self.classes_, labels)
        self.temperature_ = _fit_temperature(out_of_fold, codes)
        self.oof_proba_ = softmax(out_of_fold / self.temperature_, axis=1).astype(np.float32)
        return self

    def transform(self, X: Iterable[str]) -> sparse.csr_matrix:
        """TF-IDF features (words then characters) of raw texts ``X``."""
        check_is_fitted(self)
        return self.vectorizer_.transform(prepared_texts(X))

    def decision_function(self, X: Iterable[str]) -> np.ndarray:
        """Uncalibrated SVM scores, one column per class (one column for two classes)."""
        check_is_fitted(self)
        return self.svm_.decision_function(self.transform(X))

    def _proba_from_features(self, features: sparse.csr_matrix) -> np.ndarray:
        scores = _as_columns(self.svm_.decision_function(features))
        return softmax(scores / self.temperature_, axis=1)

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Calibrated class probabilities, columns in the order of ``classes_``."""
        return self._proba_from_features(self.transform(X))

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """The most probable label of each text."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def term_weights(self, features: sparse.csr_matrix, class_index: int) -> list[tuple[int, float]]:
        """Feature indices of one row with their contribution to ``class_index``'s score, largest first.

        A contribution is the feature value times the SVM weight: the terms that pushed the
        message towards that class.
        """
        coef = self.svm_.coef_
        if coef.shape[0] == 1:  # binary SVM: one weight row, positive towards classes_[1]
            weights = coef[0] if class_index == 1 else -coef[0]
        else:
            weights = coef[class_index]
        row = features.tocsr()
        contributions = row.data * weights[row.indices]
        order = np.argsort(-contributions, kind="stable")
        return [(int(row.indices[i]), float(contributions[i])) for i in order if contributions[i] > 0]

    def feature_names(self) -> np.ndarray:
        """Names of all features: ``words__…`` and ``chars__…``."""
        check_is_fitted(self)
        return self.vectorizer_.get_feature_names_out()

    def __getstate__(self) -> dict[str, Any]:
        """State for pickle and skops, with vocabularies packed into byte arrays (see ``_pack_terms``)."""
        state = {k: v for k, v in super().__getstate__().items() if k != "oof_proba_"}
        union = state.get("vectorizer_")
        if union is None:
            return state
        packed_union = copy.copy(union)
        packed_union.transformer_list = []
        packed_terms = {}
        for name, vectorizer in union.transformer_list:
            packed = copy.copy(vectorizer)
            packed_terms[name] = _pack_terms(packed.__dict__.pop("vocabulary_"))
            packed.__dict__.pop("stop_words_", None)  # introspection only; can hold millions of terms
            packed_union.transformer_list.append((name, packed))
        return {**state, "vectorizer_": packed_union, "packed_terms_": packed_terms}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = {"nb_scaling": False, **state}  # models saved before the parameter existed fit one LinearSVC
        packed_terms = state.pop("packed_terms_", {})
        super().__setstate__(state)
        if packed_terms:
            for name, vectorizer in self.vectorizer_.transformer_list:
                vectorizer.vocabulary_ = _unpack_terms(packed_terms[name])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

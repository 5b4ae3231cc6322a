"""Serving a fitted :class:`~triage.estimator.TriageClassifier` with numpy alone.

Training needs scikit-learn; answering needs only the vocabularies, IDF weights, SVM weights
and the temperature. :class:`LinearScorer` holds exactly those as numpy arrays and reproduces
``TfidfVectorizer`` (word n-grams over :func:`triage.segmentation.segment`, character n-grams,
sublinear TF, L2 norm per block) followed by the calibrated SVM (``tests/test_scoring.py``
checks it against ``predict_proba``). It serves no other settings: :mod:`triage.scorer_contract`
refuses an estimator fitted with any at conversion, and a scorer saved beside its estimator must
first answer probe texts as the estimator does. :meth:`LinearScorer.predict_proba` takes raw
messages, as the estimator does; the methods named ``..._prepared`` take prepared ones.

Why not call the estimator:

- importing scikit-learn and SciPy is most of a cold start (about 1.2 s of 2.4 s measured) and
  about 180 MB in every batch worker;
- a vocabulary held as a Python ``dict`` costs a cache miss or three per n-gram looked up and
  about 100 bytes per term in every process. Here every n-gram becomes a 64-bit key computed
  with vectorised integer arithmetic over a whole batch (code points for characters,
  per-token keys for words), looked up in an open-addressing table of two numpy arrays, which
  forked workers share page for page;
- the file is plain ``.npy`` arrays read with ``allow_pickle=False``: loading it runs no code.

What is saved is the scorer's compact form (:meth:`LinearScorer.compacted`, file layout 2): weights
quantised to int8 with one scale per class, features whose quantised weights are all zero left
out, features numbered in the order of their hash-table slots (so the file holds each table as a
bitmap of filled slots and the keys in slot order, not as two arrays with a free half), all of it
deflated. A key's top bits name its home slot, so for each key the file keeps only its distance
from home and its other bits, byte by byte (:func:`~triage.scoring.layout._table_parts`). Scorers
written before (layout 1: float32 weights and both tables, uncompressed) still load as they were.

The per-text work (keys, lookups, counting, weighting) runs in the compiled extension
``triage._featurize`` when it was built at install, else in numpy (the modules ``keys`` and
``tables``, and the scorer's methods); both give the same features (``tests/test_featurize.py``).
:data:`FEATURIZER` says which one runs. Where :func:`~triage.segmentation.segment` runs on the
compiled segmenter too, the featuriser cuts the texts itself and reads each token as offsets into
its text: no list of str per text, a fifth of the two steps' time on teddy2020c votes
(``tests/test_featurize_fused.py`` checks the features are the same).

This package re-exports the scorer's public names; the work is done in its modules: ``keys`` (n-gram
and term keys), ``tables`` (the open-addressing table), ``levels`` (int8 quantisation), ``layout``
(the file layouts), ``terms`` (:class:`TermStrings`), ``compiled`` (what the compiled featuriser
reads) and ``scorer`` (:class:`LinearScorer`, :class:`FeatureRows`, :func:`softmax`).
"""

from __future__ import annotations

from triage.scoring.compiled import FEATURIZER
from triage.scoring.layout import MAX_SCORER_BYTES as MAX_SCORER_BYTES
from triage.scoring.levels import int8_levels as int8_levels
from triage.scoring.levels import int8_scales as int8_scales
from triage.scoring.scorer import MAX_NGRAM as MAX_NGRAM
from triage.scoring.scorer import FeatureRows, LinearScorer
from triage.scoring.scorer import softmax as softmax
from triage.scoring.terms import TermStrings

__all__ = ["FEATURIZER", "FeatureRows", "LinearScorer", "TermStrings"]

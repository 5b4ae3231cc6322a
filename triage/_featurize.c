/*
 * triage._featurize: the compiled form of LinearScorer's per-text loop (triage/scoring/).
 *
 * The numpy path in triage/scoring/ builds every n-gram key, looks it up and counts it with whole-batch
 * array passes: about 1,700 n-grams per message cost ~150 us in temporaries and probing loops.
 * Here one pass per document does the same work in a few microseconds, with the GIL released for
 * everything after the code points have been read. The two paths give the same features
 * (tests/test_featurize.py), so a build without a C compiler only loses speed.
 *
 * tfidf_rows takes each text's tokens as a list of str; tfidf_rows_segmented cuts the texts itself
 * with the compiled segmenter (triage/_segment_api.h) and reads the tokens as offsets into the
 * text's code points: segment() and this in one call, with no str per token (~154 per message).
 *
 * Keys, tables and weighting must match triage/scoring/ exactly (keys, tables, compiled, scorer):
 *   token key     = mix64(fold(TOKEN_SEED, code points of the token))
 *   n-gram key    = mix64(fold(n, n units)), units = token keys (words) or code points (chars)
 *   fold(seed, u) = seed * M + u[0], then * M + u[1], ... (mod 2^64)
 *   home slot     = (key * M) >> (64 - log2(table size)), linear probing, key 0 marks a free slot
 *   key filter    = bit (key & (8 * filter bytes - 1)) set for every key of the table (scoring.compiled._key_filter)
 *   value         = (1 + ln count if sublinear else count) * idf, L2-normalised per block
 *                   (word columns < n_word_features <= char columns), columns ascending.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_segment_api.h"

#define MULTIPLIER 0x9E3779B97F4A7C15ULL
#define TOKEN_SEED 0x5BD1E9955BD1E995ULL

static inline uint64_t mix64(uint64_t v) {
    v ^= v >> 30;
    v *= 0xBF58476D1CE4E5B9ULL;
    v ^= v >> 27;
    v *= 0x94D049BB133111EBULL;
    return v ^ (v >> 31);
}

/* Where a table says which column a slot holds: an int32 per slot, or, for a table whose columns
 * run in slot order (every loaded model's), a directory of 16 bytes per 64 slots: which of them are
 * filled, and the column of the first filled one. A slot's column is then that column plus the filled
 * slots before it in its 64 (a popcount), read from 128 kB that stay in cache for a table of 512k
 * slots, instead of a second line at random in 2 MB of columns per n-gram found: featurising votes took
 * 1.3 to 4.5 % less time (four in-process runs, each the median of 51 to 85 chunks of 256, interleaved). */
typedef struct {
    const uint64_t *keys;
    const int32_t *columns;   /* NULL with a directory */
    const uint64_t *directory;
    uint64_t mask;
    int shift;
    const uint8_t *filter;    /* bit (key & filter_mask) set for every key the table holds */
    uint64_t filter_mask;
} Table;

/* A key filter: one bit per hash of the low bits of a key, set for every key of the table (scoring/compiled.py's
 * _key_filter, 2 bits per slot: 128 kB for 512k slots, in cache). An n-gram whose bit is clear is in no
 * table, so it is never probed: a third of a vote's ~1,060 probes are misses, and each reads a line at
 * random in megabytes of keys; its key is dropped without a branch. Featurising votes took 5-6 % less
 * time (in-process, interleaved chunks of 256). Without one, every bit reads as set. */
static const uint8_t EVERY_KEY[1] = {0xFF};

#define DIRECTORY_SLOTS 64

#if defined(__GNUC__) || defined(__clang__)
#define POPCOUNT64(x) __builtin_popcountll(x)
#else
static inline int popcount64(uint64_t x) {
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}
#define POPCOUNT64(x) popcount64(x)
#endif

/* The function that counts a batch's n-grams built twice on x86-64 with glibc, one chosen when the
 * module loads: with the popcnt instruction where the CPU has it (some before 2009 lack it), else
 * with the baseline instructions, whose popcount is a dozen of them (the directory lost 1.8 % then). */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define WITH_POPCNT __attribute__((target_clones("popcnt", "default")))
#endif
#endif
#ifndef WITH_POPCNT
#define WITH_POPCNT
#endif

static int table_from_buffers(Table *table, const Py_buffer *keys, const Py_buffer *columns, const char *name) {
    Py_ssize_t size = keys->len / (Py_ssize_t)sizeof(uint64_t);
    int per_slot = columns->len == size * (Py_ssize_t)sizeof(int32_t);
    int directory = size % DIRECTORY_SLOTS == 0 &&
                    columns->len == size / DIRECTORY_SLOTS * 2 * (Py_ssize_t)sizeof(uint64_t);
    if (size < 2 || (size & (size - 1)) || !(per_slot || directory)) {
        PyErr_Format(PyExc_ValueError,
                     "the %s table is malformed (size not a power of two, or columns neither one per slot nor "
                     "a directory of its slots)", name);
        return -1;
    }
    int bits = 0;
    while (((Py_ssize_t)1 << bits) < size) bits++;
    table->keys = (const uint64_t *)keys->buf;
    table->columns = per_slot ? (const int32_t *)columns->buf : NULL;
    table->directory = per_slot ? NULL : (const uint64_t *)columns->buf;
    table->mask = (uint64_t)size - 1;
    table->shift = 64 - bits;
    table->filter = EVERY_KEY;
    table->filter_mask = 7;
    return 0;
}

/* Read keys through ``filter`` (a power of two of bytes; none given: every key is probed). */
static int table_filter(Table *table, const Py_buffer *filter, const char *name) {
    if (!filter->buf) return 0;
    if (filter->len < 1 || (filter->len & (filter->len - 1))) {
        PyErr_Format(PyExc_ValueError, "the %s key filter is malformed (its size is not a power of two)", name);
        return -1;
    }
    table->filter = (const uint8_t *)filter->buf;
    table->filter_mask = (uint64_t)filter->len * 8 - 1;
    return 0;
}

/* The column of a filled slot (read where the table says it). */
static inline int64_t slot_column(const Table *table, uint64_t slot) {
    if (table->columns) return table->columns[slot];
    const uint64_t *entry = table->directory + 2 * (slot / DIRECTORY_SLOTS);
    uint64_t before = entry[0] & (((uint64_t)1 << (slot % DIRECTORY_SLOTS)) - 1);
    return (int64_t)(entry[1] + (uint64_t)POPCOUNT64(before));
}

#define RADIX_BITS 10

/* Sort a document's columns ascending (as the numpy path's np.unique leaves them): LSD radix sort
 * over 10-bit digits, two passes for vocabularies under a million terms; qsort took 44% of the time. */
static void sort_columns(int64_t *columns, int64_t *scratch, Py_ssize_t n, int passes) {
    Py_ssize_t buckets[1 << RADIX_BITS];
    for (int pass = 0; pass < passes; pass++) {
        int shift = pass * RADIX_BITS;
        memset(buckets, 0, sizeof(buckets));
        for (Py_ssize_t i = 0; i < n; i++) buckets[(columns[i] >> shift) & ((1 << RADIX_BITS) - 1)]++;
        Py_ssize_t total = 0;
        for (int b = 0; b < (1 << RADIX_BITS); b++) {
            Py_ssize_t count = buckets[b];
            buckets[b] = total;
            total += count;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t *slot = &buckets[(columns[i] >> shift) & ((1 << RADIX_BITS) - 1)];
            scratch[(*slot)++] = columns[i];
        }
        memcpy(columns, scratch, (size_t)n * sizeof(int64_t));
    }
}

static inline Py_ssize_t ngram_count(Py_ssize_t length, long low, long high) {
    Py_ssize_t total = 0;
    for (long n = low; n <= high && n <= length; n++) total += length - n + 1;
    return total;
}

/* Units (code points or token keys) of one batch, document by document. */
typedef struct {
    uint64_t *units;
    Py_ssize_t *starts; /* document i is units[starts[i]:starts[i + 1]] */
} Runs;

static void runs_free(Runs *runs) {
    PyMem_RawFree(runs->units);
    PyMem_RawFree(runs->starts);
    runs->units = NULL; /* freed once: error paths call this again on the way out */
    runs->starts = NULL;
}

static int runs_alloc(Runs *runs, Py_ssize_t n_documents, Py_ssize_t n_units) {
    runs->units = PyMem_RawMalloc((size_t)(n_units ? n_units : 1) * sizeof(uint64_t));
    runs->starts = PyMem_RawMalloc((size_t)(n_documents + 1) * sizeof(Py_ssize_t));
    if (!runs->units || !runs->starts) {
        runs_free(runs);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int check_str(PyObject *item, const char *what, Py_ssize_t index) {
    if (!PyUnicode_Check(item)) {
        PyErr_Format(PyExc_TypeError, "%s %zd is %s, not str", what, index, Py_TYPE(item)->tp_name);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(item) < 0) return -1;
#endif
    return 0;
}

/* The code points of a text (kind and data as in PyUnicode_READ) into units, every run of two or more
 * whitespace characters read as one space: what TfidfVectorizer's char analyzer does, and scoring/scorer.py's
 * _WHITE_SPACES.sub(" ", text) (\s of a str pattern is Py_UNICODE_ISSPACE); their number. A prepared
 * text holds no such run; one more pass over it in Python cost ~2.5 us per message. No GIL needed. */
static Py_ssize_t read_characters(int kind, const void *data, Py_ssize_t length, uint64_t *units) {
    Py_ssize_t at = 0;
    for (Py_ssize_t j = 0; j < length; j++) {
        Py_UCS4 unit = PyUnicode_READ(kind, data, j);
        if (Py_UNICODE_ISSPACE(unit) && j + 1 < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j + 1))) {
            while (j + 1 < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j + 1))) j++;
            unit = ' ';
        }
        units[at++] = unit;
    }
    return at;
}

/* The key of the token data[start:end] (kind and data as in PyUnicode_READ). */
static inline uint64_t token_key(int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    uint64_t key = TOKEN_SEED;
    for (Py_ssize_t j = start; j < end; j++) key = key * MULTIPLIER + (uint64_t)PyUnicode_READ(kind, data, j);
    return mix64(key);
}

/* The total length of a list of str, -1 (an exception set) when an item is not str. */
static Py_ssize_t total_length(PyObject *texts) {
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(texts); i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (check_str(text, "text", i) < 0) return -1;
        total += PyUnicode_GET_LENGTH(text);
    }
    return total;
}

/* Code points of each text (characters), whitespace runs read as one space (read_characters). */
static int read_texts(PyObject *texts, Runs *runs) {
    Py_ssize_t n = PyList_GET_SIZE(texts), total = total_length(texts);
    if (total < 0 || runs_alloc(runs, n, total) < 0) return -1;
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        runs->starts[i] = at;
        at += read_characters(PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text), runs->units + at);
    }
    runs->starts[n] = at;
    return 0;
}

/* One key per token of each token list (words). */
static int read_tokens(PyObject *token_lists, Runs *runs) {
    Py_ssize_t n = PyList_GET_SIZE(token_lists), total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *tokens = PyList_GET_ITEM(token_lists, i);
        if (!PyList_Check(tokens)) {
            PyErr_Format(PyExc_TypeError, "token list %zd is %s, not list", i, Py_TYPE(tokens)->tp_name);
            return -1;
        }
        total += PyList_GET_SIZE(tokens);
    }
    if (runs_alloc(runs, n, total) < 0) return -1;
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *tokens = PyList_GET_ITEM(token_lists, i);
        runs->starts[i] = at;
        /* the list cannot change size under us: the GIL is held and nothing here calls back into Python */
        for (Py_ssize_t t = 0; t < PyList_GET_SIZE(tokens); t++) {
            PyObject *token = PyList_GET_ITEM(tokens, t);
            if (check_str(token, "token of text", i) < 0) return -1;
            runs->units[at++] = token_key(PyUnicode_KIND(token), PyUnicode_DATA(token), 0, PyUnicode_GET_LENGTH(token));
        }
    }
    runs->starts[n] = at;
    return 0;
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)0)
#endif

/* How many lookups ahead a slot is prefetched. The tables (megabytes) do not fit in cache, so each
 * probe is a memory round trip; issuing them ahead lets them overlap (2.3x faster on teddy2020c than
 * none; 32 ahead rather than 16: featurising 4,000 votes, median of 15 runs, 40-46 -> 39-43 us/text). */
#define AHEAD 32

typedef struct {
    int32_t *counts;    /* per column, zero between documents */
    Py_ssize_t n_features;
    int out_of_range;   /* a table named a column past the vocabulary */
    int64_t *touched;   /* columns of the current document, in order of first sight */
    int64_t *scratch;   /* room to sort them */
    Py_ssize_t n_touched;
    int64_t *found;     /* columns of the current document's n-grams, repeats included */
    Py_ssize_t n_found;
    uint64_t *keys;     /* n-gram keys of the current document */
    uint64_t *homes;    /* and their home slots */
} Counter;

/* Columns of single characters by code point (-1: not in the vocabulary), for code points below
 * n_direct: read from an array of 256 kB that stays in cache, instead of a probe of the table. */
typedef struct {
    const int32_t *columns;
    Py_ssize_t n_direct;
} Direct;

static inline void found_column(Counter *counter, int64_t column) {
    if (column >= counter->n_features)
        counter->out_of_range = 1; /* a corrupt table: reported, never written through */
    else if (column >= 0)
        counter->found[counter->n_found++] = column;
}

static inline void count_ngrams(Counter *counter, const Table *table, const uint64_t *units, Py_ssize_t length,
                                long low, long high, const Direct *direct) {
    Py_ssize_t m = 0;
    for (long n = low; n <= high && n <= length; n++) {
        for (Py_ssize_t start = 0; start + n <= length; start++) {
            if (n == 1 && units[start] < (uint64_t)direct->n_direct) {
                found_column(counter, direct->columns[units[start]]);
                continue;
            }
            uint64_t key = (uint64_t)n;
            for (long j = 0; j < n; j++) key = key * MULTIPLIER + units[start + j];
            key = mix64(key);
            uint64_t bit = key & table->filter_mask;
            counter->keys[m] = key;
            counter->homes[m] = (key * MULTIPLIER) >> table->shift;
            m += (table->filter[bit >> 3] >> (bit & 7)) & 1; /* kept only if the table may hold it */
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        if (i + AHEAD < m) {
            PREFETCH(table->keys + counter->homes[i + AHEAD]);
            if (table->columns) PREFETCH(table->columns + counter->homes[i + AHEAD]);
        }
        uint64_t key = counter->keys[i], position = counter->homes[i];
        int64_t column = -1;
        /* a free slot ends every probe; at most a table's length of probes even without one */
        for (uint64_t probes = 0; probes <= table->mask; probes++) {
            uint64_t stored = table->keys[position];
            if (stored == key) {
                column = slot_column(table, position);
                break;
            }
            if (stored == 0) break;
            position = (position + 1) & table->mask;
        }
        found_column(counter, column);
    }
}

/* Count the columns found, prefetching their counters (a random walk over the vocabulary, too). */
static inline void count_found(Counter *counter) {
    for (Py_ssize_t i = 0; i < counter->n_found; i++) {
        if (i + AHEAD < counter->n_found) PREFETCH(counter->counts + counter->found[i + AHEAD]);
        int64_t column = counter->found[i];
        if (counter->counts[column]++ == 0) counter->touched[counter->n_touched++] = column;
    }
}

/* What tfidf_rows and tfidf_rows_segmented read of the scorer: its tables, IDF weights and settings. */
typedef struct {
    Py_buffer word_keys, word_columns, char_keys, char_columns, idf, unigrams, word_filter, char_filter;
    Py_ssize_t n_word_features;
    long word_low, word_high, char_low, char_high;
    int sublinear;
    Table word_table, char_table;
} Scorer;

static void scorer_release(Scorer *scorer) {
    PyBuffer_Release(&scorer->word_keys);
    PyBuffer_Release(&scorer->word_columns);
    PyBuffer_Release(&scorer->char_keys);
    PyBuffer_Release(&scorer->char_columns);
    PyBuffer_Release(&scorer->idf);
    PyBuffer_Release(&scorer->unigrams);
    PyBuffer_Release(&scorer->word_filter);
    PyBuffer_Release(&scorer->char_filter);
}

/* Parse args[start:stop] by format, into the pointers that follow. */
static int parse_slice(PyObject *args, Py_ssize_t start, Py_ssize_t stop, const char *format, ...) {
    PyObject *slice = PyTuple_GetSlice(args, start, stop);
    if (!slice) return 0;
    va_list pointers;
    va_start(pointers, format);
    int parsed = PyArg_VaParse(slice, format, pointers);
    va_end(pointers);
    Py_DECREF(slice);
    return parsed;
}

/* Parse the scorer's arguments, args[first:], and check them; -1 with an exception set when invalid
 * (the buffers are released by scorer_release either way). */
static int scorer_parse(Scorer *scorer, PyObject *args, Py_ssize_t first, const char *format) {
    if (!parse_slice(args, first, PyTuple_GET_SIZE(args), format, &scorer->word_keys, &scorer->word_columns,
                     &scorer->char_keys, &scorer->char_columns, &scorer->idf, &scorer->n_word_features,
                     &scorer->word_low, &scorer->word_high, &scorer->char_low, &scorer->char_high, &scorer->sublinear,
                     &scorer->unigrams, &scorer->word_filter, &scorer->char_filter))
        return -1;
    if (scorer->word_low < 1 || scorer->word_high < scorer->word_low || scorer->char_low < 1 ||
        scorer->char_high < scorer->char_low) {
        PyErr_SetString(PyExc_ValueError, "n-gram ranges must satisfy 1 <= low <= high");
        return -1;
    }
    if (table_from_buffers(&scorer->word_table, &scorer->word_keys, &scorer->word_columns, "word") < 0 ||
        table_from_buffers(&scorer->char_table, &scorer->char_keys, &scorer->char_columns, "character") < 0 ||
        table_filter(&scorer->word_table, &scorer->word_filter, "word") < 0 ||
        table_filter(&scorer->char_table, &scorer->char_filter, "character") < 0)
        return -1;
    return 0;
}

/* Per-column counters, all zero between calls (each document sets its columns back to zero). One
 * array is kept for the next call instead of allocating and zeroing megabytes per call, whose fresh
 * pages cost a fault each; taken and given back with the GIL held, so concurrent calls never share it. */
static int32_t *spare_counts;
static Py_ssize_t spare_counts_size;

static int32_t *take_counts(Py_ssize_t n_features) {
    if (spare_counts && spare_counts_size >= n_features) {
        int32_t *counts = spare_counts;
        spare_counts = NULL;
        return counts;
    }
    return PyMem_RawCalloc((size_t)(n_features ? n_features : 1), sizeof(int32_t));
}

static void give_back_counts(int32_t *counts, Py_ssize_t n_features) {
    if (!counts) return;
    if (spare_counts && spare_counts_size >= n_features) {
        PyMem_RawFree(counts);
        return;
    }
    PyMem_RawFree(spare_counts);
    spare_counts = counts;
    spare_counts_size = n_features;
}

/* 1 + ln(count) for the counts almost every n-gram has, computed once with the same libm log (so the
 * same values): featurising 2,000 votes, min of 25 runs, 61.3 -> 59.5 us per text. */
#define SUBLINEAR_TABLE 64
static double sublinear_tf[SUBLINEAR_TABLE];

static void fill_sublinear_tf(void) {
    for (int count = 1; count < SUBLINEAR_TABLE; count++) sublinear_tf[count] = 1.0 + log((double)count);
}

/* TF-IDF rows of n documents, read as their characters and their tokens' keys: (offsets, columns,
 * values) as raw bytes. */
WITH_POPCNT static PyObject *rows_of_runs(const Scorer *scorer, const Runs *chars, const Runs *words, Py_ssize_t n) {
    /* words never take the direct path; characters do when the caller passed their columns */
    Direct no_direct = {NULL, 0};
    Direct char_direct = {(const int32_t *)scorer->unigrams.buf, scorer->unigrams.len / (Py_ssize_t)sizeof(int32_t)};
    PyObject *result = NULL, *offsets_bytes = NULL, *columns_bytes = NULL, *values_bytes = NULL;
    Counter counter = {0};
    double *doc_values = NULL;
    Py_ssize_t n_features = scorer->idf.len / (Py_ssize_t)sizeof(float), n_word_features = scorer->n_word_features;
    const float *idf = (const float *)scorer->idf.buf;
    long word_low = scorer->word_low, word_high = scorer->word_high;
    long char_low = scorer->char_low, char_high = scorer->char_high;
    int sublinear = scorer->sublinear;

    Py_ssize_t capacity = 0, widest = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t count = ngram_count(words->starts[i + 1] - words->starts[i], word_low, word_high) +
                           ngram_count(chars->starts[i + 1] - chars->starts[i], char_low, char_high);
        capacity += count;
        if (count > widest) widest = count;
    }
    counter.counts = take_counts(n_features);
    counter.touched = PyMem_RawMalloc((size_t)(widest ? widest : 1) * sizeof(int64_t));
    counter.found = PyMem_RawMalloc((size_t)(widest ? widest : 1) * sizeof(int64_t));
    counter.scratch = PyMem_RawMalloc((size_t)(widest ? widest : 1) * sizeof(int64_t));
    counter.keys = PyMem_RawMalloc((size_t)(widest ? widest : 1) * sizeof(uint64_t));
    counter.homes = PyMem_RawMalloc((size_t)(widest ? widest : 1) * sizeof(uint64_t));
    doc_values = PyMem_RawMalloc((size_t)(widest ? widest : 1) * sizeof(double));
    /* written in place, then cut to the columns found: no copy, and only the pages written are touched */
    offsets_bytes = PyBytes_FromStringAndSize(NULL, (n + 1) * (Py_ssize_t)sizeof(int64_t));
    columns_bytes = PyBytes_FromStringAndSize(NULL, capacity * (Py_ssize_t)sizeof(int64_t));
    values_bytes = PyBytes_FromStringAndSize(NULL, capacity * (Py_ssize_t)sizeof(float));
    if (!counter.counts || !counter.touched || !counter.found || !counter.scratch || !counter.keys ||
        !counter.homes || !doc_values || !offsets_bytes || !columns_bytes || !values_bytes) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    int64_t *offsets = (int64_t *)PyBytes_AS_STRING(offsets_bytes);
    int64_t *out_columns = (int64_t *)PyBytes_AS_STRING(columns_bytes);
    float *out_values = (float *)PyBytes_AS_STRING(values_bytes);

    int passes = 1;
    while (passes * RADIX_BITS < 63 && ((int64_t)1 << (passes * RADIX_BITS)) < (int64_t)n_features) passes++;
    counter.n_features = n_features;
    Py_ssize_t written = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        offsets[i] = written;
        counter.n_touched = counter.n_found = 0;
        count_ngrams(&counter, &scorer->word_table, words->units + words->starts[i],
                     words->starts[i + 1] - words->starts[i], word_low, word_high, &no_direct);
        count_ngrams(&counter, &scorer->char_table, chars->units + chars->starts[i],
                     chars->starts[i + 1] - chars->starts[i], char_low, char_high, &char_direct);
        count_found(&counter);
        sort_columns(counter.touched, counter.scratch, counter.n_touched, passes);
        double squares[2] = {0.0, 0.0};
        for (Py_ssize_t t = 0; t < counter.n_touched; t++) {
            if (t + AHEAD < counter.n_touched) PREFETCH(idf + counter.touched[t + AHEAD]);
            int64_t column = counter.touched[t];
            int32_t count = counter.counts[column];
            double tf = !sublinear                  ? (double)count
                        : count < SUBLINEAR_TABLE ? sublinear_tf[count]
                                                  : 1.0 + log((double)count);
            double value = tf * (double)idf[column];
            doc_values[t] = value;
            squares[column >= n_word_features] += value * value;
        }
        double norms[2] = {sqrt(squares[0]), sqrt(squares[1])};
        for (Py_ssize_t t = 0; t < counter.n_touched; t++) {
            int64_t column = counter.touched[t];
            counter.counts[column] = 0;
            out_columns[written] = column;
            out_values[written] = (float)(doc_values[t] / norms[column >= n_word_features]);
            written++;
        }
    }
    offsets[n] = written;
    Py_END_ALLOW_THREADS
    if (counter.out_of_range) {
        PyErr_SetString(PyExc_ValueError, "an n-gram table points outside the vocabulary");
        goto done;
    }
    if (_PyBytes_Resize(&columns_bytes, written * (Py_ssize_t)sizeof(int64_t)) < 0 ||
        _PyBytes_Resize(&values_bytes, written * (Py_ssize_t)sizeof(float)) < 0)
        goto done;
    result = PyTuple_Pack(3, offsets_bytes, columns_bytes, values_bytes);

done:
    Py_XDECREF(offsets_bytes);
    Py_XDECREF(columns_bytes);
    Py_XDECREF(values_bytes);
    give_back_counts(counter.counts, n_features);
    PyMem_RawFree(counter.touched);
    PyMem_RawFree(counter.scratch);
    PyMem_RawFree(counter.found);
    PyMem_RawFree(counter.keys);
    PyMem_RawFree(counter.homes);
    PyMem_RawFree(doc_values);
    return result;
}

#define SCORER_FORMAT "y*y*y*y*y*nllllp|y*y*y*"

static PyObject *tfidf_rows(PyObject *self, PyObject *args) {
    PyObject *texts, *token_lists, *result = NULL;
    Scorer scorer = {0};
    Runs chars = {0}, words = {0};
    if (!parse_slice(args, 0, 2, "O!O!:tfidf_rows", &PyList_Type, &texts, &PyList_Type, &token_lists) ||
        scorer_parse(&scorer, args, 2, SCORER_FORMAT ":tfidf_rows") < 0)
        goto done;
    Py_ssize_t n = PyList_GET_SIZE(texts);
    if (PyList_GET_SIZE(token_lists) != n) {
        PyErr_Format(PyExc_ValueError, "%zd texts but %zd token lists", n, PyList_GET_SIZE(token_lists));
        goto done;
    }
    if (read_texts(texts, &chars) < 0 || read_tokens(token_lists, &words) < 0) goto done;
    result = rows_of_runs(&scorer, &chars, &words, n);
done:
    runs_free(&chars);
    runs_free(&words);
    scorer_release(&scorer);
    return result;
}

/* The compiled segmenter's interface, imported at the first fused call (triage._segment is optional). */
static const SegmentApi *segment_api;

static const SegmentApi *get_segment_api(void) {
    if (!segment_api) {
        const SegmentApi *api = PyCapsule_Import(SEGMENT_API_CAPSULE, 0);
        if (!api) return NULL;
        if (api->version != SEGMENT_API_VERSION) {
            PyErr_Format(PyExc_ImportError, "triage._segment has interface version %d, triage._featurize needs %d; "
                         "reinstall triage so both are built from the same source", api->version, SEGMENT_API_VERSION);
            return NULL;
        }
        segment_api = api;
    }
    return segment_api;
}

/* Each text's characters (whitespace runs read as one space) and the keys of the tokens segment()
 * keeps of it, cut by the compiled segmenter straight from the text's code points: no str per token. */
static int segment_texts(const SegmentApi *api, PyObject *segmenter, PyObject *texts, Runs *chars, Runs *words) {
    Py_ssize_t n = PyList_GET_SIZE(texts), total = total_length(texts);
    /* a text has at most as many tokens as code points */
    if (total < 0 || runs_alloc(chars, n, total) < 0 || runs_alloc(words, n, total) < 0) return -1;
    Py_UCS4 *code_points = PyMem_RawMalloc((size_t)(total ? total : 1) * sizeof(Py_UCS4));
    Py_ssize_t *lengths = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(Py_ssize_t));
    SegmentWorkspace *workspace = api->workspace_new();
    int failed = !code_points || !lengths || !workspace;
    for (Py_ssize_t i = 0, at = 0; i < n && !failed; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        lengths[i] = PyUnicode_GET_LENGTH(text);
        if (lengths[i] && !PyUnicode_AsUCS4(text, code_points + at, lengths[i], 0)) {
            PyMem_RawFree(code_points);
            PyMem_RawFree(lengths);
            api->workspace_free(workspace);
            return -1;
        }
        at += lengths[i];
    }
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS
        const Py_UCS4 *text = code_points;
        Py_ssize_t char_at = 0, word_at = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            const Py_ssize_t *spans;
            Py_ssize_t n_tokens = api->cut(segmenter, workspace, text, lengths[i], &spans);
            if (n_tokens < 0) {
                failed = 1;
                break;
            }
            words->starts[i] = word_at;
            for (Py_ssize_t t = 0; t < n_tokens; t++)
                words->units[word_at++] = token_key(PyUnicode_4BYTE_KIND, text, spans[2 * t], spans[2 * t + 1]);
            chars->starts[i] = char_at;
            char_at += read_characters(PyUnicode_4BYTE_KIND, text, lengths[i], chars->units + char_at);
            text += lengths[i];
        }
        words->starts[n] = word_at;
        chars->starts[n] = char_at;
        Py_END_ALLOW_THREADS
    }
    PyMem_RawFree(code_points);
    PyMem_RawFree(lengths);
    api->workspace_free(workspace);
    if (failed) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static PyObject *tfidf_rows_segmented(PyObject *self, PyObject *args) {
    PyObject *segmenter, *texts, *result = NULL;
    Scorer scorer = {0};
    Runs chars = {0}, words = {0};
    const SegmentApi *api = get_segment_api();
    if (!api ||
        !parse_slice(args, 0, 2, "OO!:tfidf_rows_segmented", &segmenter, &PyList_Type, &texts) ||
        scorer_parse(&scorer, args, 2, SCORER_FORMAT ":tfidf_rows_segmented") < 0)
        goto done;
    if (!api->is_segmenter(segmenter)) {
        PyErr_Format(PyExc_TypeError, "tfidf_rows_segmented() takes a triage._segment.Segmenter, not %s",
                     Py_TYPE(segmenter)->tp_name);
        goto done;
    }
    if (segment_texts(api, segmenter, texts, &chars, &words) < 0) goto done;
    result = rows_of_runs(&scorer, &chars, &words, PyList_GET_SIZE(texts));
done:
    runs_free(&chars);
    runs_free(&words);
    scorer_release(&scorer);
    return result;
}


/* Linear class scores of TF-IDF rows: intercept[k] + sum over a row's terms of value * weights[column, k].
 * The weights are term-major (terms, classes): a term's weights for every class share a cache line.
 * With scales, the weights are int8 levels, weights[column, k] = (float)level * scales[k] (numpy's
 * float32 product, so the scores are the same): a quarter of the bytes to read, in rows that mostly
 * sit in one cache line (19 classes: 19 bytes, not 76), from a table of megabytes read at random. */
/* row += value * weight, a class at a time, in double (an int8 level's weight is level * scale, in float).
 * restrict says that row (the caller's scores) is no alias of the weights: an int8_t, a char type, may
 * alias anything, so each row[k] written made the compiler read the levels again, and the loop stayed
 * scalar. Vectorised across classes, each class's sum takes the same steps in the same order: the
 * scores are the same to the bit, and linear_scores took 26 % less time (votes, 19 classes, 651 terms
 * a text: min of 30 interleaved rounds 11.0 -> 8.0 us a text). */
static inline void add_levels(double *restrict row, const int8_t *restrict term, const float *restrict scales,
                              double value, Py_ssize_t n_classes) {
    for (Py_ssize_t k = 0; k < n_classes; k++) row[k] += value * (double)((float)term[k] * scales[k]);
}

static inline void add_weights(double *restrict row, const float *restrict term, double value, Py_ssize_t n_classes) {
    for (Py_ssize_t k = 0; k < n_classes; k++) row[k] += value * (double)term[k];
}

static PyObject *linear_scores(PyObject *self, PyObject *args) {
    Py_buffer offsets_buffer = {0}, columns_buffer = {0}, values_buffer = {0}, weights_buffer = {0},
              intercept_buffer = {0}, scales_buffer = {0};
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*|y*:linear_scores", &offsets_buffer, &columns_buffer, &values_buffer,
                          &weights_buffer, &intercept_buffer, &scales_buffer))
        return NULL;
    PyObject *result = NULL;
    double *scores = NULL;
    const int64_t *offsets = (const int64_t *)offsets_buffer.buf;
    const int64_t *columns = (const int64_t *)columns_buffer.buf;
    const float *values = (const float *)values_buffer.buf, *weights = (const float *)weights_buffer.buf;
    const float *intercept = (const float *)intercept_buffer.buf;
    Py_ssize_t n = offsets_buffer.len / (Py_ssize_t)sizeof(int64_t) - 1;
    Py_ssize_t n_classes = intercept_buffer.len / (Py_ssize_t)sizeof(float);
    Py_ssize_t n_entries = columns_buffer.len / (Py_ssize_t)sizeof(int64_t);
    const float *scales = (const float *)scales_buffer.buf;
    const int8_t *levels = (const int8_t *)weights_buffer.buf;
    Py_ssize_t n_weights = weights_buffer.len / (Py_ssize_t)(scales ? sizeof(int8_t) : sizeof(float));
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "feature rows need at least one offset");
        goto done;
    }
    if (values_buffer.len != n_entries * (Py_ssize_t)sizeof(float)) {
        PyErr_SetString(PyExc_ValueError, "feature rows have a different number of columns and values");
        goto done;
    }
    if (n_classes < 1 || n_weights % n_classes) {
        PyErr_Format(PyExc_ValueError, "%zd weights do not divide among %zd classes", n_weights, n_classes);
        goto done;
    }
    if (scales && scales_buffer.len != n_classes * (Py_ssize_t)sizeof(float)) {
        PyErr_Format(PyExc_ValueError, "%zd weight scales for %zd classes", scales_buffer.len / (Py_ssize_t)sizeof(float),
                     n_classes);
        goto done;
    }
    Py_ssize_t n_terms = n_weights / n_classes;
    scores = PyMem_RawMalloc((size_t)(n ? n * n_classes : 1) * sizeof(double));
    if (!scores) {
        PyErr_NoMemory();
        goto done;
    }
    /* Bounds are checked as the arrays are read, inside the loop: with the GIL released another
     * thread could change a writable array between a separate check and its use. */
    int bad_offset = 0, bad_column = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && !bad_offset && !bad_column; i++) {
        int64_t start = offsets[i], end = offsets[i + 1];
        if (start < 0 || end < start || end > n_entries) {
            bad_offset = 1;
            break;
        }
        double *row = scores + i * n_classes;
        for (Py_ssize_t k = 0; k < n_classes; k++) row[k] = intercept[k];
        for (int64_t j = start; j < end; j++) {
            int64_t column = columns[j];
            if (column < 0 || column >= n_terms) {
                bad_column = 1;
                break;
            }
            if (j + AHEAD < n_entries) { /* the next rows' terms too: they follow in columns */
                int64_t ahead = columns[j + AHEAD];
                if (ahead >= 0 && ahead < n_terms) { /* a term's row can straddle two cache lines or three */
                    if (scales) {
                        PREFETCH(levels + ahead * n_classes);
                        PREFETCH(levels + ahead * n_classes + n_classes - 1);
                    } else {
                        PREFETCH(weights + ahead * n_classes);
                        PREFETCH(weights + ahead * n_classes + n_classes - 1);
                    }
                }
            }
            if (scales)
                add_levels(row, levels + column * n_classes, scales, values[j], n_classes);
            else
                add_weights(row, weights + column * n_classes, values[j], n_classes);
        }
    }
    Py_END_ALLOW_THREADS
    if (bad_offset) {
        PyErr_SetString(PyExc_ValueError, "feature row offsets must rise from 0 to the number of columns");
        goto done;
    }
    if (bad_column) {
        PyErr_Format(PyExc_ValueError, "a feature column is outside the %zd terms", n_terms);
        goto done;
    }
    result = PyBytes_FromStringAndSize((const char *)scores, (Py_ssize_t)(n * n_classes * sizeof(double)));

done:
    PyMem_RawFree(scores);
    PyBuffer_Release(&offsets_buffer);
    PyBuffer_Release(&columns_buffer);
    PyBuffer_Release(&values_buffer);
    PyBuffer_Release(&weights_buffer);
    PyBuffer_Release(&intercept_buffer);
    PyBuffer_Release(&scales_buffer);
    return result;
}

/* segment()'s filter: the tokens with an alphanumeric character (str.isalnum's definition, character
 * by character) that are not stop words, in order. Same rule as segmentation._content_tokens_python. */
static PyObject *content_tokens(PyObject *self, PyObject *args) {
    PyObject *tokens, *stop_words;
    if (!PyArg_ParseTuple(args, "O!O!:content_tokens", &PyList_Type, &tokens, &PyFrozenSet_Type, &stop_words))
        return NULL;
    PyObject *kept = PyList_New(0);
    if (!kept) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(tokens); i++) {
        PyObject *token = PyList_GET_ITEM(tokens, i);
        if (check_str(token, "token", i) < 0) goto error;
        int kind = PyUnicode_KIND(token);
        const void *data = PyUnicode_DATA(token);
        int has_alnum = 0;
        for (Py_ssize_t j = 0; j < PyUnicode_GET_LENGTH(token) && !has_alnum; j++)
            has_alnum = Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, j));
        if (!has_alnum) continue;
        Py_INCREF(token); /* a str subclass's __hash__/__eq__ runs Python code that could drop it */
        int stop = PySet_Contains(stop_words, token);
        int failed = stop < 0 || (!stop && PyList_Append(kept, token) < 0);
        Py_DECREF(token);
        if (failed) goto error;
    }
    return kept;
error:
    Py_DECREF(kept);
    return NULL;
}

static PyMethodDef methods[] = {
    {"content_tokens", content_tokens, METH_VARARGS,
     "content_tokens(tokens, stop_words) -> the tokens with an alphanumeric character that are not stop words"},
    {"linear_scores", linear_scores, METH_VARARGS,
     "linear_scores(offsets, columns, values, term_weights, intercept[, scales]) -> scores\n\n"
     "Raw float64 bytes of shape (rows, classes): intercept plus the rows' terms times their (terms, classes)\n"
     "weights: float32, or with scales (float32, one per class) int8 levels, weight = level * scale."},
    {"tfidf_rows_segmented", tfidf_rows_segmented, METH_VARARGS,
     "tfidf_rows_segmented(segmenter, texts, word_keys, ...) -> (offsets, columns, values)\n\n"
     "tfidf_rows(texts, [segmenter.segment(text) for text in texts], word_keys, ...), with the texts cut by\n"
     "the compiled segmenter (a triage._segment.Segmenter) in C: no token list, no str per token."},
    {"tfidf_rows", tfidf_rows, METH_VARARGS,
     "tfidf_rows(texts, token_lists, word_keys, word_columns, char_keys, char_columns, idf, n_word_features,\n"
     "           word_low, word_high, char_low, char_high, sublinear[, char_unigrams, word_filter, char_filter])\n"
     "           -> (offsets, columns, values)\n\n"
     "TF-IDF rows of texts (whitespace runs read as one space) and their tokens, as LinearScorer.transform\n"
     "computes them; the three results are raw int64 / int64 / float32 bytes. Called only by\n"
     "LinearScorer._features_compiled, which passes arrays of the dtypes and layout this reads (a table's\n"
     "columns: int32 per slot, or a uint64 pair per 64 slots, filled bits and first column, when they run in\n"
     "slot order); char_unigrams (int32, by code point) is the column of each character the character\n"
     "table holds (-1: none); a key filter (bytes, a power of two of them) has bit key & (8 * size - 1),\n"
     "bit i of byte i / 8 at i % 8, set for every key of its table: keys whose bit is clear are not probed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "triage._featurize",
    "Compiled hot loops of serving: segment()'s token filter, n-gram lookup and TF-IDF, linear scores.",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__featurize(void) {
    fill_sublinear_tf();
    return PyModule_Create(&module);
}

/*
 * triage._segment: the whole of segment() (triage/segmentation.py) in one compiled call.
 *
 * Why: through rjieba, jieba-rs cuts an average message in ~47 us, and segment() spends ~17 us more
 * splitting out placeholders, dropping identifier runs and filtering tokens in Python; segmentation
 * was the largest stage of `triage tag`. Here one pass over the code points does all of it with the
 * GIL released, and str objects are created only for the tokens kept.
 *
 * The cut is jieba-rs's dictionary-only cut (rjieba's cut(text, hmm=False)), rule for rule, so the
 * tokens are identical (tests/test_segment_compiled.py compares the two on random and real text):
 *  - the text splits into maximal runs of the "Han" class (CJK ideographs U+3400-4DBF, 4E00-9FFF,
 *    F900-FAFF, 20000-2A6DF, 2A700-2EBEF, 2F800-2FA1F; ASCII letters and digits; + # & . _ % -)
 *    and other characters, each of which is a token of its own;
 *  - in a run, every dictionary word starting at a character is an edge; the route maximises the
 *    sum of ln(freq) - ln(total) from the end of the run backwards, a tie going to the longer word;
 *    a character that starts no word steps one character with frequency 1;
 *  - consecutive one-character steps on ASCII letters or digits are joined into one token.
 * The dictionary is jieba's dict.txt, which rjieba embeds deduplicated (a repeated word keeps its
 * last frequency; the total counts every word once), plus the user words, each added as jieba-rs's
 * add_word(word, None, None) does: frequency suggest_freq(word), then the total updated. The
 * floating-point steps run in jieba-rs's order on the same libm log and exp, so ties and near-ties
 * fall the same way.
 *
 * Around the cut, segment()'s own rules: placeholders ("[PHONE]"...) are tokens of their own; a
 * maximal run of [0-9A-Za-z_] of six characters or more that looks like an identifier (seven digits
 * or more, or four or more among letters) becomes a space; a token is kept when it has an
 * alphanumeric character (str.isalnum, character by character) and is not a stop word.
 *
 * The dictionary is a character trie: the root's children for the BMP in a direct table, every
 * other node in an open-addressing table keyed by (parent node, code point), each node stored in 16
 * bytes with its id, flags and ln frequency so that a step of a walk is one memory access (the
 * frequencies themselves, for building, are kept aside). A Segmenter is built once
 * by build() and never changes after, so threads share it and forked workers inherit it.
 *
 * The capsule triage._segment._api (_segment_api.h) gives the same cut to C code: triage._featurize
 * cuts texts it holds as code points and reads the kept tokens as offsets into them, with no str per
 * token.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "_segment_api.h"

#define MULTIPLIER 0x9E3779B97F4A7C15ULL
#define HUGE_PAGE ((size_t)2 << 20)
#define ROOT_SIZE 0x10000 /* root transitions of BMP code points are indexed directly */
#define CHAR_BITS 21

#define ID_BITS 20                        /* node ids run from 1 to MAX_ID (jieba's dictionary: ~490,000) */
#define MAX_ID ((1u << ID_BITS) - 1)
#define KEY_BITS (ID_BITS + CHAR_BITS)      /* a key: (parent id << CHAR_BITS) | code point */
#define FLAG_BITS 3

/* node flags */
#define HAS_CHILDREN 1u
#define IS_WORD 2u
#define IS_STOP 4u

/* A node of the trie, stored in the transition into it: one 16-byte entry (a quarter of a cache line)
 * holds everything a walk reads, so each character of a walk costs one memory access, in a table of
 * 16 MB (32 MB with the id, flags and frequency in fields of their own: more of it stays in cache).
 * A word's frequency, read only while building and by suggest_freq, is kept aside by node id. */
typedef struct {
    uint64_t packed;  /* key | flags << KEY_BITS | id << (KEY_BITS + FLAG_BITS); 0: a free slot */
    double log_freq;  /* ln(freq) of a word */
} Node;

static inline uint64_t node_key(const Node *node) { return node->packed & (((uint64_t)1 << KEY_BITS) - 1); }
static inline uint32_t node_flags(const Node *node) {
    return (uint32_t)(node->packed >> KEY_BITS) & ((1u << FLAG_BITS) - 1);
}
/* the parent part of its children's keys; nonzero once the node exists */
static inline uint32_t node_id(const Node *node) { return (uint32_t)(node->packed >> (KEY_BITS + FLAG_BITS)); }
static inline void add_flags(Node *node, uint32_t flags) { node->packed |= (uint64_t)flags << KEY_BITS; }

typedef struct {
    PyObject_HEAD
    Node *root;  /* children of the root for BMP code points, key 0 for none */
    Node *table; /* every other node, open addressing, linear probing */
    size_t n_slots, used;
    int shift;
    uint32_t n_nodes;
    uint64_t *freqs;  /* by node id: the frequency of a word */
    size_t freqs_room;
    uint64_t total;
    double log_total;
    PyObject *placeholders; /* tuple of str, returned as tokens */
    Py_UCS4 *placeholder_chars; /* their code points, one after the other */
    Py_ssize_t *placeholder_ends; /* where each ends in placeholder_chars */
    Py_ssize_t n_placeholders;
} Segmenter;

static PyTypeObject SegmenterType;

/* ---- the trie ---------------------------------------------------------------------------------- */

/* n zeroed nodes, aligned so that no node straddles two cache lines; calloc leaves the pages of a
 * large block untouched, so the root's ~45,000 unused code points cost no memory. A table of 8 MB or
 * more goes on huge pages where the system offers them: its random accesses miss the TLB less. The
 * block calloc returned is kept just before the nodes, for nodes_free. */
static Node *nodes_alloc(size_t n) {
    size_t size = n * sizeof(Node), align = size >= 4 * HUGE_PAGE ? HUGE_PAGE : 64;
    char *block = calloc(1, size + align + sizeof(void *));
    if (!block) return NULL;
    uintptr_t first = ((uintptr_t)block + sizeof(void *) + align - 1) / align * align;
    Node *nodes = (Node *)first;
    ((void **)nodes)[-1] = block;
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE) madvise(nodes, size, MADV_HUGEPAGE);
#endif
    return nodes;
}

static void nodes_free(Node *nodes) {
    if (nodes) free(((void **)nodes)[-1]);
}

/* The key of the child of parent on ch: never 0 in the table (the root's children on BMP code
 * points, parent 0, are in s->root). */
static inline uint64_t slot_key(uint32_t parent, Py_UCS4 ch) { return ((uint64_t)parent << CHAR_BITS) | ch; }

/* Index of the slot holding key, or of the free slot where it would go. */
static inline size_t slot_find(const Segmenter *s, uint64_t key) {
    size_t mask = s->n_slots - 1, i = (size_t)((key * MULTIPLIER) >> s->shift);
    while (s->table[i].packed && node_key(&s->table[i]) != key) i = (i + 1) & mask;
    return i;
}

/* The child of parent (NULL: the root) on ch, NULL for none. */
static inline const Node *step(const Segmenter *s, const Node *parent, Py_UCS4 ch) {
    if (!parent && ch < ROOT_SIZE) return s->root[ch].packed ? &s->root[ch] : NULL;
    const Node *child = &s->table[slot_find(s, slot_key(parent ? node_id(parent) : 0, ch))];
    return child->packed ? child : NULL;
}

/* The node spelling chars[0..n), NULL for none. */
static const Node *lookup(const Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    const Node *node = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (node && !(node_flags(node) & HAS_CHILDREN)) return NULL;
        if (!(node = step(s, node, chars[i]))) return NULL;
    }
    return node;
}

static int grow_table(Segmenter *s) {
    size_t old_n = s->n_slots;
    Node *old = s->table, *table = nodes_alloc(old_n * 2);
    if (!table) return -1;
    s->table = table;
    s->n_slots = old_n * 2;
    s->shift--;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].packed) s->table[slot_find(s, node_key(&old[i]))] = old[i];
    nodes_free(old);
    return 0;
}

/* Give node the next id, with room for its frequency; -1 when out of ids (an exception set) or memory. */
static int number_node(Segmenter *s, Node *node) {
    if (s->n_nodes == MAX_ID) {
        PyErr_Format(PyExc_ValueError, "the dictionary and user words hold more than %u prefixes, more than the "
                     "compiled segmenter can number; set TRIAGE_SEGMENTER=rjieba", MAX_ID);
        return -1;
    }
    if (s->n_nodes + 1 >= s->freqs_room) {
        size_t room = s->freqs_room ? 2 * s->freqs_room : 1024;
        uint64_t *freqs = PyMem_RawRealloc(s->freqs, room * sizeof(uint64_t));
        if (!freqs) return -1;
        memset(freqs + s->freqs_room, 0, (room - s->freqs_room) * sizeof(uint64_t));
        s->freqs = freqs;
        s->freqs_room = room;
    }
    node->packed |= (uint64_t)++s->n_nodes << (KEY_BITS + FLAG_BITS);
    return 0;
}

/* The node spelling chars[0..n) (n > 0), created with its prefixes where missing; NULL when out of
 * memory or of ids. The pointer holds until the next insert. */
static Node *insert(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    Node *node = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t parent = 0;
        if (node) {
            add_flags(node, HAS_CHILDREN);
            parent = node_id(node);
        }
        if (parent == 0 && chars[i] < ROOT_SIZE) {
            node = &s->root[chars[i]];
        } else {
            uint64_t key = slot_key(parent, chars[i]);
            size_t at = slot_find(s, key);
            if (!s->table[at].packed && (s->used + 1) * 4 > s->n_slots * 3) {
                if (grow_table(s) < 0) return NULL;
                at = slot_find(s, key);
            }
            node = &s->table[at];
            if (!node->packed) {
                node->packed = key;
                s->used++;
            }
        }
        if (!node_id(node) && number_node(s, node) < 0) return NULL;
    }
    return node;
}

/* The frequency of the word chars[0..n), or missing when it is not a word (jieba-rs's get_word_freq). */
static uint64_t word_freq(const Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n, uint64_t missing) {
    const Node *node = lookup(s, chars, n);
    return node && (node_flags(node) & IS_WORD) ? s->freqs[node_id(node)] : missing;
}

/* Make chars[0..n) a word of frequency freq, keeping the total. */
static int set_word(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n, uint64_t freq) {
    Node *node = insert(s, chars, n);
    if (!node) return -1;
    if (node_flags(node) & IS_WORD) s->total -= s->freqs[node_id(node)]; /* a repeated word keeps its last frequency */
    add_flags(node, IS_WORD);
    s->freqs[node_id(node)] = freq;
    node->log_freq = log((double)freq);
    s->total += freq;
    return 0;
}

/* ---- the cut ----------------------------------------------------------------------------------- */

static inline int is_ascii_alnum(Py_UCS4 c) { return c < 128 && Py_ISALNUM(c); }

static inline int is_identifier_char(Py_UCS4 c) { return is_ascii_alnum(c) || c == '_'; }

/* jieba-rs's RE_HAN_DEFAULT class. */
static inline int is_han(Py_UCS4 c) {
    if (c >= 0x4E00 && c <= 0x9FFF) return 1;
    if (c < 128) return Py_ISALNUM(c) || (c && strchr("+#&._%-", (int)c) != NULL);
    return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2EBEF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Per-call buffers for a text of n code points. */
typedef struct {
    Py_UCS4 *chars;
    double *prob;
    Py_ssize_t *end;
    const Node **word; /* the word each route step takes, NULL for a character outside the dictionary */
    Py_ssize_t *spans; /* kept tokens as (start, end) offsets into the text */
    Py_ssize_t n_spans;
    void *block;
} Scratch;

static int scratch_alloc(Scratch *scratch, Py_ssize_t n) {
    size_t m = (size_t)n + 1;
    size_t size = m * (sizeof(Py_UCS4) + sizeof(double) + sizeof(Py_ssize_t) + sizeof(Node *) + 2 * sizeof(Py_ssize_t));
    char *block = PyMem_RawMalloc(size);
    if (!block) return -1;
    scratch->block = block;
    scratch->prob = (double *)block;
    scratch->end = (Py_ssize_t *)(scratch->prob + m);
    scratch->spans = scratch->end + m;
    scratch->word = (const Node **)(scratch->spans + 2 * m);
    scratch->chars = (Py_UCS4 *)(scratch->word + m);
    scratch->n_spans = 0;
    return 0;
}

/* What to do with each token of a run: keep it for segment(), or add it into suggest_freq's sum. */
typedef struct Sink {
    void (*token)(struct Sink *sink, const Segmenter *s, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t end,
                  const Node *word);
    Scratch *scratch;
    double log_freq_sum;
} Sink;

/* A walk is a chain of dependent loads from a 16 MB table, but walks from different characters are
 * independent: the slot the walk PREFETCH_DISTANCE characters ahead will need second is requested now. */
#define PREFETCH_DISTANCE 4

static inline void prefetch_second_step(const Segmenter *s, const Py_UCS4 *chars) {
#if defined(__GNUC__) || defined(__clang__)
    if (chars[0] < ROOT_SIZE) {
        const Node *first = &s->root[chars[0]];
        if (node_flags(first) & HAS_CHILDREN)
            __builtin_prefetch(&s->table[(size_t)((slot_key(node_id(first), chars[1]) * MULTIPLIER) >> s->shift)]);
    }
#else
    (void)s;
    (void)chars;
#endif
}

/* Cut the Han run text[start..stop) along its best route (jieba-rs cut_dag_no_hmm). */
static void cut_run(const Segmenter *s, Scratch *scratch, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t stop,
                    Sink *sink) {
    const Py_UCS4 *run = text + start;
    Py_ssize_t n = stop - start;
    double *prob = scratch->prob;
    Py_ssize_t *end = scratch->end;
    const Node **word = scratch->word;
    double log_total = s->log_total, log1 = 0.0 - log_total;

    prob[n] = 0.0;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        if (i >= PREFETCH_DISTANCE) prefetch_second_step(s, run + i - PREFETCH_DISTANCE);
        double best = -INFINITY;
        Py_ssize_t best_end = -1;
        const Node *best_node = NULL;
        const Node *node = step(s, NULL, run[i]);
        for (Py_ssize_t j = i + 1; node; j++) {
            uint32_t flags = node_flags(node);
            if (flags & IS_WORD) {
                double p = node->log_freq - log_total + prob[j];
                if (p > best || (p == best && j > best_end)) {
                    best = p;
                    best_end = j;
                    best_node = node;
                }
            }
            if (!(flags & HAS_CHILDREN) || j == n) break;
            node = step(s, node, run[j]);
        }
        if (best_end < 0) {
            prob[i] = log1 + prob[i + 1];
            end[i] = i + 1;
            word[i] = NULL;
        } else {
            prob[i] = best;
            end[i] = best_end;
            word[i] = best_node;
        }
    }

    Py_ssize_t x = 0, left = -1;
    while (x < n) {
        Py_ssize_t y = end[x];
        if (y - x == 1 && is_ascii_alnum(run[x])) {
            if (left < 0) left = x;
        } else {
            if (left >= 0) {
                sink->token(sink, s, text, start + left, start + x, x - left == 1 ? word[left] : NULL);
                left = -1;
            }
            sink->token(sink, s, text, start + x, start + y, word[x]);
        }
        x = y;
    }
    if (left >= 0) sink->token(sink, s, text, start + left, start + n, n - left == 1 ? word[left] : NULL);
}

/* ---- suggest_freq (building) ------------------------------------------------------------------- */

static void add_log_freq(Sink *sink, const Segmenter *s, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t end,
                         const Node *Py_UNUSED(word)) {
    sink->log_freq_sum = sink->log_freq_sum + log((double)word_freq(s, text + start, end - start, 1)) - s->log_total;
}

/* jieba-rs's suggest_freq: the frequency that keeps chars[0..n) whole against its current cut. */
static int suggest_freq(const Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n, uint64_t *freq) {
    Scratch scratch;
    if (scratch_alloc(&scratch, n) < 0) return -1;
    Sink sink = {add_log_freq, &scratch, 0.0};
    Py_ssize_t i = 0;
    while (i < n) { /* jieba-rs's cut(word, false): Han runs, then one token per other character */
        Py_ssize_t j = i + 1;
        if (is_han(chars[i])) {
            while (j < n && is_han(chars[j])) j++;
            cut_run(s, &scratch, chars, i, j, &sink);
        } else {
            if (chars[i] == '\r' && j < n && chars[j] == '\n') j++;
            add_log_freq(&sink, s, chars, i, j, NULL);
        }
        i = j;
    }
    PyMem_RawFree(scratch.block);
    double joined = exp(sink.log_freq_sum + s->log_total);
    uint64_t suggested = joined >= 18446744073709551615.0 ? UINT64_MAX - 1 : (uint64_t)joined; /* Rust's `as` */
    suggested += 1;
    uint64_t known = word_freq(s, chars, n, 1);
    *freq = suggested > known ? suggested : known;
    return 0;
}

/* jieba-rs's add_word(word, None, None). */
static int add_user_word(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    uint64_t freq;
    if (n == 0) return 0;
    if (suggest_freq(s, chars, n, &freq) < 0 || set_word(s, chars, n, freq) < 0) return -1;
    s->log_total = log((double)s->total);
    return 0;
}

/* ---- segment() --------------------------------------------------------------------------------- */

static int is_stop(const Segmenter *s, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t end, const Node *word) {
    if (!word) word = lookup(s, text + start, end - start);
    return word && (node_flags(word) & IS_STOP);
}

static void keep_content(Sink *sink, const Segmenter *s, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t end,
                         const Node *word) {
    int has_alnum = 0;
    for (Py_ssize_t i = start; i < end && !has_alnum; i++) has_alnum = Py_UNICODE_ISALNUM(text[i]);
    if (!has_alnum || is_stop(s, text, start, end, word)) return;
    Scratch *scratch = sink->scratch;
    scratch->spans[2 * scratch->n_spans] = start;
    scratch->spans[2 * scratch->n_spans + 1] = end;
    scratch->n_spans++;
}

/* Index of the placeholder starting at text[i], -1 for none (the first one listed wins, as in re). */
static Py_ssize_t placeholder_at(const Segmenter *s, const Py_UCS4 *text, Py_ssize_t i, Py_ssize_t n) {
    Py_ssize_t begin = 0;
    for (Py_ssize_t k = 0; k < s->n_placeholders; k++) {
        Py_ssize_t length = s->placeholder_ends[k] - begin;
        if (length <= n - i && memcmp(text + i, s->placeholder_chars + begin, length * sizeof(Py_UCS4)) == 0)
            return k;
        begin = s->placeholder_ends[k];
    }
    return -1;
}

/* The kept tokens of text[0..n) into scratch->spans. Runs without the GIL: touches no Python object. */
static void segment_spans(const Segmenter *s, Scratch *scratch, const Py_UCS4 *text, Py_ssize_t n) {
    Sink sink = {keep_content, scratch, 0.0};
    Py_ssize_t i = 0, run = -1;
    while (i < n) {
        Py_UCS4 c = text[i];
        Py_ssize_t k = c == '[' ? placeholder_at(s, text, i, n) : -1;
        Py_ssize_t j = i + 1;
        if (is_identifier_char(c)) {
            Py_ssize_t digits = 0;
            for (j = i; j < n && is_identifier_char(text[j]); j++) digits += text[j] >= '0' && text[j] <= '9';
            if (j - i < 6 || !(digits >= 7 || (digits >= 4 && digits < j - i))) { /* not an identifier */
                if (run < 0) run = i;
                i = j;
                continue;
            }
        } else if (k < 0 && is_han(c)) {
            if (run < 0) run = i;
            i = j;
            continue;
        }
        if (run >= 0) cut_run(s, scratch, text, run, i, &sink);
        run = -1;
        if (k >= 0) {
            j = i + s->placeholder_ends[k] - (k ? s->placeholder_ends[k - 1] : 0);
            scratch->spans[2 * scratch->n_spans] = i;
            scratch->spans[2 * scratch->n_spans + 1] = j;
            scratch->n_spans++;
        } else if (!is_identifier_char(c)) {
            keep_content(&sink, s, text, i, j, NULL);
        }
        i = j;
    }
    if (run >= 0) cut_run(s, scratch, text, run, n, &sink);
}

static PyObject *Segmenter_segment(PyObject *self, PyObject *text) {
    const Segmenter *s = (const Segmenter *)self;
    if (!PyUnicode_Check(text))
        return PyErr_Format(PyExc_TypeError, "segment() expects str, got %s", Py_TYPE(text)->tp_name);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Scratch scratch;
    if (scratch_alloc(&scratch, n) < 0) return PyErr_NoMemory();
    if (!PyUnicode_AsUCS4(text, scratch.chars, n + 1, 1)) {
        PyMem_RawFree(scratch.block);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    segment_spans(s, &scratch, scratch.chars, n);
    Py_END_ALLOW_THREADS

    PyObject *tokens = PyList_New(scratch.n_spans);
    for (Py_ssize_t t = 0; tokens && t < scratch.n_spans; t++) {
        Py_ssize_t start = scratch.spans[2 * t], end = scratch.spans[2 * t + 1];
        /* a kept token starting with '[' is a placeholder: a lone '[' has no alphanumeric character */
        Py_ssize_t k = scratch.chars[start] == '[' ? placeholder_at(s, scratch.chars, start, n) : -1;
        PyObject *token;
        if (k >= 0) {
            token = PyTuple_GET_ITEM(s->placeholders, k);
            Py_INCREF(token);
        } else if (!(token = PyUnicode_Substring(text, start, end))) {
            Py_CLEAR(tokens);
            break;
        }
        PyList_SET_ITEM(tokens, t, token);
    }
    PyMem_RawFree(scratch.block);
    return tokens;
}

/* ---- the C interface (_segment_api.h) ------------------------------------------------------------ */

struct SegmentWorkspace {
    Scratch scratch;
    Py_ssize_t capacity; /* the longest text scratch has room for */
};

static int api_is_segmenter(PyObject *object) { return Py_IS_TYPE(object, &SegmenterType); }

static SegmentWorkspace *api_workspace_new(void) {
    SegmentWorkspace *workspace = PyMem_RawCalloc(1, sizeof(SegmentWorkspace));
    if (workspace) workspace->capacity = -1;
    return workspace;
}

static void api_workspace_free(SegmentWorkspace *workspace) {
    if (workspace) PyMem_RawFree(workspace->scratch.block);
    PyMem_RawFree(workspace);
}

static Py_ssize_t api_cut(PyObject *segmenter, SegmentWorkspace *workspace, const Py_UCS4 *chars, Py_ssize_t n,
                          const Py_ssize_t **spans) {
    if (n > workspace->capacity) { /* room for twice as much, so a batch of growing texts reallocates rarely */
        PyMem_RawFree(workspace->scratch.block);
        workspace->scratch.block = NULL;
        workspace->capacity = -1;
        if (scratch_alloc(&workspace->scratch, 2 * n) < 0) return -1;
        workspace->capacity = 2 * n;
    }
    workspace->scratch.n_spans = 0;
    segment_spans((const Segmenter *)segmenter, &workspace->scratch, chars, n);
    *spans = workspace->scratch.spans;
    return workspace->scratch.n_spans;
}

static const SegmentApi segment_api = {
    SEGMENT_API_VERSION, api_is_segmenter, api_workspace_new, api_workspace_free, api_cut,
};

static PyObject *Segmenter_suggest_freq(PyObject *self, PyObject *word) {
    if (!PyUnicode_Check(word))
        return PyErr_Format(PyExc_TypeError, "suggest_freq() expects str, got %s", Py_TYPE(word)->tp_name);
    Py_UCS4 *chars = PyUnicode_AsUCS4Copy(word);
    if (!chars) return NULL;
    uint64_t freq;
    int failed = suggest_freq((const Segmenter *)self, chars, PyUnicode_GET_LENGTH(word), &freq);
    PyMem_Free(chars);
    return failed ? PyErr_NoMemory() : PyLong_FromUnsignedLongLong(freq);
}

static void Segmenter_dealloc(PyObject *self) {
    Segmenter *s = (Segmenter *)self;
    nodes_free(s->root);
    nodes_free(s->table);
    PyMem_RawFree(s->freqs);
    PyMem_RawFree(s->placeholder_chars);
    PyMem_RawFree(s->placeholder_ends);
    Py_XDECREF(s->placeholders);
    Py_TYPE(self)->tp_free(self);
}

/* ---- build() ----------------------------------------------------------------------------------- */

static inline int is_ascii_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f'; }

/* The code points of the UTF-8 bytes[0..n) into chars (room for n), their count; -1 when malformed. */
static Py_ssize_t decode_utf8(const unsigned char *bytes, Py_ssize_t n, Py_UCS4 *chars) {
    static const Py_UCS4 smallest[4] = {0, 0x80, 0x800, 0x10000}; /* by continuation bytes: no overlong forms */
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; count++) {
        unsigned char lead = bytes[i++];
        int more = lead < 0x80 ? 0 : lead < 0xC0 ? -1 : lead < 0xE0 ? 1 : lead < 0xF0 ? 2 : lead < 0xF8 ? 3 : -1;
        if (more < 0 || more > n - i) return -1;
        Py_UCS4 c = more ? lead & (0x3F >> more) : lead;
        for (int k = 0; k < more; k++, i++) {
            if ((bytes[i] & 0xC0) != 0x80) return -1;
            c = c << 6 | (bytes[i] & 0x3F);
        }
        if (c < smallest[more] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return -1;
        chars[count] = c;
    }
    return count;
}

/* The next line of file into *line (grown as needed, without its '\n'), its length; -1 at the end
 * of the file, -2 when out of memory. */
static Py_ssize_t read_line(FILE *file, char **line, size_t *room) {
    size_t length = 0;
    for (;;) {
        if (*room - length < 2) {
            size_t wider = *room ? 2 * *room : 256;
            char *grown = PyMem_RawRealloc(*line, wider);
            if (!grown) return -2;
            *line = grown;
            *room = wider;
        }
        if (!fgets(*line + length, (int)(*room - length), file)) return length ? (Py_ssize_t)length : -1;
        length += strlen(*line + length);
        if (length && (*line)[length - 1] == '\n') return (Py_ssize_t)length - 1;
    }
}

/* Load the "word [freq [tag]]" lines of jieba's dict.txt, streamed so that the 5 MB file is never
 * held whole. */
static int load_dictionary(Segmenter *s, PyObject *path) {
    PyObject *encoded;
    if (!PyUnicode_FSConverter(path, &encoded)) return -1;
    FILE *file = fopen(PyBytes_AS_STRING(encoded), "rb");
    char *line = NULL;
    size_t line_room = 0;
    Py_UCS4 *word = NULL;
    Py_ssize_t word_room = 0, number = 0, length;
    long size = -1;
    if (!file || fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 || fseek(file, 0, SEEK_SET) != 0) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        goto error;
    }
    /* about one node per 10 bytes of dictionary (jieba's: 487,000 for 5 MB), the table under half full */
    while (s->n_slots < (size_t)size / 5) {
        s->n_slots *= 2;
        s->shift--;
    }
    if (!(s->table = nodes_alloc(s->n_slots))) goto memory;
    while ((length = read_line(file, &line, &line_room)) >= 0) {
        const unsigned char *text = (const unsigned char *)line;
        Py_ssize_t a = 0, b, f;
        number++;
        while (a < length && is_ascii_space(text[a])) a++;
        for (b = a; b < length && !is_ascii_space(text[b]); b++);
        for (f = b; f < length && is_ascii_space(text[f]); f++);
        if (b == a) continue; /* a blank line */
        uint64_t freq = 0;
        for (; f < length && !is_ascii_space(text[f]); f++) {
            if (text[f] < '0' || text[f] > '9' || freq > (UINT64_MAX - 9) / 10) {
                PyErr_Format(PyExc_ValueError, "line %zd: the frequency is not a whole number", number);
                goto error;
            }
            freq = freq * 10 + (uint64_t)(text[f] - '0');
        }
        if (b - a > word_room) { /* a word has at most as many code points as bytes */
            Py_UCS4 *wider = PyMem_RawRealloc(word, (size_t)(b - a) * sizeof(Py_UCS4));
            if (!wider) goto memory;
            word = wider;
            word_room = b - a;
        }
        Py_ssize_t n = decode_utf8(text + a, b - a, word);
        if (n < 0) {
            PyErr_Format(PyExc_ValueError, "line %zd: the word is not UTF-8", number);
            goto error;
        }
        if (set_word(s, word, n, freq) < 0) goto memory;
    }
    if (length == -2) goto memory;
    if (ferror(file)) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        goto error;
    }
    if (s->total == 0) {
        PyErr_SetString(PyExc_ValueError, "the dictionary holds no word with a frequency");
        goto error;
    }
    s->log_total = log((double)s->total);
    fclose(file);
    PyMem_RawFree(line);
    PyMem_RawFree(word);
    Py_DECREF(encoded);
    return 0;
memory:
    if (!PyErr_Occurred()) PyErr_NoMemory(); /* set_word: out of memory, or of node ids */
error:
    if (file) fclose(file);
    PyMem_RawFree(line);
    PyMem_RawFree(word);
    Py_DECREF(encoded);
    return -1;
}

typedef int (*WordAction)(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n);

static int for_each_word(Segmenter *s, PyObject *words, const char *what, WordAction mark) {
    PyObject *sequence = PySequence_Fast(words, what);
    if (!sequence) return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(sequence); i++) {
        PyObject *word = PySequence_Fast_GET_ITEM(sequence, i);
        if (!PyUnicode_Check(word)) {
            PyErr_Format(PyExc_TypeError, "%s: item %zd is %s, not str", what, i, Py_TYPE(word)->tp_name);
            Py_DECREF(sequence);
            return -1;
        }
        Py_UCS4 *chars = PyUnicode_AsUCS4Copy(word);
        int failed = !chars || mark(s, chars, PyUnicode_GET_LENGTH(word)) < 0;
        PyMem_Free(chars);
        if (failed) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            Py_DECREF(sequence);
            return -1;
        }
    }
    Py_DECREF(sequence);
    return 0;
}

static int mark_stop_word(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    if (n == 0) return 0;
    Node *node = insert(s, chars, n); /* a stop word outside the dictionary adds nodes, never a word */
    if (!node) return -1;
    add_flags(node, IS_STOP);
    return 0;
}

static int store_placeholders(Segmenter *s, PyObject *placeholders) {
    Py_ssize_t count = PyTuple_GET_SIZE(placeholders), total = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *p = PyTuple_GET_ITEM(placeholders, k);
        if (!PyUnicode_Check(p) || PyUnicode_GET_LENGTH(p) == 0 || PyUnicode_READ_CHAR(p, 0) != '[') {
            PyErr_SetString(PyExc_ValueError, "placeholders must be non-empty str starting with '['");
            return -1;
        }
        total += PyUnicode_GET_LENGTH(p);
    }
    s->placeholder_chars = PyMem_RawMalloc((total + 1) * sizeof(Py_UCS4));
    s->placeholder_ends = PyMem_RawMalloc((count + 1) * sizeof(Py_ssize_t));
    if (!s->placeholder_chars || !s->placeholder_ends) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *p = PyTuple_GET_ITEM(placeholders, k);
        if (!PyUnicode_AsUCS4(p, s->placeholder_chars + at, total + 1 - at, 0)) return -1;
        at += PyUnicode_GET_LENGTH(p);
        s->placeholder_ends[k] = at;
        s->n_placeholders++;
    }
    Py_INCREF(placeholders);
    s->placeholders = placeholders;
    return 0;
}

static PyObject *build(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *dictionary, *user_words, *stop_words, *placeholders;
    if (!PyArg_ParseTuple(args, "OOOO!:build", &dictionary, &user_words, &stop_words, &PyTuple_Type, &placeholders))
        return NULL;
    Segmenter *s = PyObject_New(Segmenter, &SegmenterType);
    if (!s) return NULL;
    memset((char *)s + sizeof(PyObject), 0, sizeof(Segmenter) - sizeof(PyObject));
    s->n_slots = (size_t)1 << 10; /* load_dictionary sizes the table */
    s->shift = 64 - 10;
    if (!(s->root = nodes_alloc(ROOT_SIZE))) goto error;
    if (store_placeholders(s, placeholders) < 0 || load_dictionary(s, dictionary) < 0 ||
        for_each_word(s, user_words, "user words", add_user_word) < 0 ||
        for_each_word(s, stop_words, "stop words", mark_stop_word) < 0)
        goto error;
    return (PyObject *)s;
error:
    if (!PyErr_Occurred()) PyErr_NoMemory();
    Py_DECREF(s);
    return NULL;
}

static PyMethodDef segmenter_methods[] = {
    {"segment", Segmenter_segment, METH_O, "segment(text) -> segmentation.segment(text), computed here"},
    {"suggest_freq", Segmenter_suggest_freq, METH_O,
     "suggest_freq(word) -> the frequency jieba-rs's suggest_freq gives word on this dictionary"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SegmenterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "triage._segment.Segmenter",
    .tp_basicsize = sizeof(Segmenter),
    .tp_dealloc = Segmenter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "jieba's dictionary, the user words and the stop words, read-only once built (see build()).",
    .tp_methods = segmenter_methods,
};

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS,
     "build(dictionary, user_words, stop_words, placeholders) -> Segmenter\n\n"
     "dictionary: the path of jieba's dict.txt; user_words: added in order as jieba-rs's add_word(word,\n"
     "None, None); stop_words: tokens dropped; placeholders: tuple of tokens kept whole."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "triage._segment",
    "segment() compiled: jieba-rs's dictionary-only cut and triage's token rules in one call.", -1, methods,
};

PyMODINIT_FUNC PyInit__segment(void) {
    if (PyType_Ready(&SegmenterType) < 0) return NULL;
    PyObject *created = PyModule_Create(&module);
    if (!created) return NULL;
    PyObject *api = PyCapsule_New((void *)&segment_api, SEGMENT_API_CAPSULE, NULL);
    if (!api || PyModule_AddObject(created, "_api", api) < 0) {
        Py_XDECREF(api);
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

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
 * The dictionary is a character trie laid out for the walks of the cut, which read it at random: from
 * every character of a run, a walk reads the child of the node it is at on the next character until
 * there is none, nine walks in ten taking a second step and one in three a third (votes.csv). Each
 * character of the dictionary has a code (1 to 65,535, numbered in order of first appearance); a node
 * is 8 bytes holding its character's code, its flags, the number of its word frequency (the frequencies
 * and their ln are in a table of the ~5,000 distinct ones) and where the block of its children starts
 * and how large it is. The root's children sit at the index of their code; every other node's children
 * fill a block of their own, a small hash table on the code (linear probing, at most half full beyond
 * two children: three quarters took 6 % more instructions and mispredicted branches, 2 MB less), so
 * that a step of a walk is one read of 8 bytes, in the block of the node it leaves. The blocks are laid
 * out breadth first: those of the root's children, which every second step reads, lie together. Against
 * an open-addressing table of 16-byte nodes keyed by (parent, character), 16 MB of which each step read
 * one line at random, the trie takes 7.7 MB (jieba's dictionary: ~1,010,000 slots for ~498,000 nodes),
 * so that far more of it stays in cache: the cut takes ~40 % less time in the featuriser (perf samples
 * in cut_run, 2,000 bodies.csv texts) and segment() ~30 % less (votes.csv). Of what is left, about a
 * third is cache misses (the featuriser cuts 40 texts repeated 37 % faster per character than 2,000
 * different ones) and most of the rest the branch on whether a step found a child; requesting the slot
 * of the second step 4 to 16 characters ahead, or taking all the second steps first in a pass of their
 * own without branches, measured no faster. While building, a block that fills up moves, twice as
 * large, to a block a move left or to the end; build() then copies the blocks in use, breadth first,
 * into one allocation. A Segmenter is built once by build() and never changes after, so threads share
 * it and forked workers inherit it. build() reads the dictionary and compacts the trie with the GIL
 * released (~50 ms of its ~55), so that another thread can load a model meanwhile
 * (triage.segmentation.building_segmenter): failures on the way are recorded in the Segmenter
 * (fail()) and raised once the GIL is held again.
 *
 * The capsule triage._segment._api (_segment_api.h) gives the same cut to C code: triage._featurize
 * cuts texts it holds as code points and reads the kept tokens as offsets into them, with no str per
 * token.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "_segment_api.h"

#define MULTIPLIER 0x9E3779B97F4A7C15ULL
#define HUGE_PAGE ((size_t)2 << 20)

#define MAX_CODE 0xFFFFu                /* characters are numbered 1..MAX_CODE; 0: a character in no word */
#define BUILD_ROOT (MAX_CODE + 1)       /* while building, the root's children take nodes[0..MAX_CODE] */
#define MAX_FREQS 0x10000u              /* distinct word frequencies, numbered from 0 */
#define MAX_NODES ((size_t)1 << 24)     /* node indexes, root and blocks (jieba's dictionary: ~1.1 million) */
#define FREQ_HASH_BITS 17               /* building: distinct frequencies by value, at most half full */

/* node flags */
#define HAS_CHILDREN 1u
#define IS_WORD 2u
#define IS_STOP 4u

/* A node of the trie in 8 bytes: its character's code (bits 0-15, 0 in a free slot), flags (16-18),
 * the log2 size of its children's block (19-23), the number of its word frequency (24-39) and where
 * its children's block starts (40-63). Everything a step of a walk reads is in the child it lands on. */
typedef uint64_t Node;

#define FLAG_SHIFT 16
#define SIZE_SHIFT 19
#define FREQ_SHIFT 24
#define BLOCK_SHIFT 40

static inline uint32_t node_code(Node node) { return (uint32_t)node & 0xFFFFu; }
static inline uint32_t node_flags(Node node) { return (uint32_t)(node >> FLAG_SHIFT) & 7u; }
static inline uint32_t node_log_size(Node node) { return (uint32_t)(node >> SIZE_SHIFT) & 31u; }
static inline uint32_t node_freq(Node node) { return (uint32_t)(node >> FREQ_SHIFT) & 0xFFFFu; }
static inline size_t node_block(Node node) { return (size_t)(node >> BLOCK_SHIFT); }

static inline Node with_block(Node node, size_t block, uint32_t log_size) {
    node &= ~(((Node)31 << SIZE_SHIFT) | ~(Node)0 << BLOCK_SHIFT);
    return node | (Node)HAS_CHILDREN << FLAG_SHIFT | (Node)log_size << SIZE_SHIFT | (Node)block << BLOCK_SHIFT;
}

typedef struct {
    PyObject_HEAD
    Node *nodes;           /* nodes[code]: the root's children; then the blocks of children */
    void *nodes_memory;    /* the allocation nodes lies in */
    size_t n_nodes, room;  /* nodes used, and allocated while building */
    size_t live;           /* building: the nodes the blocks in use take, root included */
    uint16_t *children;    /* building: children[b], the number of children in the block starting at b */
    size_t left[32];       /* building: by log2 size, the first block left by a move (0: none), each
                            * holding the index of the next in its first slot */
    uint16_t *bmp_codes;   /* the code of each BMP character, 0 for none */
    uint64_t *astral;      /* code point << 16 | code, for characters beyond the BMP, by code point */
    size_t n_astral;
    uint32_t n_codes;
    uint64_t *freq_values; /* by frequency number: the frequency, and its ln */
    double *log_freqs;
    uint32_t n_freqs;
    uint32_t *freq_slots;  /* building: frequency number + 1 by hash of the frequency, 0 for a free slot */
    uint64_t total;
    double log_total;
    PyObject *placeholders; /* tuple of str, returned as tokens */
    Py_UCS4 *placeholder_chars; /* their code points, one after the other */
    Py_ssize_t *placeholder_ends; /* where each ends in placeholder_chars */
    Py_ssize_t n_placeholders;
    PyObject *failure;      /* building: the exception type of the first failure (NULL: none), */
    char failure_message[200]; /* its message, */
    int failure_errno;      /* and for an OSError its errno */
} Segmenter;

static PyTypeObject SegmenterType;

/* ---- failures while building ------------------------------------------------------------------- */

/* Record a failure of type (a message formatted as printf does); -1. Needs no GIL: building runs
 * without it. The first failure recorded is the one raised_failure() raises. */
static int fail(Segmenter *s, PyObject *type, const char *format, ...) {
    if (s->failure) return -1;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(s->failure_message, sizeof s->failure_message, format, arguments);
    va_end(arguments);
    s->failure = type;
    return -1;
}

/* Record the OSError errno tells of (raised_failure() names the file); -1. */
static int fail_os(Segmenter *s) {
    if (!s->failure) {
        s->failure_errno = errno;
        s->failure = PyExc_OSError;
    }
    return -1;
}

/* Raise the failure recorded (MemoryError when none was: an allocation failed), with the GIL held;
 * an OSError names path. NULL. */
static PyObject *raised_failure(Segmenter *s, PyObject *path) {
    if (s->failure == PyExc_OSError) {
        errno = s->failure_errno;
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    }
    if (!s->failure) return PyErr_NoMemory();
    PyErr_SetString(s->failure, s->failure_message);
    return NULL;
}

/* ---- the trie ---------------------------------------------------------------------------------- */

/* The code of character c, 0 when no word has it. */
static inline uint32_t char_code(const Segmenter *s, Py_UCS4 c) {
    if (c < 0x10000) return s->bmp_codes[c];
    size_t low = 0, high = s->n_astral;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if ((s->astral[middle] >> 16) < c) low = middle + 1;
        else high = middle;
    }
    return low < s->n_astral && (s->astral[low] >> 16) == c ? (uint32_t)(s->astral[low] & 0xFFFF) : 0;
}

/* The code of character c, numbered now when new; 0 when out of codes (a failure recorded) or memory. */
static uint32_t new_code(Segmenter *s, Py_UCS4 c) {
    uint32_t code = char_code(s, c);
    if (code) return code;
    if (s->n_codes == MAX_CODE) {
        fail(s, PyExc_ValueError, "the dictionary and user words hold more than %u distinct characters, more "
             "than the compiled segmenter can number; set TRIAGE_SEGMENTER=rjieba", MAX_CODE);
        return 0;
    }
    code = ++s->n_codes;
    if (c < 0x10000) {
        s->bmp_codes[c] = (uint16_t)code;
        return code;
    }
    uint64_t *astral = PyMem_RawRealloc(s->astral, (s->n_astral + 1) * sizeof(uint64_t));
    if (!astral) return 0;
    size_t at = s->n_astral;
    while (at > 0 && (astral[at - 1] >> 16) > c) at--;
    memmove(astral + at + 1, astral + at, (s->n_astral - at) * sizeof(uint64_t));
    astral[at] = (uint64_t)c << 16 | code;
    s->astral = astral;
    s->n_astral++;
    return code;
}

/* Where the child on code is first looked for in a block of 2**log_size slots. */
static inline size_t block_slot(uint32_t code, uint32_t log_size) {
    return (size_t)(((uint64_t)(uint32_t)(code * 0x9E3779B1u) << log_size) >> 32);
}

/* Index of the child on code of node, which has children: where it is, or else a free slot or 0, both
 * no node (a zero one). Linear probing in the block, which is never more than half full beyond two
 * children, so that most steps read one slot. */
static inline size_t step_in_block(const Node *nodes, Node node, uint32_t code) {
    size_t mask = ((size_t)1 << node_log_size(node)) - 1, block = node_block(node);
    size_t i = block_slot(code, node_log_size(node));
    for (size_t probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
        uint32_t found = node_code(nodes[block + i]);
        if (found == code || !found) return block + i;
    }
    return 0;
}

/* Index of the child of node on code, 0 for none (nodes[0] is no node). */
static inline size_t child_of(const Segmenter *s, Node node, uint32_t code) {
    if (!(node_flags(node) & HAS_CHILDREN)) return 0;
    size_t at = step_in_block(s->nodes, node, code);
    return node_code(s->nodes[at]) ? at : 0;
}

/* Index of the node spelling chars[0..n), 0 for none. */
static size_t lookup(const Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    if (n == 0) return 0;
    size_t at = char_code(s, chars[0]);
    if (!node_code(s->nodes[at])) return 0;
    for (Py_ssize_t i = 1; i < n && at; i++) at = child_of(s, s->nodes[at], char_code(s, chars[i]));
    return at;
}

/* The smallest block for count children: full up to two, at most half full beyond. */
static uint32_t block_log_size(size_t count) {
    uint32_t log_size = 0;
    while (((size_t)1 << log_size) < count || (count > 2 && 2 * count > ((size_t)1 << log_size))) log_size++;
    return log_size;
}

/* Room for n more nodes at the end while building; -1 when out of memory or of indexes (a failure recorded). */
static int reserve(Segmenter *s, size_t n) {
    if (s->n_nodes + n <= s->room) return 0;
    if (s->n_nodes + n > MAX_NODES)
        return fail(s, PyExc_ValueError, "the dictionary and user words need more than %zu trie nodes, more than the "
                    "compiled segmenter can index; set TRIAGE_SEGMENTER=rjieba", MAX_NODES);
    size_t room = s->room;
    while (room < s->n_nodes + n) room *= 2;
    if (room > MAX_NODES) room = MAX_NODES;
    Node *nodes = PyMem_RawRealloc(s->nodes, room * sizeof(Node));
    if (!nodes) return -1;
    s->nodes = s->nodes_memory = nodes;
    uint16_t *children = PyMem_RawRealloc(s->children, room * sizeof(uint16_t));
    if (!children) return -1;
    s->children = children;
    s->room = room;
    return 0;
}

/* Put node in the block of 2**log_size slots at nodes; its index there. */
static size_t place(Node *block, uint32_t log_size, Node node) {
    size_t mask = ((size_t)1 << log_size) - 1, i = block_slot(node_code(node), log_size);
    while (node_code(block[i])) i = (i + 1) & mask;
    block[i] = node;
    return i;
}

/* Move the children of nodes[at] to a new block large enough for count of them: one a move left, or
 * else one at the end. */
static int grow_block(Segmenter *s, size_t at, size_t count) {
    uint32_t log_size = block_log_size(count);
    size_t size = (size_t)1 << log_size, block = s->left[log_size];
    if (block) {
        s->left[log_size] = (size_t)s->nodes[block];
    } else {
        if (reserve(s, size) < 0) return -1;
        block = s->n_nodes;
        s->n_nodes += size;
    }
    memset(s->nodes + block, 0, size * sizeof(Node));
    s->live += size;
    Node node = s->nodes[at];
    s->children[block] = 0;
    if (node_flags(node) & HAS_CHILDREN) {
        size_t old = node_block(node), old_size = (size_t)1 << node_log_size(node);
        for (size_t k = 0; k < old_size; k++)
            if (node_code(s->nodes[old + k])) place(s->nodes + block, log_size, s->nodes[old + k]);
        s->children[block] = s->children[old];
        s->live -= old_size;
        s->nodes[old] = (Node)s->left[node_log_size(node)];
        s->left[node_log_size(node)] = old;
    }
    s->nodes[at] = with_block(node, block, log_size);
    return 0;
}

/* Index of the child of nodes[at] on code, created when missing; 0 when out of memory or of indexes. */
static size_t add_child(Segmenter *s, size_t at, uint32_t code) {
    size_t found = child_of(s, s->nodes[at], code);
    if (found) return found;
    Node node = s->nodes[at];
    int has_children = (node_flags(node) & HAS_CHILDREN) != 0;
    size_t count = has_children ? s->children[node_block(node)] + 1 : 1;
    if (!has_children || block_log_size(count) > node_log_size(node)) {
        if (grow_block(s, at, count) < 0) return 0;
        node = s->nodes[at];
    }
    s->children[node_block(node)] = (uint16_t)count; /* at most MAX_CODE: one child per code */
    return node_block(node) + place(s->nodes + node_block(node), node_log_size(node), (Node)code);
}

/* Index of the node spelling chars[0..n) (n > 0), created with its prefixes where missing; 0 when out
 * of memory, of codes or of indexes. */
static size_t insert(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    size_t at = new_code(s, chars[0]);
    if (!at) return 0;
    s->nodes[at] |= (Node)at; /* the root's child on a code sits at that index */
    for (Py_ssize_t i = 1; i < n && at; i++) {
        uint32_t code = new_code(s, chars[i]);
        at = code ? add_child(s, at, code) : 0;
    }
    return at;
}

/* The number of frequency freq, numbered now when new; -1 when out of numbers (a failure recorded) or memory. */
static int64_t freq_number(Segmenter *s, uint64_t freq) {
    size_t mask = ((size_t)1 << FREQ_HASH_BITS) - 1, i = (size_t)((freq * MULTIPLIER) >> (64 - FREQ_HASH_BITS));
    while (s->freq_slots[i] && s->freq_values[s->freq_slots[i] - 1] != freq) i = (i + 1) & mask;
    if (s->freq_slots[i]) return s->freq_slots[i] - 1;
    if (s->n_freqs == MAX_FREQS)
        return fail(s, PyExc_ValueError, "the dictionary and user words hold more than %u distinct frequencies, "
                    "more than the compiled segmenter can number; set TRIAGE_SEGMENTER=rjieba", MAX_FREQS);
    if ((s->n_freqs & (s->n_freqs - 1)) == 0) { /* 0, 1, 2, 4...: full, double the room */
        size_t room = s->n_freqs ? 2 * (size_t)s->n_freqs : 1;
        uint64_t *values = PyMem_RawRealloc(s->freq_values, room * sizeof(uint64_t));
        if (!values) return -1;
        s->freq_values = values;
        double *logs = PyMem_RawRealloc(s->log_freqs, room * sizeof(double));
        if (!logs) return -1;
        s->log_freqs = logs;
    }
    s->freq_values[s->n_freqs] = freq;
    s->log_freqs[s->n_freqs] = log((double)freq);
    s->freq_slots[i] = ++s->n_freqs;
    return s->n_freqs - 1;
}

/* The frequency of the word chars[0..n), or missing when it is not a word (jieba-rs's get_word_freq). */
static uint64_t word_freq(const Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n, uint64_t missing) {
    Node node = s->nodes[lookup(s, chars, n)];
    return node_flags(node) & IS_WORD ? s->freq_values[node_freq(node)] : missing;
}

/* Make chars[0..n) a word of frequency freq, keeping the total. */
static int set_word(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n, uint64_t freq) {
    size_t at = insert(s, chars, n);
    int64_t number = at ? freq_number(s, freq) : -1;
    if (number < 0) return -1;
    Node node = s->nodes[at];
    if (node_flags(node) & IS_WORD) s->total -= s->freq_values[node_freq(node)]; /* a repeated word keeps its last frequency */
    node &= ~((Node)0xFFFF << FREQ_SHIFT);
    s->nodes[at] = node | (Node)IS_WORD << FLAG_SHIFT | (Node)number << FREQ_SHIFT;
    s->total += freq;
    return 0;
}

/* Once every word is in: copy the blocks in use, breadth first, into one allocation just large enough
 * (the root's children, then theirs...), so that the blocks walks read most, those of the root's
 * children, lie together; drop what only building needs. On huge pages where the system offers them,
 * when the trie takes more than one: its random accesses miss the TLB less. */
static int compact(Segmenter *s) {
    size_t n = s->live - BUILD_ROOT + s->n_codes + 1, size = n * sizeof(Node);
    size_t align = size >= HUGE_PAGE ? HUGE_PAGE : 64;
    size = (size + align - 1) / align * align;
    char *memory = PyMem_RawMalloc(size + align);
    if (!memory) return -1;
    Node *nodes = (Node *)(((uintptr_t)memory + align - 1) / align * align);
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE) madvise(nodes, size, MADV_HUGEPAGE);
#endif
    memcpy(nodes, s->nodes, (s->n_codes + 1) * sizeof(Node));
    size_t end = s->n_codes + 1;
    for (size_t at = 1; at < end; at++) {
        Node node = nodes[at];
        if (!(node_flags(node) & HAS_CHILDREN)) continue;
        size_t block_size = (size_t)1 << node_log_size(node);
        memcpy(nodes + end, s->nodes + node_block(node), block_size * sizeof(Node));
        nodes[at] = with_block(node, end, node_log_size(node));
        end += block_size;
    }
    PyMem_RawFree(s->nodes_memory);
    PyMem_RawFree(s->children);
    PyMem_RawFree(s->freq_slots);
    s->children = NULL;
    s->freq_slots = NULL;
    s->nodes = nodes;
    s->nodes_memory = memory;
    s->n_nodes = s->room = end;
    return 0;
}

/* ---- the cut ----------------------------------------------------------------------------------- */

static inline int is_ascii_alnum(Py_UCS4 c) { return c < 128 && Py_ISALNUM(c); }

/* str.isalnum of one character; CJK Unified Ideographs of Unicode 1.1, all letters (Lo), without a
 * look-up in Python's tables. */
static inline int is_alnum(Py_UCS4 c) {
    if (c < 128) return Py_ISALNUM(c);
    return (c >= 0x4E00 && c <= 0x9FA5) || Py_UNICODE_ISALNUM(c);
}

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
    uint16_t *codes;   /* the codes of a run's characters */
    Py_ssize_t n_spans;
    void *block;
} Scratch;

static int scratch_alloc(Scratch *scratch, Py_ssize_t n) {
    size_t m = (size_t)n + 1;
    size_t size = m * (sizeof(Py_UCS4) + sizeof(double) + sizeof(Py_ssize_t) + sizeof(Node *) + 2 * sizeof(Py_ssize_t) +
                       sizeof(uint16_t));
    char *block = PyMem_RawMalloc(size);
    if (!block) return -1;
    scratch->block = block;
    scratch->prob = (double *)block;
    scratch->end = (Py_ssize_t *)(scratch->prob + m);
    scratch->spans = scratch->end + m;
    scratch->word = (const Node **)(scratch->spans + 2 * m);
    scratch->chars = (Py_UCS4 *)(scratch->word + m);
    scratch->codes = (uint16_t *)(scratch->chars + m);
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

/* Cut the Han run text[start..stop) along its best route (jieba-rs cut_dag_no_hmm). */
static void cut_run(const Segmenter *s, Scratch *scratch, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t stop,
                    Sink *sink) {
    const Py_UCS4 *run = text + start;
    Py_ssize_t n = stop - start;
    double *prob = scratch->prob;
    Py_ssize_t *end = scratch->end;
    const Node **word = scratch->word;
    uint16_t *codes = scratch->codes;
    const Node *nodes = s->nodes;
    const double *log_freqs = s->log_freqs;
    double log_total = s->log_total, log1 = 0.0 - log_total;

    for (Py_ssize_t k = 0; k < n; k++) codes[k] = (uint16_t)char_code(s, run[k]);
    prob[n] = 0.0;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        double best = -INFINITY;
        Py_ssize_t best_end = -1;
        const Node *best_node = NULL;
        size_t at = codes[i]; /* the root's child on a code sits at that index */
        Node node = nodes[at];
        for (Py_ssize_t j = i + 1; node_code(node); j++) {
            uint32_t flags = node_flags(node);
            if (flags & IS_WORD) {
                double p = log_freqs[node_freq(node)] - log_total + prob[j];
                if (p > best || (p == best && j > best_end)) {
                    best = p;
                    best_end = j;
                    best_node = &nodes[at];
                }
            }
            if (!(flags & HAS_CHILDREN) || j == n) break;
            at = step_in_block(nodes, node, codes[j]);
            node = nodes[at];
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
    Node node = word ? *word : s->nodes[lookup(s, text + start, end - start)];
    return (node_flags(node) & IS_STOP) != 0;
}

static void keep_content(Sink *sink, const Segmenter *s, const Py_UCS4 *text, Py_ssize_t start, Py_ssize_t end,
                         const Node *word) {
    int has_alnum = 0;
    for (Py_ssize_t i = start; i < end && !has_alnum; i++) has_alnum = is_alnum(text[i]);
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
    PyMem_RawFree(s->nodes_memory);
    PyMem_RawFree(s->children);
    PyMem_RawFree(s->bmp_codes);
    PyMem_RawFree(s->astral);
    PyMem_RawFree(s->freq_values);
    PyMem_RawFree(s->log_freqs);
    PyMem_RawFree(s->freq_slots);
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

/* Load the "word [freq [tag]]" lines of jieba's dict.txt at path (a file system path), streamed so that
 * the 5 MB file is never held whole. Runs without the GIL: -1 with a failure recorded (none when out
 * of memory). */
static int load_dictionary(Segmenter *s, const char *path) {
    FILE *file = fopen(path, "rb");
    char *line = NULL;
    size_t line_room = 0;
    Py_UCS4 *word = NULL;
    Py_ssize_t word_room = 0, number = 0, length;
    long size = -1;
    if (!file || fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 || fseek(file, 0, SEEK_SET) != 0) {
        fail_os(s);
        goto error;
    }
    /* about a slot per 5 bytes of dictionary (jieba's: 1 million for 5 MB) */
    if (reserve(s, (size_t)size / 5) < 0) goto error;
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
                fail(s, PyExc_ValueError, "line %zd: the frequency is not a whole number", number);
                goto error;
            }
            freq = freq * 10 + (uint64_t)(text[f] - '0');
        }
        if (b - a > word_room) { /* a word has at most as many code points as bytes */
            Py_UCS4 *wider = PyMem_RawRealloc(word, (size_t)(b - a) * sizeof(Py_UCS4));
            if (!wider) goto error;
            word = wider;
            word_room = b - a;
        }
        Py_ssize_t n = decode_utf8(text + a, b - a, word);
        if (n < 0) {
            fail(s, PyExc_ValueError, "line %zd: the word is not UTF-8", number);
            goto error;
        }
        if (set_word(s, word, n, freq) < 0) goto error; /* out of memory, or of codes or node ids */
    }
    if (length == -2) goto error;
    if (ferror(file)) {
        fail_os(s);
        goto error;
    }
    if (s->total == 0) {
        fail(s, PyExc_ValueError, "the dictionary holds no word with a frequency");
        goto error;
    }
    s->log_total = log((double)s->total);
    fclose(file);
    PyMem_RawFree(line);
    PyMem_RawFree(word);
    return 0;
error:
    if (file) fclose(file);
    PyMem_RawFree(line);
    PyMem_RawFree(word);
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
            if (!PyErr_Occurred()) raised_failure(s, NULL);
            Py_DECREF(sequence);
            return -1;
        }
    }
    Py_DECREF(sequence);
    return 0;
}

static int mark_stop_word(Segmenter *s, const Py_UCS4 *chars, Py_ssize_t n) {
    if (n == 0) return 0;
    size_t at = insert(s, chars, n); /* a stop word outside the dictionary adds nodes, never a word */
    if (!at) return -1;
    s->nodes[at] |= (Node)IS_STOP << FLAG_SHIFT;
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
    PyObject *dictionary, *user_words, *stop_words, *placeholders, *encoded = NULL;
    if (!PyArg_ParseTuple(args, "OOOO!:build", &dictionary, &user_words, &stop_words, &PyTuple_Type, &placeholders))
        return NULL;
    Segmenter *s = PyObject_New(Segmenter, &SegmenterType);
    if (!s) return NULL;
    memset((char *)s + sizeof(PyObject), 0, sizeof(Segmenter) - sizeof(PyObject));
    s->n_nodes = s->room = s->live = BUILD_ROOT; /* load_dictionary makes room for the blocks */
    s->nodes = s->nodes_memory = PyMem_RawCalloc(BUILD_ROOT, sizeof(Node));
    s->children = PyMem_RawMalloc(BUILD_ROOT * sizeof(uint16_t));
    s->bmp_codes = PyMem_RawCalloc(0x10000, sizeof(uint16_t));
    s->freq_slots = PyMem_RawCalloc((size_t)1 << FREQ_HASH_BITS, sizeof(uint32_t));
    if (!s->nodes || !s->children || !s->bmp_codes || !s->freq_slots) goto error;
    if (store_placeholders(s, placeholders) < 0 || !PyUnicode_FSConverter(dictionary, &encoded)) goto error;
    int loaded, compacted;
    Py_BEGIN_ALLOW_THREADS
    loaded = load_dictionary(s, PyBytes_AS_STRING(encoded));
    Py_END_ALLOW_THREADS
    if (loaded < 0) {
        raised_failure(s, dictionary);
        goto error;
    }
    if (for_each_word(s, user_words, "user words", add_user_word) < 0 ||
        for_each_word(s, stop_words, "stop words", mark_stop_word) < 0)
        goto error;
    Py_BEGIN_ALLOW_THREADS
    compacted = compact(s);
    Py_END_ALLOW_THREADS
    if (compacted < 0) goto error;
    Py_DECREF(encoded);
    return (PyObject *)s;
error:
    Py_XDECREF(encoded);
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

/*
 * triage._text: the common path of triage.text.normalize() in one pass over the code points, and the
 * text triage.pii's trigger scan reads (Keeper, at the end).
 *
 * Why: normalize() runs on every message; in Python it takes ~6 us for a message of 370 characters
 * (seven str.replace calls, the NFKC quick check, split and join, isprintable), a third of prepare().
 *
 * What each character becomes is learnt from Python (triage.text._replacement, through learn()) the
 * first time a text holds it, and kept in a table: the character itself, another string (its NFKC
 * form, e.g. full-width forms), part of a whitespace run, nothing (a dropped control or format
 * character), or "undecided" for a character whose NFKC form depends on its neighbours (combining
 * marks, conjoining jamo). normalize() reads a text once to size the result and once to write it (a
 * Chinese text of up to 2,048 characters once, into a buffer on the stack): every whitespace run
 * becomes one space, none at either end, and a dropped character does not break a run. A text holding an undecided character is left to the Python path (None), a text
 * holding characters not learnt yet returns them (a list of code points) so Python can teach them
 * and call again. Why the result is normalize()'s own: see triage.text._replacement.
 *
 * The table only ever goes from "unknown" to a fixed answer, and learn() holds the GIL, so threads
 * share it and forked workers inherit what the parent learnt.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define CODE_POINTS 0x110000
/* what a code point becomes: UNKNOWN until learnt, then one of these or FORM + the index of its form */
#define UNKNOWN 0
#define KEEP 1      /* itself */
#define SPACE 2     /* part of a whitespace run */
#define DROP 3      /* nothing */
#define UNDECIDED 4 /* depends on its neighbours: the whole text goes to the Python path */
#define FORM 5
#define MAX_FORMS (UINT16_MAX - FORM + 1)
#define POOL_SIZE 0x10000 /* code points of every form together: 6,144 for the 4,515 forms of Unicode 14 */

static uint16_t what[CODE_POINTS]; /* 2.2 MB zeroed, of which only the pages of characters met are touched */
static Py_UCS4 pool[POOL_SIZE];
static uint32_t form_start[MAX_FORMS + 1]; /* form i is pool[form_start[i] : form_start[i + 1]] */
static Py_UCS4 form_max[MAX_FORMS];        /* the largest code point of form i */
static uint32_t n_forms;

#define SPACE_CHAR ((Py_UCS4)' ')

/* The length and largest code point of the result, or -1 (undecided) or -2 (unknown code points, in
 * *unknown, a new list or NULL with an error set: -3). */
static inline __attribute__((always_inline)) Py_ssize_t measure_result(int kind, const void *data, Py_ssize_t n,
                                                                 Py_UCS4 *maxchar, PyObject **unknown) {
    Py_ssize_t length = 0;
    Py_UCS4 largest = 0;
    int space_pending = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        uint16_t becomes = what[c];
        if (becomes == SPACE) {
            space_pending = 1;
            continue;
        }
        if (becomes == DROP) continue;
        if (becomes == UNDECIDED) return -1;
        if (becomes == UNKNOWN) {
            if (!*unknown && !(*unknown = PyList_New(0))) return -3;
            PyObject *code = PyLong_FromUnsignedLong(c);
            if (!code || PyList_Append(*unknown, code) < 0) {
                Py_XDECREF(code);
                return -3;
            }
            Py_DECREF(code);
            continue;
        }
        if (space_pending && length) length++;
        space_pending = 0;
        if (becomes == KEEP) {
            length++;
            if (c > largest) largest = c;
        } else {
            uint32_t form = becomes - FORM;
            length += form_start[form + 1] - form_start[form];
            if (form_max[form] > largest) largest = form_max[form];
        }
    }
    if (*unknown) return -2;
    *maxchar = largest;
    return length;
}

static inline __attribute__((always_inline)) void write_result(int kind, const void *data, Py_ssize_t n, int out_kind,
                                                         void *out) {
    Py_ssize_t at = 0;
    int space_pending = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        uint16_t becomes = what[c];
        if (becomes == SPACE) {
            space_pending = 1;
            continue;
        }
        if (becomes == DROP) continue;
        if (space_pending && at) PyUnicode_WRITE(out_kind, out, at++, SPACE_CHAR);
        space_pending = 0;
        if (becomes == KEEP) {
            PyUnicode_WRITE(out_kind, out, at++, c);
        } else {
            uint32_t form = becomes - FORM;
            for (uint32_t j = form_start[form]; j < form_start[form + 1]; j++)
                PyUnicode_WRITE(out_kind, out, at++, pool[j]);
        }
    }
}

/* write_result() with both kinds constant, so the compiler drops PyUnicode_READ's and _WRITE's switches */
#define WRITE_INTO(in_kind, in_data)                                                         \
    do {                                                                                     \
        switch (PyUnicode_KIND(result)) {                                                    \
        case PyUnicode_1BYTE_KIND: write_result(in_kind, in_data, n, PyUnicode_1BYTE_KIND, out); break; \
        case PyUnicode_2BYTE_KIND: write_result(in_kind, in_data, n, PyUnicode_2BYTE_KIND, out); break; \
        default: write_result(in_kind, in_data, n, PyUnicode_4BYTE_KIND, out); break;               \
        }                                                                                    \
    } while (0)

/* normalize() of a text of 2-byte code points (Chinese text) in one pass, written into `out` (room for
 * `capacity`); its length, or -1 where the two passes must decide: a character not learnt yet or
 * undecided, a form beyond the BMP, or more than `capacity` code points. */
static Py_ssize_t write_ucs2(const Py_UCS2 *data, Py_ssize_t n, Py_UCS2 *out, Py_ssize_t capacity) {
    Py_ssize_t at = 0;
    int space_pending = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS2 c = data[i];
        uint16_t becomes = what[c];
        if (becomes == KEEP) {
            if (at + 2 > capacity) return -1;
            if (space_pending && at) out[at++] = (Py_UCS2)SPACE_CHAR;
            space_pending = 0;
            out[at++] = c;
        } else if (becomes == SPACE) {
            space_pending = 1;
        } else if (becomes >= FORM) {
            uint32_t form = becomes - FORM, start = form_start[form], end = form_start[form + 1];
            if (form_max[form] > 0xFFFF || at + 1 + (Py_ssize_t)(end - start) > capacity) return -1;
            if (space_pending && at) out[at++] = (Py_UCS2)SPACE_CHAR;
            space_pending = 0;
            for (uint32_t j = start; j < end; j++) out[at++] = (Py_UCS2)pool[j];
        } else if (becomes != DROP) {
            return -1;
        }
    }
    return at;
}

static PyObject *normalize(PyObject *module, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "normalize() takes a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    if (PyUnicode_READY(text) < 0) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (kind == PyUnicode_2BYTE_KIND && n <= 2048) { /* one pass; str() finds the largest code point fast */
        Py_UCS2 out[2048 + 64];
        Py_ssize_t length = write_ucs2(data, n, out, sizeof out / sizeof *out);
        if (length >= 0) return PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, out, length);
    }
    Py_UCS4 maxchar = 0;
    PyObject *unknown = NULL;
    Py_ssize_t length;
    switch (kind) {
    case PyUnicode_1BYTE_KIND: length = measure_result(PyUnicode_1BYTE_KIND, data, n, &maxchar, &unknown); break;
    case PyUnicode_2BYTE_KIND: length = measure_result(PyUnicode_2BYTE_KIND, data, n, &maxchar, &unknown); break;
    default: length = measure_result(PyUnicode_4BYTE_KIND, data, n, &maxchar, &unknown); break;
    }
    if (length == -1) {
        Py_XDECREF(unknown);
        Py_RETURN_NONE;
    }
    if (length == -2) return unknown;
    if (length == -3) {
        Py_XDECREF(unknown);
        return NULL;
    }
    if (length > 1 && maxchar < SPACE_CHAR) maxchar = SPACE_CHAR; /* room for the spaces, if any */
    PyObject *result = PyUnicode_New(length, maxchar);
    if (!result) return NULL;
    void *out = PyUnicode_DATA(result);
    switch (kind) {
    case PyUnicode_1BYTE_KIND: WRITE_INTO(PyUnicode_1BYTE_KIND, data); break;
    case PyUnicode_2BYTE_KIND: WRITE_INTO(PyUnicode_2BYTE_KIND, data); break;
    default: WRITE_INTO(PyUnicode_4BYTE_KIND, data); break;
    }
    return result;
}

static PyObject *learn(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "learn() takes 2 arguments (code_point, becomes), %zd given", nargs);
        return NULL;
    }
    unsigned long code = PyLong_AsUnsignedLong(args[0]);
    if (code == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    if (code >= CODE_POINTS) {
        PyErr_Format(PyExc_ValueError, "learn(): %lu is not a code point", code);
        return NULL;
    }
    PyObject *becomes = args[1];
    if (becomes == Py_None) {
        what[code] = UNDECIDED;
        Py_RETURN_NONE;
    }
    if (!PyUnicode_Check(becomes) || PyUnicode_READY(becomes) < 0) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "learn(): becomes must be str or None, not %.100s",
                         Py_TYPE(becomes)->tp_name);
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(becomes);
    int kind = PyUnicode_KIND(becomes);
    const void *data = PyUnicode_DATA(becomes);
    if (length == 0) {
        what[code] = DROP;
    } else if (length == 1 && PyUnicode_READ(kind, data, 0) == SPACE_CHAR) {
        what[code] = SPACE;
    } else if (length == 1 && PyUnicode_READ(kind, data, 0) == code) {
        what[code] = KEEP;
    } else {
        for (Py_ssize_t i = 0; i < length; i++) {
            if (PyUnicode_READ(kind, data, i) == SPACE_CHAR) {
                PyErr_SetString(PyExc_ValueError, "learn(): a form other than \" \" holds no space");
                return NULL;
            }
        }
        if (n_forms == MAX_FORMS || form_start[n_forms] + length > POOL_SIZE) {
            what[code] = UNDECIDED; /* full (never with Unicode's ~6,000 forms): the Python path decides */
            Py_RETURN_NONE;
        }
        Py_UCS4 largest = 0;
        uint32_t at = form_start[n_forms];
        for (Py_ssize_t i = 0; i < length; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            pool[at++] = c;
            if (c > largest) largest = c;
        }
        form_max[n_forms] = largest;
        form_start[n_forms + 1] = at;
        what[code] = (uint16_t)(FORM + n_forms++);
    }
    Py_RETURN_NONE;
}

/* A Keeper: which characters a scan reads, and for each BMP code point what to write for it, so that the
 * loop over a text has no branch on the character. The kept characters of a Chinese message are
 * scattered, and a branch on each (mispredicted at the end of every run) made the loop slower than
 * encoding the whole text; computing the UTF-8 without branches took 45 instructions a character. */
typedef struct {
    PyObject_HEAD
    PyObject *kept;          /* the bitmap it was built from (bytes): read for astral characters */
    uint32_t bmp[0x10000];   /* a kept BMP character's UTF-8, first byte lowest, and its length << 24; 0 if not kept */
} Keeper;

static PyTypeObject KeeperType;

static inline int is_kept(const unsigned char *kept, Py_UCS4 c) { return (kept[c >> 3] >> (c & 7)) & 1; }

static PyObject *Keeper_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *kept;
    if (!PyArg_ParseTuple(args, "S:Keeper", &kept)) return NULL;
    if (PyBytes_GET_SIZE(kept) != CODE_POINTS / 8) {
        PyErr_Format(PyExc_ValueError, "Keeper(): the bitmap must hold %d bytes, one bit per code point, not %zd",
                     CODE_POINTS / 8, PyBytes_GET_SIZE(kept));
        return NULL;
    }
    const unsigned char *bits = (const unsigned char *)PyBytes_AS_STRING(kept);
    if (is_kept(bits, 0)) {
        PyErr_SetString(PyExc_ValueError, "Keeper(): NUL stands for the characters not kept, it cannot be kept");
        return NULL;
    }
    Keeper *self = (Keeper *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    Py_INCREF(kept);
    self->kept = kept;
    for (uint32_t c = 0; c < 0x10000; c++) {
        uint32_t word; /* a kept surrogate is written as "surrogatepass" writes it */
        if (!is_kept(bits, c)) word = 0;
        else if (c < 0x80) word = c | 1u << 24;
        else if (c < 0x800) word = (0xC0 | (c >> 6)) | (0x80 | (c & 0x3F)) << 8 | 2u << 24;
        else word = (0xE0 | (c >> 12)) | (0x80 | ((c >> 6) & 0x3F)) << 8 | (0x80 | (c & 0x3F)) << 16 | 3u << 24;
        self->bmp[c] = word;
    }
    return (PyObject *)self;
}

static void Keeper_dealloc(PyObject *self) {
    Py_XDECREF(((Keeper *)self)->kept);
    Py_TYPE(self)->tp_free(self);
}

/* Writes what keeper keeps of data[0:n] at `at` (room for 4 * n + 4 bytes), returns the end. Each
 * character stores 4 bytes and the end moves by as many as count: its UTF-8's, or one NUL for a run of
 * characters not kept. */
static inline __attribute__((always_inline)) unsigned char *write_kept(const Keeper *keeper, int kind,
                                                                        const void *data, Py_ssize_t n,
                                                                        unsigned char *at) {
    const unsigned char *bits = (const unsigned char *)PyBytes_AS_STRING(keeper->kept);
    uint32_t in_run = 0; /* the last byte written is a NUL standing for a run */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        uint32_t word = 0;
        if (kind != PyUnicode_4BYTE_KIND || c < 0x10000) {
            word = keeper->bmp[c];
        } else if (is_kept(bits, c)) { /* astral and kept: its four bytes */
            at[0] = (unsigned char)(0xF0 | (c >> 18));
            at[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            at[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            at[3] = (unsigned char)(0x80 | (c & 0x3F));
            at += 4;
            in_run = 0;
            continue;
        }
        uint32_t length = word >> 24;
        unsigned char bytes[4] = {(unsigned char)word, (unsigned char)(word >> 8), (unsigned char)(word >> 16), 0};
        memcpy(at, bytes, 4);
        at += length + (length == 0) * (1 - in_run);
        in_run = length == 0;
    }
    return at;
}

static PyObject *Keeper_utf8(PyObject *self, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "utf8() takes a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    if (PyUnicode_READY(text) < 0) return NULL;
    const Keeper *keeper = (const Keeper *)self;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > PY_SSIZE_T_MAX / 4 - 1) return PyErr_NoMemory();
    unsigned char small[4096]; /* a message of up to 1,023 characters; longer ones on the heap */
    unsigned char *buffer = n * 4 + 4 <= (Py_ssize_t)sizeof small ? small : PyMem_Malloc(n * 4 + 4);
    if (!buffer) return PyErr_NoMemory();
    unsigned char *end;
    switch (kind) {
    case PyUnicode_1BYTE_KIND: end = write_kept(keeper, PyUnicode_1BYTE_KIND, data, n, buffer); break;
    case PyUnicode_2BYTE_KIND: end = write_kept(keeper, PyUnicode_2BYTE_KIND, data, n, buffer); break;
    default: end = write_kept(keeper, PyUnicode_4BYTE_KIND, data, n, buffer); break;
    }
    PyObject *result = PyBytes_FromStringAndSize((const char *)buffer, end - buffer);
    if (buffer != small) PyMem_Free(buffer);
    return result;
}

static PyMethodDef keeper_methods[] = {
    {"utf8", Keeper_utf8, METH_O,
     "utf8(text) -> the UTF-8 of text, each run of characters not kept written as one NUL byte"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KeeperType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "triage._text.Keeper",
    .tp_basicsize = sizeof(Keeper),
    .tp_dealloc = Keeper_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Keeper(kept): the characters whose bit is set in kept (bytes, bit c & 7 of byte c >> 3 of\n"
              "0x110000 bits), which utf8() writes; every run of others becomes one NUL. triage.pii scans\n"
              "that for its trigger words: a pattern whose matches hold only kept characters matches it\n"
              "exactly where it matches the text, and it is a quarter of the text's UTF-8.",
    .tp_methods = keeper_methods,
    .tp_new = Keeper_new,
};

static PyMethodDef methods[] = {
    {"normalize", normalize, METH_O,
     "normalize(text) -> the normalised text; None when a character of it is undecided (the Python\n"
     "path decides); the code points not learnt yet (a list, duplicates possible) when it holds any."},
    {"learn", (PyCFunction)(void (*)(void))learn, METH_FASTCALL,
     "learn(code_point, becomes): what the character becomes wherever it stands: itself, another\n"
     "string without spaces, \" \" (part of a whitespace run), \"\" (dropped), or None (undecided)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "triage._text",
    "triage.text.normalize()'s common path, and the bytes triage.pii scans, compiled.", -1, methods,
};

PyMODINIT_FUNC PyInit__text(void) {
    if (PyType_Ready(&KeeperType) < 0) return NULL;
    PyObject *created = PyModule_Create(&module);
    if (!created) return NULL;
    Py_INCREF(&KeeperType);
    if (PyModule_AddObject(created, "Keeper", (PyObject *)&KeeperType) < 0) {
        Py_DECREF(&KeeperType);
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

/*
 * The compiled segmenter's C interface (triage/_segment.c), for the featuriser (triage/_featurize.c).
 *
 * segment() returns a list of str, one per token; the featuriser only needs each token's code
 * points, which are already in the text. Through this interface it cuts a text it holds as code
 * points and reads the kept tokens as (start, end) offsets into it, with no Python object per token
 * and without the GIL. triage._segment exports the table below as the capsule SEGMENT_API_CAPSULE.
 */
#ifndef TRIAGE_SEGMENT_API_H
#define TRIAGE_SEGMENT_API_H

#include <Python.h>

#define SEGMENT_API_CAPSULE "triage._segment._api"
#define SEGMENT_API_VERSION 1

typedef struct SegmentWorkspace SegmentWorkspace; /* per-thread buffers, grown as texts need */

typedef struct {
    int version; /* SEGMENT_API_VERSION */
    /* Whether object is a Segmenter built by triage._segment.build(). GIL held. */
    int (*is_segmenter)(PyObject *object);
    /* A workspace, NULL when out of memory; free it with workspace_free. No GIL needed. */
    SegmentWorkspace *(*workspace_new)(void);
    void (*workspace_free)(SegmentWorkspace *workspace);
    /* The tokens segment() keeps of chars[0..n), as (start, end) pairs of offsets into chars in
     * *spans (held by the workspace until its next use); their number, or -1 when out of memory.
     * No GIL needed: the segmenter is read-only once built, and the caller keeps it alive. */
    Py_ssize_t (*cut)(PyObject *segmenter, SegmentWorkspace *workspace, const Py_UCS4 *chars, Py_ssize_t n,
                      const Py_ssize_t **spans);
} SegmentApi;

#endif

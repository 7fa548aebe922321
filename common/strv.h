/* strv: NULL-terminated arrays of strings (char **), the shape that
 * execv, libguestfs and our own lists use.  Each string and the array
 * are malloc'd and owned by the array; free them with strv_free or mark
 * the variable CLEANUP_STRV.  A NULL array is an empty one.
 *
 *   CLEANUP_STRV char **names = NULL;
 *
 *   if (strv_add (&names, "eth0") < 0)
 *     return -ENOMEM;
 *
 * Appends scan for the end, so they are O(n): these lists are short
 * (file names in a directory, config lines), not bulk data.
 */
#ifndef V2V_COMMON_STRV_H
#define V2V_COMMON_STRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/* The number of strings before the NULL; 0 for a NULL array. */
extern size_t strv_length (char *const *v);

/* Is S (compared with strcmp) in V? */
extern bool strv_contains (char *const *v, const char *s);

/* Append S, taking ownership of it: on failure S is freed and *V is left
 * as it was.  Returns 0 or -ENOMEM.
 */
extern int strv_push (char ***v, char *s);

/* Append a copy of S.  Returns 0 or -ENOMEM (*V unchanged). */
extern int strv_add (char ***v, const char *s);

/* Append a copy of S unless it is already there.  Returns 0 or -ENOMEM. */
extern int strv_add_unique (char ***v, const char *s);

/* Free every string, then the array.  Accepts NULL. */
/* Inline, not in strv.c: gcc 12's -fanalyzer (scripts/analyze.sh) cannot
 * follow a CLEANUP_STRV variable into an out-of-line free and reports the
 * array as uninitialised at every early return of its scope. */
static inline void
strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **s = v; *s; s++)
    free (*s);
  free (v);
}

static inline void
strv_free_cleanup (char ***p)
{
  strv_free (*p);
}

#define CLEANUP_STRV __attribute__ ((cleanup (strv_free_cleanup)))

#endif /* V2V_COMMON_STRV_H */

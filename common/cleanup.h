/* Cleanup attributes for every resource type in this tree.
 *
 * (CLEANUP_STRV is in strv.h, with the string vectors it frees.)
 *
 * Rules (after libguestfs utils/cleanups.c):
 *  - initialise every cleanup variable (to NULL or -1);
 *  - never mark a return value as cleanup: hand it on with TAKE_PTR/TAKE_FD;
 *  - do not use them in main(), where exit() skips them anyway.
 */
#ifndef V2V_COMMON_CLEANUP_H
#define V2V_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

/* Define a static inline function NAME(TYPE *p) that calls FUNC(*p) when
 * *p is not NULL.  One macro generates every cleanup helper, like
 * systemd's DEFINE_TRIVIAL_CLEANUP_FUNC, so they all accept NULL.
 * bugprone-macro-parentheses would have TYPE in parentheses, which a type
 * in a declaration cannot be.
 */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define DEFINE_CLEANUP_FUNC(type, func)                 \
  static inline void func##_cleanup (type *p)          \
  {                                                     \
    if (*p)                                             \
      func (*p);                                        \
  }
/* NOLINTEND(bugprone-macro-parentheses) */

static inline void
free_cleanup (void *p)
{
  free (*(void **) p);
}

static inline void
fd_cleanup (int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close (*fd);
    errno = saved;
  }
}

DEFINE_CLEANUP_FUNC (FILE *, fclose)

#define CLEANUP_FREE   __attribute__ ((cleanup (free_cleanup)))
#define CLEANUP_CLOSE  __attribute__ ((cleanup (fd_cleanup)))
#define CLEANUP_FCLOSE __attribute__ ((cleanup (fclose_cleanup)))

/* Take ownership away from a cleanup variable. */
#define TAKE_PTR(p)                             \
  ({                                            \
    __typeof__ (p) _taken = (p);                \
    (p) = NULL;                                 \
    _taken;                                     \
  })
#define TAKE_FD(fd)                             \
  ({                                            \
    int _taken = (fd);                          \
    (fd) = -1;                                  \
    _taken;                                     \
  })

#endif /* V2V_COMMON_CLEANUP_H */

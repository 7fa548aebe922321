#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

size_t
strv_length (char *const *v)
{
  size_t n = 0;

  if (v)
    while (v[n])
      n++;
  return n;
}

bool
strv_contains (char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

int
strv_push (char ***v, char *s)
{
  size_t n = strv_length (*v);
  char **nv;

  if (s == NULL)
    return -ENOMEM;             /* a failed strdup passed straight in */
  /* N + 2 pointers (the new one and the NULL) cannot wrap: N pointers
   * already fit in memory.
   */
  nv = reallocarray (*v, n + 2, sizeof *nv);
  if (nv == NULL) {
    free (s);
    return -ENOMEM;
  }
  nv[n] = s;
  nv[n + 1] = NULL;
  *v = nv;
  return 0;
}

int
strv_add (char ***v, const char *s)
{
  return strv_push (v, strdup (s));
}

int
strv_add_unique (char ***v, const char *s)
{
  if (strv_contains (*v, s))
    return 0;
  return strv_add (v, s);
}


#include <errno.h>
#include <string.h>

#include "string-table.h"

const char *
string_table_to_string (const char *const *table, size_t n, long v,
                        const char *unknown)
{
  if (v < 0 || (unsigned long) v >= n || table[v] == NULL)
    return unknown;
  return table[v];
}

int
string_table_from_string (const char *const *table, size_t n, const char *s)
{
  if (s == NULL)
    return -EINVAL;
  for (size_t i = 0; i < n; i++)
    if (table[i] && strcmp (table[i], s) == 0)
      return (int) i;
  return -EINVAL;
}

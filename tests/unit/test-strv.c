#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "strv.h"

Test (strv, null_is_empty)
{
  cr_assert_eq (strv_length (NULL), 0);
  cr_assert_not (strv_contains (NULL, "a"));
  strv_free (NULL);
}

Test (strv, add_copies_and_terminates)
{
  CLEANUP_STRV char **v = NULL;
  char s[] = "eth0";

  cr_assert_eq (strv_add (&v, s), 0);
  cr_assert_eq (strv_add (&v, "ens5"), 0);
  s[0] = 'X';                   /* the vector has its own copy */
  cr_assert_eq (strv_length (v), 2);
  cr_assert_str_eq (v[0], "eth0");
  cr_assert_str_eq (v[1], "ens5");
  cr_assert_null (v[2]);
}

Test (strv, push_takes_ownership)
{
  CLEANUP_STRV char **v = NULL;
  char *s = strdup ("owned");

  cr_assert_eq (strv_push (&v, s), 0);
  cr_assert_eq (v[0], s, "the pointer itself, not a copy");
  cr_assert_null (v[1]);
}

Test (strv, push_null_is_enomem_and_unchanged)
{
  CLEANUP_STRV char **v = NULL;

  cr_assert_eq (strv_add (&v, "a"), 0);
  /* What strv_push (&v, strdup (x)) sees when strdup fails. */
  cr_assert_eq (strv_push (&v, NULL), -ENOMEM);
  cr_assert_eq (strv_length (v), 1);
  cr_assert_str_eq (v[0], "a");
}

Test (strv, add_unique_skips_duplicates)
{
  CLEANUP_STRV char **v = NULL;

  cr_assert_eq (strv_add_unique (&v, "a"), 0);
  cr_assert_eq (strv_add_unique (&v, "b"), 0);
  cr_assert_eq (strv_add_unique (&v, "a"), 0);
  cr_assert_eq (strv_length (v), 2);
  cr_assert (strv_contains (v, "b"));
  cr_assert_not (strv_contains (v, "c"));
}

Test (strv, many_appends)
{
  CLEANUP_STRV char **v = NULL;
  char name[16];

  for (int i = 0; i < 1000; i++) {
    snprintf (name, sizeof name, "f%d", i);
    cr_assert_eq (strv_add (&v, name), 0);
  }
  cr_assert_eq (strv_length (v), 1000);
  cr_assert_str_eq (v[999], "f999");
  cr_assert_null (v[1000]);
}

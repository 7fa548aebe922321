#include <errno.h>

#include <criterion/criterion.h>

#include "string-table.h"

enum colour { RED, GREEN, BLUE, PURPLE, COLOUR__COUNT };

/* PURPLE is a hole: a value with no name. */
static const char *const colour_table[COLOUR__COUNT] = {
  [RED] = "red", [GREEN] = "green", [BLUE] = "blue",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (colour, enum colour, "unknown")

enum shape { CIRCLE, SQUARE };
static const char *const shape_table[] = {
  [CIRCLE] = "circle", [SQUARE] = "square",
};
DECLARE_STRING_TABLE_LOOKUP (shape, enum shape);
DEFINE_STRING_TABLE_LOOKUP (shape, enum shape, NULL)

Test (string_table, to_string)
{
  cr_assert_str_eq (colour_to_string (RED), "red");
  cr_assert_str_eq (colour_to_string (BLUE), "blue");
  cr_assert_str_eq (shape_to_string (SQUARE), "square");
}

Test (string_table, from_string)
{
  cr_assert_eq (colour_from_string ("red"), RED);
  cr_assert_eq (colour_from_string ("blue"), BLUE);
  cr_assert_eq (shape_from_string ("circle"), CIRCLE);
}

Test (string_table, round_trip)
{
  for (int c = RED; c <= BLUE; c++)
    cr_assert_eq (colour_from_string (colour_to_string (c)), c);
}

Test (string_table, unknown_value_gives_fallback)
{
  cr_assert_str_eq (colour_to_string (PURPLE), "unknown", "a hole");
  cr_assert_str_eq (colour_to_string (COLOUR__COUNT), "unknown");
  cr_assert_str_eq (colour_to_string ((enum colour) -1), "unknown");
  cr_assert_null (shape_to_string ((enum shape) 7));
}

Test (string_table, unknown_name_is_einval)
{
  cr_assert_eq (colour_from_string ("purple"), -EINVAL);
  cr_assert_eq (colour_from_string ("Red"), -EINVAL, "case-sensitive");
  cr_assert_eq (colour_from_string ("re"), -EINVAL, "no prefixes");
  cr_assert_eq (colour_from_string (""), -EINVAL);
  cr_assert_eq (colour_from_string (NULL), -EINVAL);
}

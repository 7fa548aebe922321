#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "json.h"

#define cr_assert_prefix(s, prefix)                                     \
  cr_assert_eq (strncmp ((s), (prefix), strlen (prefix)), 0,            \
                "\"%s\" does not start with \"%s\"", (s), (prefix))

static const char doc[] =
  "{\"metadata\": {\"name\": \"vm-1\", \"labels\": {\"app\": \"web\"},"
  " \"generation\": 9007199254740993, \"deleted\": null},"
  " \"spec\": {\"running\": true, \"disks\": [1, 2], \"ratio\": 1.5,"
  "  \"huge\": 18446744073709551615, \"neg\": -42}}";

static struct json_object *
parse_doc (void)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse (doc, strlen (doc), 0, &obj, &err), 0, "%s",
                err.msg);
  return obj;
}

/* Parsing. */

Test (json, parse_object)
{
  CLEANUP_JSON struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("{\"a\": 1}", 8, 0, &obj, &err), 0);
  cr_assert (json_object_is_type (obj, json_type_object));
  cr_assert_eq (json_object_object_length (obj), 1);
}

Test (json, parse_number_at_end_of_buffer)
{
  CLEANUP_JSON struct json_object *obj = NULL;

  cr_assert_eq (json_parse ("42", 2, 0, &obj, NULL), 0);
  cr_assert (json_object_is_type (obj, json_type_int));
  cr_assert_eq (json_object_get_int64 (obj), 42);
}

Test (json, parse_uses_only_len_bytes)
{
  CLEANUP_JSON struct json_object *obj = NULL;

  cr_assert_eq (json_parse ("[1]garbage", 3, 0, &obj, NULL), 0);
  cr_assert_eq (json_object_array_length (obj), 1);
}

Test (json, parse_trailing_whitespace_ok)
{
  CLEANUP_JSON struct json_object *obj = NULL;

  cr_assert_eq (json_parse ("{} \n", 4, 0, &obj, NULL), 0);
}

Test (json, parse_null_document)
{
  struct json_object *obj = (struct json_object *) 1;

  cr_assert_eq (json_parse ("null", 4, 0, &obj, NULL), 0);
  cr_assert_null (obj);
}

Test (json, parse_syntax_error_gives_offset)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("{\"a\": 1,}", 9, 0, &obj, &err), -EINVAL);
  cr_assert_eq (err.code, -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 8: unexpected character");
  cr_assert_null (obj);
}

Test (json, parse_trailing_data_is_einval)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("{} {}", 5, 0, &obj, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 3: unexpected character");
}

Test (json, parse_nul_after_value_is_einval)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("{}\0x", 4, 0, &obj, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 2: data after the JSON value");
  cr_assert_null (obj);
}

Test (json, parse_truncated_is_einval)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("{\"a\":", 5, 0, &obj, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 5: unexpected end of data");
}

Test (json, parse_empty_is_einval)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("", 0, 0, &obj, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 0: unexpected end of data");
}

Test (json, parse_single_quotes_rejected)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("['a']", 5, 0, &obj, &err), -EINVAL);
  cr_assert_prefix (err.msg, "json_parse: byte 1: ");
}

Test (json, parse_invalid_utf8_is_einval)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("\"\xff\"", 3, 0, &obj, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 1: invalid utf-8 string");
}

Test (json, parse_at_max_depth_ok)
{
  CLEANUP_JSON struct json_object *obj = NULL;

  /* Two arrays and the number: three levels. */
  cr_assert_eq (json_parse ("[[1]]", 5, 3, &obj, NULL), 0);
}

Test (json, parse_past_max_depth_is_einval)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse ("[[[1]]]", 7, 3, &obj, &err), -EINVAL);
  cr_assert_eq (err.code, -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 3: nesting too deep");
  cr_assert_null (obj);
}

Test (json, parse_default_depth_is_64)
{
  char deep[2 * 64 + 1];
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  /* 63 arrays around a number are 64 levels; 64 arrays are 65. */
  memset (deep, '[', 63);
  deep[63] = '1';
  memset (deep + 64, ']', 63);
  cr_assert_eq (json_parse (deep, 127, 0, &obj, &err), 0, "%s", err.msg);
  json_object_put (obj);
  obj = NULL;

  memset (deep, '[', 64);
  deep[64] = '1';
  memset (deep + 65, ']', 64);
  cr_assert_eq (json_parse (deep, 129, 0, &obj, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "json_parse: byte 64: nesting too deep");
}

Test (json, parse_too_large_is_e2big)
{
  struct json_object *obj = NULL;
  struct v2v_error err = { 0 };

  /* The length is checked before any byte is read. */
  cr_assert_eq (json_parse ("", (size_t) INT32_MAX + 1, 0, &obj, &err),
                -E2BIG);
  cr_assert_prefix (err.msg, "json_parse: 2147483648 bytes");
}

/* Getters. */

Test (json, get_string_nested)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  const char *s = NULL;

  cr_assert_eq (json_get_string (obj, "metadata.name", &s, NULL), 0);
  cr_assert_str_eq (s, "vm-1");
  cr_assert_eq (json_get_string (obj, "metadata.labels.app", &s, NULL), 0);
  cr_assert_str_eq (s, "web");
}

Test (json, get_missing_is_enoent)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  const char *s = "unchanged";

  cr_assert_eq (json_get_string (obj, "metadata.namespace", &s, &err),
                -ENOENT);
  cr_assert_eq (err.code, -ENOENT);
  cr_assert_str_eq (err.msg, "metadata.namespace: not found");
  cr_assert_str_eq (s, "unchanged");
}

Test (json, get_missing_parent_is_enoent)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_get_string (obj, "status.phase", &s, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "status.phase: not found");
}

Test (json, get_null_is_enoent)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_get_string (obj, "metadata.deleted", &s, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "metadata.deleted: is null");
}

Test (json, get_from_null_object_is_enoent)
{
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_get_string (NULL, "a", &s, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "a: not found");
}

Test (json, get_wrong_type_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_get_string (obj, "spec.running", &s, &err), -EINVAL);
  cr_assert_eq (err.code, -EINVAL);
  cr_assert_str_eq (err.msg, "spec.running: expected string, found boolean");
}

Test (json, get_through_non_object_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_get_string (obj, "metadata.name.first", &s, &err),
                -EINVAL);
  cr_assert_str_eq (err.msg,
                    "metadata.name.first: metadata.name is string, "
                    "not an object");
}

Test (json, get_top_level_not_object_is_einval)
{
  CLEANUP_JSON struct json_object *arr = NULL;
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_parse ("[]", 2, 0, &arr, NULL), 0);
  cr_assert_eq (json_get_string (arr, "a", &s, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "a: top level is array, not an object");
}

Test (json, get_empty_key_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  const char *s;

  cr_assert_eq (json_get_string (obj, "metadata..name", &s, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "metadata..name: empty key in path");
  cr_assert_eq (json_get_string (obj, "", &s, &err), -EINVAL);
  cr_assert_str_eq (err.msg, ": empty key in path");
}

Test (json, get_int64_large)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  int64_t i = 0;

  cr_assert_eq (json_get_int64 (obj, "metadata.generation", &i, NULL), 0);
  cr_assert_eq (i, INT64_C (9007199254740993));
}

Test (json, get_int64_negative)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  int64_t i = 0;

  cr_assert_eq (json_get_int64 (obj, "spec.neg", &i, NULL), 0);
  cr_assert_eq (i, -42);
}

Test (json, get_int64_out_of_range_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  int64_t i = 7;

  cr_assert_eq (json_get_int64 (obj, "spec.huge", &i, &err), -EINVAL);
  cr_assert_str_eq (err.msg,
                    "spec.huge: 18446744073709551615 is out of range for "
                    "int64");
  cr_assert_eq (i, 7);
}

Test (json, get_int64_of_double_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  int64_t i;

  cr_assert_eq (json_get_int64 (obj, "spec.ratio", &i, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "spec.ratio: expected int, found double");
}

Test (json, get_int64_max_is_ok)
{
  CLEANUP_JSON struct json_object *obj = NULL;
  const char *s = "{\"n\": 9223372036854775807}";
  int64_t i = 0;

  cr_assert_eq (json_parse (s, strlen (s), 0, &obj, NULL), 0);
  cr_assert_eq (json_get_int64 (obj, "n", &i, NULL), 0);
  cr_assert_eq (i, INT64_MAX);
}

Test (json, get_bool)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  bool b = false;

  cr_assert_eq (json_get_bool (obj, "spec.running", &b, NULL), 0);
  cr_assert (b);
}

Test (json, get_bool_of_string_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  bool b;

  cr_assert_eq (json_get_bool (obj, "metadata.name", &b, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "metadata.name: expected boolean, found string");
}

Test (json, get_object_is_borrowed)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct json_object *labels = NULL;
  const char *s;

  cr_assert_eq (json_get_object (obj, "metadata.labels", &labels, NULL), 0);
  cr_assert (json_object_is_type (labels, json_type_object));
  cr_assert_eq (json_get_string (labels, "app", &s, NULL), 0);
  cr_assert_str_eq (s, "web");
}

Test (json, get_object_of_array_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  struct json_object *o;

  cr_assert_eq (json_get_object (obj, "spec.disks", &o, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "spec.disks: expected object, found array");
}

Test (json, get_array)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct json_object *a = NULL;

  cr_assert_eq (json_get_array (obj, "spec.disks", &a, NULL), 0);
  cr_assert_eq (json_object_array_length (a), 2);
  cr_assert_eq (json_object_get_int (json_object_array_get_idx (a, 1)), 2);
}

Test (json, get_array_of_object_is_einval)
{
  CLEANUP_JSON struct json_object *obj = parse_doc ();
  struct v2v_error err = { 0 };
  struct json_object *a;

  cr_assert_eq (json_get_array (obj, "spec", &a, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "spec: expected array, found object");
}

Test (json, cleanup_json_accepts_null)
{
  CLEANUP_JSON struct json_object *obj = NULL;

  cr_assert_null (obj);
}

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

DEFINE_CLEANUP_FUNC (struct json_tokener *, json_tokener_free)

/* Longest single key in a path.  Paths are written in our code, not
 * read from outside, so a fixed bound is enough.
 */
#define JSON_KEY_MAX 256

int
json_parse (const void *data, size_t len, int max_depth,
            struct json_object **ret, struct v2v_error *err)
{
  __attribute__ ((cleanup (json_tokener_free_cleanup)))
    struct json_tokener *tok = NULL;
  struct json_object *obj;
  enum json_tokener_error jerr;
  size_t end;

  if (len > INT32_MAX)
    return v2v_error_set (err, -E2BIG,
                          "json_parse: %zu bytes is more than json-c takes",
                          len);
  if (max_depth <= 0)
    max_depth = JSON_MAX_DEPTH_DEFAULT;

  tok = json_tokener_new_ex (max_depth);
  if (tok == NULL)
    return v2v_error_errno (err, -ENOMEM, "json_parse");
  json_tokener_set_flags (tok,
                          JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

  obj = json_tokener_parse_ex (tok, data, (int) len);
  jerr = json_tokener_get_error (tok);
  end = json_tokener_get_parse_end (tok);
  if (jerr == json_tokener_continue) {
    /* A number or literal at the very end has no terminator of its own:
     * json-c needs a NUL to know that the input is over.
     */
    obj = json_tokener_parse_ex (tok, "", 1);
    jerr = json_tokener_get_error (tok);
    end = len;
  }
  if (jerr != json_tokener_success)
    return v2v_error_set (err, -EINVAL, "json_parse: byte %zu: %s",
                          end, json_tokener_error_desc (jerr));

  /* In strict mode json-c has consumed trailing whitespace itself and
   * rejected other characters, but it stops silently at a NUL byte.
   */
  if (end < len) {
    json_object_put (obj);
    return v2v_error_set (err, -EINVAL,
                          "json_parse: byte %zu: data after the JSON value",
                          end);
  }

  *ret = obj;
  return 0;
}

/* Walk PATH from OBJ and return the value there in *RET. */
static int
json_walk (struct json_object *obj, const char *path,
           struct json_object **ret, struct v2v_error *err)
{
  const char *p = path;

  for (;;) {
    const char *dot = strchr (p, '.');
    size_t n = dot ? (size_t) (dot - p) : strlen (p);
    char key[JSON_KEY_MAX];

    if (n == 0)
      return v2v_error_set (err, -EINVAL, "%s: empty key in path", path);
    if (n >= sizeof key)
      return v2v_error_set (err, -EINVAL, "%s: key too long", path);
    if (obj == NULL)
      return v2v_error_set (err, -ENOENT, "%s: not found", path);
    if (!json_object_is_type (obj, json_type_object)) {
      if (p == path)
        return v2v_error_set (err, -EINVAL,
                              "%s: top level is %s, not an object",
                              path,
                              json_type_to_name (json_object_get_type (obj)));
      return v2v_error_set (err, -EINVAL, "%s: %.*s is %s, not an object",
                            path, (int) (p - 1 - path), path,
                            json_type_to_name (json_object_get_type (obj)));
    }

    memcpy (key, p, n);
    key[n] = '\0';
    if (!json_object_object_get_ex (obj, key, &obj))
      return v2v_error_set (err, -ENOENT, "%s: not found", path);
    if (dot == NULL)
      break;
    p = dot + 1;
  }

  if (obj == NULL)
    return v2v_error_set (err, -ENOENT, "%s: is null", path);
  *ret = obj;
  return 0;
}

static int
json_get_typed (struct json_object *obj, const char *path, enum json_type type,
                struct json_object **ret, struct v2v_error *err)
{
  struct json_object *v = NULL;
  int r;

  r = json_walk (obj, path, &v, err);
  if (r < 0)
    return r;
  if (!json_object_is_type (v, type))
    return v2v_error_set (err, -EINVAL, "%s: expected %s, found %s",
                          path, json_type_to_name (type),
                          json_type_to_name (json_object_get_type (v)));
  *ret = v;
  return 0;
}

int
json_get_string (struct json_object *obj, const char *path,
                 const char **ret, struct v2v_error *err)
{
  struct json_object *v = NULL;
  int r;

  r = json_get_typed (obj, path, json_type_string, &v, err);
  if (r < 0)
    return r;
  *ret = json_object_get_string (v);
  return 0;
}

int
json_get_int64 (struct json_object *obj, const char *path,
                int64_t *ret, struct v2v_error *err)
{
  struct json_object *v = NULL;
  int64_t i;
  int r;

  r = json_get_typed (obj, path, json_type_int, &v, err);
  if (r < 0)
    return r;

  /* json-c keeps integers above INT64_MAX as uint64 and clamps them
   * when asked for an int64; numbers below INT64_MIN are clamped by
   * the parser and cannot be told apart.
   */
  i = json_object_get_int64 (v);
  if (i == INT64_MAX && json_object_get_uint64 (v) > (uint64_t) INT64_MAX)
    return v2v_error_set (err, -EINVAL, "%s: %s is out of range for int64",
                          path, json_object_get_string (v));
  *ret = i;
  return 0;
}

int
json_get_bool (struct json_object *obj, const char *path,
               bool *ret, struct v2v_error *err)
{
  struct json_object *v = NULL;
  int r;

  r = json_get_typed (obj, path, json_type_boolean, &v, err);
  if (r < 0)
    return r;
  *ret = json_object_get_boolean (v);
  return 0;
}

int
json_get_object (struct json_object *obj, const char *path,
                 struct json_object **ret, struct v2v_error *err)
{
  return json_get_typed (obj, path, json_type_object, ret, err);
}

int
json_get_array (struct json_object *obj, const char *path,
                struct json_object **ret, struct v2v_error *err)
{
  return json_get_typed (obj, path, json_type_array, ret, err);
}

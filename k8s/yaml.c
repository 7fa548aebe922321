/* YAML to json-c, for kubeconfig files.  libyaml's event parser builds
 * the tree; a stack holds the open mappings and sequences.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "json.h"
#include "kube.h"

#define YAML_MAX_DEPTH 64

static struct json_object *
scalar_value (const yaml_event_t *ev)
{
  const char *v = (const char *) ev->data.scalar.value;
  size_t len = ev->data.scalar.length;

  /* Only plain (unquoted) scalars are typed; "true" in quotes stays a
   * string, as YAML says.
   */
  if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    if (strcmp (v, "true") == 0 || strcmp (v, "True") == 0)
      return json_object_new_boolean (true);
    if (strcmp (v, "false") == 0 || strcmp (v, "False") == 0)
      return json_object_new_boolean (false);
    if (len == 0 || strcmp (v, "null") == 0 || strcmp (v, "~") == 0)
      return NULL;
    char *end;
    errno = 0;
    long long n = strtoll (v, &end, 10);
    if (errno == 0 && *end == '\0' && end != v)
      return json_object_new_int64 (n);
  }
  return json_object_new_string_len (v, (int) len);
}

/* Attach V to the container on top of the stack.  For a mapping, KEY
 * holds the pending key (NULL while waiting for one).
 */
static int
attach (struct json_object *top, char **key, struct json_object *v,
        struct v2v_error *err)
{
  if (json_object_is_type (top, json_type_array))
    return json_object_array_add (top, v) == 0 ? 0
      : v2v_error_set (err, -ENOMEM, "yaml: out of memory");
  if (*key == NULL) {
    if (!json_object_is_type (v, json_type_string)) {
      json_object_put (v);
      return v2v_error_set (err, -EINVAL,
                            "yaml: only string mapping keys are supported");
    }
    *key = strdup (json_object_get_string (v));
    json_object_put (v);
    return *key ? 0 : v2v_error_set (err, -ENOMEM, "yaml: out of memory");
  }
  json_object_object_add (top, *key, v);
  free (*key);
  *key = NULL;
  return 0;
}

int
kube_yaml_to_json (const char *data, size_t len, struct json_object **ret,
                   struct v2v_error *err)
{
  yaml_parser_t parser;
  struct json_object *stack[YAML_MAX_DEPTH];
  char *keys[YAML_MAX_DEPTH];
  struct json_object *root = NULL;
  int depth = 0, r = 0;
  bool done = false;

  if (!yaml_parser_initialize (&parser))
    return v2v_error_set (err, -ENOMEM, "yaml: out of memory");
  yaml_parser_set_input_string (&parser, (const unsigned char *) data, len);

  while (!done && r == 0) {
    yaml_event_t ev;
    struct json_object *v = NULL;
    bool open = false, have_value = false;

    if (!yaml_parser_parse (&parser, &ev)) {
      r = v2v_error_set (err, -EINVAL, "yaml: line %zu: %s",
                         parser.problem_mark.line + 1,
                         parser.problem ? parser.problem : "syntax error");
      break;
    }
    switch (ev.type) {
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_ALIAS_EVENT:
      r = v2v_error_set (err, -EINVAL, "yaml: line %zu: anchors and aliases "
                         "are not supported", ev.start_mark.line + 1);
      break;
    case YAML_SCALAR_EVENT:
      v = scalar_value (&ev);
      have_value = true;
      break;
    case YAML_MAPPING_START_EVENT:
      v = json_object_new_object ();
      open = have_value = true;
      break;
    case YAML_SEQUENCE_START_EVENT:
      v = json_object_new_array ();
      open = have_value = true;
      break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      /* libyaml pairs every end with a start; the check is for the
       * analyzer and for a libyaml that would not.
       */
      if (depth == 0) {
        r = v2v_error_set (err, -EINVAL, "yaml: unbalanced end of a "
                           "collection");
        break;
      }
      depth--;
      free (keys[depth]);
      if (depth == 0)
        done = true;
      break;
    default:
      break;
    }
    yaml_event_delete (&ev);
    if (r < 0 || !have_value)
      continue;

    if (depth == 0) {
      if (root == NULL)
        root = v;
      else
        json_object_put (v);
      if (!open)
        done = true;
    }
    else if ((r = attach (stack[depth - 1], &keys[depth - 1],
                          open ? json_object_get (v) : v, err)) < 0) {
      if (open)
        json_object_put (v);
      break;
    }
    if (open) {
      if (depth == YAML_MAX_DEPTH) {
        if (root != v)
          json_object_put (v);
        r = v2v_error_set (err, -EINVAL, "yaml: nested more than %d deep",
                           YAML_MAX_DEPTH);
        break;
      }
      /* The stack holds borrowed pointers: the tree owns each one. */
      if (root != v)
        json_object_put (v);
      stack[depth] = v;
      keys[depth] = NULL;
      depth++;
    }
  }
  while (depth > 0)
    free (keys[--depth]);
  yaml_parser_delete (&parser);
  if (r < 0) {
    json_object_put (root);
    return r;
  }
  *ret = root;
  return 0;
}

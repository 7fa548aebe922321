#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "health.h"

int
health_report_check (struct json_object *report, struct v2v_error *err)
{
  struct json_object *v, *status, *problems;
  const char *s;

  if (!json_object_is_type (report, json_type_object))
    return v2v_error_set (err, -EBADMSG, "health line: not a JSON object");
  if (!json_object_object_get_ex (report, "version", &v) ||
      !json_object_is_type (v, json_type_int) ||
      json_object_get_int (v) != HEALTH_VERSION)
    return v2v_error_set (err, -EBADMSG, "health line: \"version\" is not %d",
                          HEALTH_VERSION);
  if (!json_object_object_get_ex (report, "status", &status) ||
      !json_object_is_type (status, json_type_string))
    return v2v_error_set (err, -EBADMSG, "health line: no \"status\"");
  s = json_object_get_string (status);
  if (strcmp (s, "healthy") != 0 && strcmp (s, "unhealthy") != 0)
    return v2v_error_set (err, -EBADMSG, "health line: status \"%.64s\" is "
                          "neither healthy nor unhealthy", s);
  if (!json_object_object_get_ex (report, "problems", &problems) ||
      !json_object_is_type (problems, json_type_array))
    return v2v_error_set (err, -EBADMSG, "health line: no \"problems\" list");
  for (size_t i = 0; i < json_object_array_length (problems); i++)
    if (!json_object_is_type (json_object_array_get_idx (problems, i),
                              json_type_string))
      return v2v_error_set (err, -EBADMSG, "health line: problem %zu is not "
                            "a string", i);
  if ((json_object_array_length (problems) == 0) != (strcmp (s, "healthy") == 0))
    return v2v_error_set (err, -EBADMSG, "health line: status %s with %zu "
                          "problems", s, json_object_array_length (problems));
  return 0;
}

bool
health_report_healthy (struct json_object *report)
{
  struct json_object *status;

  return json_object_object_get_ex (report, "status", &status) &&
    strcmp (json_object_get_string (status), "healthy") == 0;
}

void
health_report_problems (struct json_object *report, char *buf, size_t len)
{
  struct json_object *problems;
  size_t n = 0;

  if (len == 0)
    return;
  buf[0] = '\0';
  if (!json_object_object_get_ex (report, "problems", &problems))
    return;
  for (size_t i = 0; i < json_object_array_length (problems) && n < len; i++) {
    int w = snprintf (buf + n, len - n, "%s%s", i ? "; " : "",
                      json_object_get_string
                        (json_object_array_get_idx (problems, i)));
    if (w < 0)
      break;
    n += (size_t) w;
  }
}

/* The JSON of one line: from the '{' after the prefix to the end of
 * line, trailing blanks and \r dropped.  0 and *RET, or -EBADMSG. */
static int
parse_line (const char *json, size_t len, struct json_object **ret,
            struct v2v_error *err)
{
  struct json_tokener *tok;
  struct json_object *o;
  enum json_tokener_error jerr;
  int r;

  while (len > 0 && (json[len - 1] == '\r' || json[len - 1] == ' ' ||
                     json[len - 1] == '\t'))
    len--;
  if (len > 1024 * 1024)
    return v2v_error_set (err, -EBADMSG, "health line: longer than 1 MiB");
  tok = json_tokener_new ();
  if (tok == NULL)
    return v2v_error_set (err, -ENOMEM, "health line");
  o = json_tokener_parse_ex (tok, json, (int) len);
  jerr = json_tokener_get_error (tok);
  if (o && jerr == json_tokener_success &&
      json_tokener_get_parse_end (tok) != len) {
    json_object_put (o);
    o = NULL;
    jerr = json_tokener_error_parse_unexpected;
  }
  json_tokener_free (tok);
  if (o == NULL)
    return v2v_error_set (err, -EBADMSG, "health line: %s",
                          jerr == json_tokener_continue
                          ? "the JSON is cut short"
                          : json_tokener_error_desc (jerr));
  if ((r = health_report_check (o, err)) < 0) {
    json_object_put (o);
    return r;
  }
  *ret = o;
  return 0;
}

int
health_line_find (const char *text, size_t len, struct json_object **ret,
                  struct v2v_error *err)
{
  static const char marker[] = HEALTH_LINE_PREFIX "{";
  const size_t mlen = sizeof marker - 1;
  bool seen = false;

  for (size_t i = 0; i + mlen <= len; i++) {
    const char *p = text + i, *eol;
    if (memcmp (p, marker, mlen) != 0)
      continue;
    eol = memchr (p, '\n', len - i);
    if (eol == NULL)
      break;                    /* the last line is not complete yet */
    seen = true;
    if (parse_line (p + mlen - 1, (size_t) (eol - p) - (mlen - 1), ret,
                    err) == 0)
      return 1;
    i = (size_t) (eol - text);
  }
  return seen ? -EBADMSG : 0;
}

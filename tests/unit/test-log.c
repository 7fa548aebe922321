#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "log.h"

/* Everything written to stderr between capture_begin and capture_end. */
struct capture {
  FILE *tmp;
  int saved_fd;
};

static void
capture_begin (struct capture *c)
{
  fflush (stderr);
  c->tmp = tmpfile ();
  cr_assert_not_null (c->tmp);
  c->saved_fd = dup (STDERR_FILENO);
  cr_assert_geq (c->saved_fd, 0);
  cr_assert_geq (dup2 (fileno (c->tmp), STDERR_FILENO), 0);
}

/* Returns the captured text; the caller frees it. */
static char *
capture_end (struct capture *c)
{
  char *s;
  long len;

  fflush (stderr);
  dup2 (c->saved_fd, STDERR_FILENO);
  close (c->saved_fd);
  fseek (c->tmp, 0, SEEK_END);
  len = ftell (c->tmp);
  rewind (c->tmp);
  s = calloc (1, (size_t) len + 1);
  cr_assert_not_null (s);
  cr_assert_eq (fread (s, 1, (size_t) len, c->tmp), (size_t) len);
  fclose (c->tmp);
  return s;
}

/* Parse one JSON record that must be exactly one line. */
static struct json_object *
parse_line (const char *out)
{
  size_t len = strlen (out);
  struct json_object *obj;

  cr_assert_gt (len, 0);
  cr_assert_eq (out[len - 1], '\n', "record does not end in a newline");
  cr_assert_eq (strchr (out, '\n'), out + len - 1, "more than one line");
  obj = json_tokener_parse (out);
  cr_assert_not_null (obj, "not JSON: %s", out);
  return obj;
}

static const char *
field (struct json_object *obj, const char *key)
{
  struct json_object *v;

  cr_assert (json_object_object_get_ex (obj, key, &v), "no %s field", key);
  cr_assert (json_object_is_type (v, json_type_string));
  return json_object_get_string (v);
}

Test (log, escape_quote_and_backslash)
{
  char out[64];

  cr_assert_eq (log_json_escape (out, sizeof out, "a\"b\\c"), 7);
  cr_assert_str_eq (out, "a\\\"b\\\\c");
}

Test (log, escape_newline_tab_cr)
{
  char out[64];

  log_json_escape (out, sizeof out, "a\nb\tc\r");
  cr_assert_str_eq (out, "a\\nb\\tc\\r");
}

Test (log, escape_control_chars_as_unicode)
{
  char out[64];

  log_json_escape (out, sizeof out, "\x01x\x1f");
  cr_assert_str_eq (out, "\\u0001x\\u001f");
}

Test (log, escape_truncates_without_splitting_an_escape)
{
  char out[4];

  cr_assert_eq (log_json_escape (out, sizeof out, "ab\"cd"), 2);
  cr_assert_str_eq (out, "ab");
}

Test (log, escape_truncates_plain_text_and_terminates)
{
  char out[4];

  cr_assert_eq (log_json_escape (out, sizeof out, "abcdef"), 3);
  cr_assert_str_eq (out, "abc");
}

Test (log, escape_zero_length_output)
{
  char out[1] = { 'z' };

  cr_assert_eq (log_json_escape (out, 0, "abc"), 0);
  cr_assert_eq (out[0], 'z');
}

Test (log, escape_round_trips_through_json_c)
{
  char in[40], esc[256], doc[260];
  struct json_object *obj;
  size_t n = 0;

  for (int c = 1; c < 0x20; c++)
    in[n++] = (char) c;
  in[n++] = '"';
  in[n++] = '\\';
  in[n] = '\0';
  log_json_escape (esc, sizeof esc, in);
  snprintf (doc, sizeof doc, "\"%s\"", esc);
  obj = json_tokener_parse (doc);
  cr_assert_not_null (obj);
  cr_assert_str_eq (json_object_get_string (obj), in);
  json_object_put (obj);
}

Test (log, json_record_has_time_level_phase_msg)
{
  struct capture c;
  struct json_object *obj;
  regex_t re;
  char *out;

  log_init (LOG_DEBUG);
  log_set_json (true);
  log_set_phase ("copy");
  capture_begin (&c);
  log_info ("disk %d of %d: \"%s\"\n", 1, 2, "vda");
  out = capture_end (&c);

  obj = parse_line (out);
  cr_assert_eq (json_object_object_length (obj), 4);
  cr_assert_str_eq (field (obj, "level"), "info");
  cr_assert_str_eq (field (obj, "phase"), "copy");
  cr_assert_str_eq (field (obj, "msg"), "disk 1 of 2: \"vda\"\n");
  cr_assert_eq (regcomp (&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                         "[0-9]{2}\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB), 0);
  cr_assert_eq (regexec (&re, field (obj, "time"), 0, NULL, 0), 0,
                "time is %s", field (obj, "time"));
  regfree (&re);
  json_object_put (obj);
  free (out);
}

Test (log, json_level_names)
{
  const char *want[] = { "debug", "info", "warning", "error" };
  enum log_level levels[] = { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

  log_init (LOG_DEBUG);
  log_set_json (true);
  for (size_t i = 0; i < 4; i++) {
    struct capture c;
    struct json_object *obj;
    char *out;

    capture_begin (&c);
    log_msg (levels[i], "m");
    out = capture_end (&c);
    obj = parse_line (out);
    cr_assert_str_eq (field (obj, "level"), want[i]);
    json_object_put (obj);
    free (out);
  }
}

Test (log, json_phase_empty_when_unset)
{
  struct capture c;
  struct json_object *obj;
  char *out;

  log_init (LOG_INFO);
  log_set_json (true);
  capture_begin (&c);
  log_error ("boom");
  out = capture_end (&c);
  obj = parse_line (out);
  cr_assert_str_eq (field (obj, "phase"), "");
  cr_assert_str_eq (field (obj, "msg"), "boom");
  json_object_put (obj);
  free (out);
}

Test (log, json_long_message_truncated_but_valid)
{
  struct capture c;
  struct json_object *obj;
  char big[6000], *out;
  const char *msg;

  memset (big, '"', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  log_init (LOG_INFO);
  log_set_json (true);
  capture_begin (&c);
  log_info ("%s", big);
  out = capture_end (&c);
  obj = parse_line (out);
  msg = field (obj, "msg");
  cr_assert_gt (strlen (msg), 1000);
  cr_assert_lt (strlen (msg), sizeof big - 1);
  cr_assert_eq (strspn (msg, "\""), strlen (msg));
  json_object_put (obj);
  free (out);
}

Test (log, below_level_is_dropped)
{
  struct capture c;
  char *out;

  log_init (LOG_WARN);
  log_set_json (true);
  capture_begin (&c);
  log_info ("hidden");
  log_debug ("hidden");
  out = capture_end (&c);
  cr_assert_str_eq (out, "");
  free (out);
}

Test (log, text_format)
{
  struct capture c;
  char *out;

  log_init (LOG_INFO);
  log_set_json (false);
  capture_begin (&c);
  log_info ("copying %s", "vda");
  log_warn ("slow");
  log_error ("failed");
  out = capture_end (&c);
  cr_assert_str_eq (out,
                    "v2v: copying vda\n"
                    "v2v: warning: slow\n"
                    "v2v: error: failed\n");
  free (out);
}

Test (log, env_forces_json)
{
  setenv ("V2V_LOG_FORMAT", "json", 1);
  log_init (LOG_INFO);
  cr_assert (log_is_json ());
}

Test (log, env_forces_text)
{
  setenv ("V2V_LOG_FORMAT", "text", 1);
  log_init (LOG_INFO);
  cr_assert_not (log_is_json ());
}

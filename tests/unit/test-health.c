/* common/health.c: finding and checking the probe's health line in
 * console output. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "health.h"
#include "json.h"

#define cr_assert_prefix(s, prefix)                                     \
  cr_assert_eq (strncmp ((s), (prefix), strlen (prefix)), 0,            \
                "\"%s\" does not start with \"%s\"", (s), (prefix))

#define HEALTHY "{\"version\":1,\"probe\":\"linux\",\"status\":\"healthy\"," \
  "\"problems\":[],\"nics\":[{\"name\":\"enp1s0\",\"ipv4\":[\"10.0.2.15\"]}]}"
#define UNHEALTHY "{\"version\":1,\"status\":\"unhealthy\",\"problems\":" \
  "[\"failed units: a.service\",\"no default route\"]}"

static int
find (const char *text, struct json_object **ret, struct v2v_error *err)
{
  return health_line_find (text, strlen (text), ret, err);
}

Test (health, found_among_console_noise)
{
  /* Firmware NULs, kernel messages, the line after a prompt, \r\n. */
  static const char text[] =
    "SeaBIOS\0\0 (version 1.16)\r\n[    1.2] Run /init\r\n"
    "Debian GNU/Linux 12 fixture ttyS0\r\n\r\nfixture login: "
    "V2V-HEALTH " HEALTHY "\r\n";
  CLEANUP_JSON struct json_object *h = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (health_line_find (text, sizeof text - 1, &h, &err), 1,
                "%s", err.msg);
  cr_assert (health_report_healthy (h));
  cr_assert_str_eq (json_object_get_string
                    (json_object_array_get_idx (json_object_object_get
                      (json_object_array_get_idx
                        (json_object_object_get (h, "nics"), 0), "ipv4"), 0)),
                    "10.0.2.15");
}

Test (health, incomplete_line_is_not_yet_a_report)
{
  struct json_object *h = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (find ("boot\nV2V-HEALTH " HEALTHY, &h, &err), 0);
  cr_assert_null (h);
  cr_assert_eq (find ("no line at all\n", &h, &err), 0);
}

Test (health, kernel_log_copy_cut_short_then_whole_line)
{
  /* The kernel log's copy (timestamped, cut) comes first on the console. */
  static const char text[] =
    "[   20.1] V2V-HEALTH {\"version\":1,\"status\":\"unhea\n"
    "V2V-HEALTH " UNHEALTHY "\n";
  CLEANUP_JSON struct json_object *h = NULL;
  struct v2v_error err = { 0 };
  char problems[256];

  cr_assert_eq (find (text, &h, &err), 1, "%s", err.msg);
  cr_assert_not (health_report_healthy (h));
  health_report_problems (h, problems, sizeof problems);
  cr_assert_str_eq (problems, "failed units: a.service; no default route");
}

Test (health, only_bad_lines)
{
  struct json_object *h = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (find ("V2V-HEALTH {\"version\":1,\"sta\n", &h, &err),
                -EBADMSG);
  cr_assert_prefix (err.msg, "health line: the JSON is cut short");
  cr_assert_eq (find ("V2V-HEALTH {\"version\":2,\"status\":\"healthy\","
                      "\"problems\":[]}\n", &h, &err), -EBADMSG);
  cr_assert_str_eq (err.msg, "health line: \"version\" is not 1");
  cr_assert_eq (find ("V2V-HEALTH {\"version\":1,\"status\":\"fine\","
                      "\"problems\":[]}\n", &h, &err), -EBADMSG);
  cr_assert_prefix (err.msg, "health line: status \"fine\"");
  cr_assert_eq (find ("V2V-HEALTH {\"version\":1,\"status\":\"healthy\","
                      "\"problems\":[\"x\"]}\n", &h, &err), -EBADMSG);
  cr_assert_str_eq (err.msg, "health line: status healthy with 1 problems");
  cr_assert_eq (find ("V2V-HEALTH {\"version\":1,\"status\":\"unhealthy\","
                      "\"problems\":[3]}\n", &h, &err), -EBADMSG);
  cr_assert_str_eq (err.msg, "health line: problem 0 is not a string");
  cr_assert_eq (find ("V2V-HEALTH {\"version\":1} trailing\n", &h, &err),
                -EBADMSG);
  cr_assert_null (h);
}

Test (health, problems_truncated_safely)
{
  CLEANUP_JSON struct json_object *h = NULL;
  struct v2v_error err = { 0 };
  char small[10];

  cr_assert_eq (find ("V2V-HEALTH " UNHEALTHY "\n", &h, &err), 1);
  health_report_problems (h, small, sizeof small);
  cr_assert_str_eq (small, "failed un");
}

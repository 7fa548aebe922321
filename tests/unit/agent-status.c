/* agent/status.c: phases, progress, warnings, the status JSON, the
 * termination message's size bound, metrics and the inspection XML.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "json.h"
#include "status.h"

/* A convert report cut down to what the status reads, with a product
 * name that must be escaped in XML.
 */
static const char report_text[] =
  "{ \"status\": \"converted\","
  "  \"guest\": { \"root\": \"/dev/sda1\", \"type\": \"linux\","
  "    \"distro\": \"debian\", \"product\": \"Debian <&> \\\"12\\\" 'x'\","
  "    \"major_version\": 12, \"minor_version\": 0, \"arch\": \"x86_64\","
  "    \"package_format\": \"deb\", \"firmware\": \"bios\","
  "    \"fstab\": [ { \"spec\": \"/dev/xvda1\", \"mountpoint\": \"/\","
  "                   \"resolved\": \"/dev/sda1\" },"
  "                 { \"spec\": \"/dev/xvdb\", \"mountpoint\": \"/mnt\","
  "                   \"resolved\": null } ] },"
  "  \"kubevirt_hints\": { \"firmware\": \"bios\", \"diskBus\": \"virtio\" },"
  "  \"disks\": [ { \"index\": 0, \"size\": 3221225472 } ],"
  "  \"warnings\": [ \"from the report\" ] }";

static struct json_object *
parse (const char *s, size_t len)
{
  struct json_object *o = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse (s, len, 0, &o, &err), 0, "%s in %s", err.msg, s);
  return o;
}

static struct json_object *
report (void)
{
  return parse (report_text, strlen (report_text));
}

static const char *
str (struct json_object *o, const char *path)
{
  const char *s = NULL;

  cr_assert_eq (json_get_string (o, path, &s, NULL), 0, "%s missing", path);
  return s;
}

Test (status, names)
{
  cr_assert_str_eq (agent_phase_to_string (AGENT_PHASE_DEVICES), "devices");
  cr_assert_str_eq (agent_phase_to_string (AGENT_PHASE_DONE), "done");
  cr_assert_str_eq (agent_outcome_to_string (AGENT_OUTCOME_RUNNING),
                    "Running");
  cr_assert_str_eq (agent_outcome_to_string (AGENT_OUTCOME_DEVICE_ERROR),
                    "DeviceError");
  cr_assert_str_eq (agent_phase_to_string (AGENT_PHASE__COUNT), "unknown");
  cr_assert_str_eq (agent_outcome_to_string (AGENT_OUTCOME__COUNT),
                    "Unknown");
  cr_assert_eq (agent_outcome_from_string ("Refused"), AGENT_OUTCOME_REFUSED);
  cr_assert_eq (agent_phase_from_string ("commit"), AGENT_PHASE_COMMIT);
}

Test (status, floors_rise_to_done)
{
  int prev = -1;

  for (int p = 0; p < AGENT_PHASE__COUNT; p++) {
    cr_assert_gt (agent_phase_floor (p), prev);
    prev = agent_phase_floor (p);
  }
  cr_assert_eq (agent_phase_floor (AGENT_PHASE_STARTING), 0);
  cr_assert_eq (agent_phase_floor (AGENT_PHASE_CONVERT), 30);
  cr_assert_eq (agent_phase_floor (AGENT_PHASE_DONE), 100);
}

Test (status, set_phase_raises_progress_to_floor)
{
  struct agent_status *st = agent_status_new ();

  cr_assert_eq (agent_status_phase (st), AGENT_PHASE_STARTING);
  agent_status_set_phase (st, AGENT_PHASE_INSPECT);
  cr_assert_eq (agent_status_phase (st), AGENT_PHASE_INSPECT);
  struct json_object *j = agent_status_to_json (st);
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "progress")),
                10);
  cr_assert_str_eq (str (j, "phase"), "inspect");
  json_object_put (j);
  agent_status_free (st);
}

Test (status, progress_never_goes_back)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *j;

  agent_status_set_phase (st, AGENT_PHASE_CONVERT);
  agent_status_set_progress (st, 50);
  agent_status_set_progress (st, 40);
  /* An earlier phase (a retry) does not lower it either. */
  agent_status_set_phase (st, AGENT_PHASE_DEVICES);
  agent_status_set_progress (st, 500);
  j = agent_status_to_json (st);
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "progress")),
                100);
  json_object_put (j);
  agent_status_free (st);

  st = agent_status_new ();
  agent_status_set_phase (st, AGENT_PHASE_CONVERT);
  agent_status_set_progress (st, 50);
  agent_status_set_progress (st, 40);
  j = agent_status_to_json (st);
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "progress")),
                50);
  json_object_put (j);
  agent_status_free (st);
}

Test (status, warnings_are_kept_once)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *w, *r = report ();

  agent_status_add_warning (st, "a");
  agent_status_add_warning (st, "b");
  agent_status_add_warning (st, "a");
  cr_assert_eq (agent_status_set_report (st, r, NULL), 0);
  cr_assert_eq (agent_status_set_report (st, r, NULL), 0);
  json_object_put (r);
  w = agent_status_warnings_json (st);
  cr_assert_eq (json_object_array_length (w), 3);
  cr_assert_str_eq (json_object_get_string (json_object_array_get_idx (w, 0)),
                    "a");
  cr_assert_str_eq (json_object_get_string (json_object_array_get_idx (w, 2)),
                    "from the report");
  json_object_put (w);
  agent_status_free (st);
}

Test (status, to_json_before_and_after_the_end)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *j, *v, *r = report ();
  static const char *const keys[] = {
    "phase", "progress", "message", "outcome", "reason", "exitCode",
    "accelerator", "guest", "kubevirtHints", "warnings", "phaseSeconds",
    "startTime", "endTime",
  };

  j = agent_status_to_json (st);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    cr_assert (json_object_object_get_ex (j, keys[i], NULL), "%s", keys[i]);
  cr_assert_str_eq (str (j, "outcome"), "Running");
  cr_assert_null (json_object_object_get (j, "guest"));
  cr_assert_null (json_object_object_get (j, "endTime"));
  cr_assert_null (json_object_object_get (j, "exitCode"));
  /* RFC 3339 UTC: 2024-01-02T03:04:05Z */
  cr_assert_eq (strlen (str (j, "startTime")), 20);
  cr_assert_eq (str (j, "startTime")[19], 'Z');
  json_object_put (j);

  agent_status_set_accel (st, "kvm");
  agent_status_set_phase (st, AGENT_PHASE_DEVICES);
  usleep (20000);
  agent_status_set_phase (st, AGENT_PHASE_INSPECT);
  cr_assert_eq (agent_status_set_report (st, r, NULL), 0);
  json_object_put (r);
  agent_status_set_message (st, "rebuilding the initramfs");
  agent_status_finish (st, AGENT_OUTCOME_SUCCEEDED, NULL, 0, "converted");

  j = agent_status_to_json (st);
  cr_assert_str_eq (str (j, "phase"), "done");
  cr_assert_str_eq (str (j, "outcome"), "Succeeded");
  cr_assert_str_eq (str (j, "message"), "converted");
  cr_assert_str_eq (str (j, "accelerator"), "kvm");
  cr_assert_str_eq (str (j, "guest.distro"), "debian");
  cr_assert_str_eq (str (j, "kubevirtHints.diskBus"), "virtio");
  cr_assert_str_eq (str (j, "endTime") + 19, "Z");
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "exitCode")),
                0);
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "progress")),
                100);
  cr_assert (json_object_object_get_ex (j, "phaseSeconds", &v));
  cr_assert_geq (json_object_get_double (json_object_object_get (v, "devices")),
                 0.015);
  cr_assert (json_object_object_get_ex (v, "inspect", NULL));
  cr_assert_not (json_object_object_get_ex (v, "convert", NULL));
  cr_assert_not (json_object_object_get_ex (v, "done", NULL));
  json_object_put (j);
  agent_status_free (st);
}

Test (status, failure_keeps_the_phase_and_first_end_wins)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *j;

  agent_status_set_phase (st, AGENT_PHASE_CONVERT);
  agent_status_finish (st, AGENT_OUTCOME_REFUSED, "NoOperatingSystem", 4,
                       "no operating system");
  agent_status_finish (st, AGENT_OUTCOME_CANCELLED, "Cancelled", 1, "late");
  agent_status_set_phase (st, AGENT_PHASE_COMMIT);
  cr_assert_eq (agent_status_outcome (st), AGENT_OUTCOME_REFUSED);
  j = agent_status_to_json (st);
  cr_assert_str_eq (str (j, "phase"), "convert");
  cr_assert_str_eq (str (j, "reason"), "NoOperatingSystem");
  cr_assert_str_eq (str (j, "message"), "no operating system");
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "exitCode")),
                4);
  cr_assert_eq (json_object_get_int (json_object_object_get (j, "progress")),
                30);
  json_object_put (j);
  agent_status_free (st);
}

/* A run that ended with a report, NWARN distinct warnings of WLEN bytes
 * and a message of MLEN bytes.
 */
static struct agent_status *
big_status (size_t nwarn, size_t wlen, size_t mlen)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *r = report ();
  char *w = malloc (wlen + 32), *m = malloc (mlen + 1);

  cr_assert_eq (agent_status_set_report (st, r, NULL), 0);
  json_object_put (r);
  for (size_t i = 0; i < nwarn; i++) {
    int n = snprintf (w, wlen + 32, "%zu ", i);
    memset (w + n, 'w', wlen);
    w[n + wlen] = '\0';
    agent_status_add_warning (st, w);
  }
  /* Quotes and a multi-byte character, so escaping and cutting count. */
  for (size_t i = 0; i + 2 <= mlen; i += 2)
    memcpy (m + i, i % 10 == 0 ? "\xc3\xa9" : "\"m", 2);
  m[mlen & ~(size_t) 1] = '\0';
  agent_status_finish (st, AGENT_OUTCOME_FAILED, "StepFailed", 11, m);
  free (w);
  free (m);
  return st;
}

static struct json_object *
termination (struct agent_status *st, size_t max)
{
  struct buf b;
  struct json_object *o;

  buf_init (&b, 1 << 20);
  cr_assert_eq (agent_status_termination_message (st, max, &b), 0);
  cr_assert_leq (b.len, max, "%zu > %zu", b.len, max);
  o = parse (b.data, b.len);
  buf_free (&b);
  return o;
}

Test (status, termination_message_fits_as_is)
{
  struct agent_status *st = big_status (3, 10, 20);
  struct json_object *o = termination (st, 4096);

  cr_assert_str_eq (str (o, "outcome"), "Failed");
  cr_assert_str_eq (str (o, "reason"), "StepFailed");
  cr_assert_str_eq (str (o, "guest.version"), "12.0");
  cr_assert_str_eq (str (o, "guest.product"), "Debian <&> \"12\" 'x'");
  cr_assert_str_eq (str (o, "kubevirtHints.firmware"), "bios");
  cr_assert_eq (json_object_array_length (json_object_object_get
                                          (o, "warnings")), 4);
  cr_assert_not (json_object_object_get_ex (o, "warningsDropped", NULL));
  json_object_put (o);
  agent_status_free (st);
}

Test (status, termination_message_drops_warnings_first)
{
  struct agent_status *st = big_status (900, 200, 100);
  struct json_object *o = termination (st, 4096);
  size_t kept = json_object_array_length (json_object_object_get
                                          (o, "warnings"));

  cr_assert_gt (kept, 0);
  cr_assert_lt (kept, 901);
  cr_assert_eq (json_object_get_int (json_object_object_get
                                     (o, "warningsDropped")),
                901 - (int) kept);
  /* The first ones stay. */
  cr_assert_str_eq (json_object_get_string
                    (json_object_array_get_idx (o ? json_object_object_get
                                                (o, "warnings") : NULL, 0)),
                    "from the report");
  cr_assert_str_eq (str (o, "guest.distro"), "debian");
  json_object_put (o);
  agent_status_free (st);
}

Test (status, termination_message_cuts_a_huge_message)
{
  struct agent_status *st = big_status (50, 100, 100000);
  struct json_object *o = termination (st, 4096);
  const char *m = str (o, "message");

  cr_assert_eq (json_object_array_length (json_object_object_get
                                          (o, "warnings")), 0);
  cr_assert_null (json_object_object_get (o, "guest"));
  cr_assert_gt (strlen (m), 1000);
  cr_assert_str_eq (m + strlen (m) - 3, "...");
  cr_assert_str_eq (str (o, "outcome"), "Failed");
  json_object_put (o);
  agent_status_free (st);
}

Test (status, termination_message_tiny_max_is_still_json)
{
  static const size_t maxes[] = { 256, 100, 40 };

  for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
    struct agent_status *st = big_status (50, 100, 100000);
    struct json_object *o = termination (st, maxes[i]);

    cr_assert_str_eq (str (o, "outcome"), "Failed");
    cr_assert_eq (json_object_get_int (json_object_object_get
                                       (o, "exitCode")), 11);
    json_object_put (o);
    agent_status_free (st);
  }
}

Test (status, termination_message_too_small_is_enospc)
{
  struct agent_status *st = big_status (1, 1, 1);
  struct buf b;

  buf_init (&b, 1 << 20);
  cr_assert_eq (agent_status_termination_message (st, 10, &b), -ENOSPC);
  cr_assert_eq (b.len, 0);
  buf_free (&b);
  agent_status_free (st);
}

Test (status, metrics_have_every_family)
{
  struct agent_status *st = agent_status_new ();
  struct buf b;

  agent_status_set_accel (st, "kvm\"\n\\");
  agent_status_set_phase (st, AGENT_PHASE_PROBE);
  agent_status_add_warning (st, "w");
  agent_status_finish (st, AGENT_OUTCOME_DEVICE_ERROR, "NoDisks", 3, "x");
  buf_init (&b, 1 << 20);
  cr_assert_eq (agent_status_metrics (st, &b), 0);
  cr_assert_not_null (strstr (b.data, "# TYPE v2v_agent_phase gauge\n"));
  cr_assert_not_null (strstr (b.data, "v2v_agent_phase{phase=\"probe\"} 1\n"));
  cr_assert_not_null (strstr (b.data, "v2v_agent_phase{phase=\"devices\"} 0\n"));
  cr_assert_not_null (strstr (b.data, "v2v_agent_progress_percent 5\n"));
  cr_assert_not_null (strstr (b.data,
                              "v2v_agent_phase_duration_seconds{phase=\"probe\"} "));
  cr_assert_null (strstr (b.data,
                          "v2v_agent_phase_duration_seconds{phase=\"convert\"}"));
  cr_assert_not_null (strstr (b.data, "# TYPE v2v_agent_conversions_total counter\n"));
  cr_assert_not_null (strstr (b.data,
                              "v2v_agent_conversions_total{outcome=\"DeviceError\"} 1\n"));
  cr_assert_not_null (strstr (b.data,
                              "v2v_agent_conversions_total{outcome=\"Succeeded\"} 0\n"));
  /* Not one of the known accelerators: no new label value. */
  cr_assert_not_null (strstr (b.data,
                              "v2v_agent_accelerator_info{accelerator=\"unknown\"} 1\n"));
  cr_assert_not_null (strstr (b.data, "v2v_agent_warnings 1\n"));
  buf_free (&b);
  agent_status_free (st);
}

Test (status, inspection_before_report_is_enoent)
{
  struct agent_status *st = agent_status_new ();
  struct buf b;

  buf_init (&b, 1 << 20);
  cr_assert_eq (agent_status_inspection_xml (st, &b), -ENOENT);
  buf_free (&b);
  agent_status_free (st);
}

static char *
xpath_string (xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
  xmlXPathObjectPtr r = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  char *s;

  cr_assert_not_null (r, "%s", expr);
  s = (char *) xmlXPathCastToString (r);
  xmlXPathFreeObject (r);
  xmlXPathFreeContext (ctx);
  return s;
}

Test (status, inspection_xml_is_well_formed_and_escaped)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *r = report ();
  struct buf b;
  xmlDocPtr doc;
  char *s;

  cr_assert_eq (agent_status_set_report (st, r, NULL), 0);
  json_object_put (r);
  buf_init (&b, 1 << 20);
  cr_assert_eq (agent_status_inspection_xml (st, &b), 0);
  cr_assert_not_null (strstr (b.data, "Debian &lt;&amp;&gt;"));
  doc = xmlReadMemory (b.data, (int) b.len, "inspection.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR);
  cr_assert_not_null (doc, "not well-formed:\n%s", b.data);

#define XP(expr, want)                                  \
  s = xpath_string (doc, expr);                         \
  cr_assert_str_eq (s, want, "%s", expr);               \
  xmlFree (s)
  XP ("/v2v-inspection/operatingsystem/product_name",
      "Debian <&> \"12\" 'x'");
  XP ("/v2v-inspection/operatingsystem/name", "linux");
  XP ("/v2v-inspection/operatingsystem/distro", "debian");
  XP ("/v2v-inspection/operatingsystem/arch", "x86_64");
  XP ("/v2v-inspection/operatingsystem/major_version", "12");
  XP ("/v2v-inspection/operatingsystem/minor_version", "0");
  XP ("/v2v-inspection/operatingsystem/package_format", "deb");
  XP ("/v2v-inspection/operatingsystem/package_management", "apt");
  XP ("/v2v-inspection/operatingsystem/root", "/dev/sda1");
  XP ("/v2v-inspection/firmware/@type", "bios");
  XP ("/v2v-inspection/disks/disk[@index='0']/virtual-size", "3221225472");
  XP ("/v2v-inspection/operatingsystem/mountpoints/mountpoint[@dev='/dev/sda1']",
      "/");
  XP ("count(/v2v-inspection/operatingsystem/mountpoints/mountpoint)", "1");
  /* No osinfo in the report: none made up. */
  XP ("count(/v2v-inspection/operatingsystem/osinfo)", "0");
#undef XP
  xmlFreeDoc (doc);
  buf_free (&b);
  agent_status_free (st);
}

Test (status, invalid_utf8_becomes_valid_json_and_xml)
{
  struct agent_status *st = agent_status_new ();
  struct json_object *o;

  agent_status_set_message (st, "bad \xff\xfe byte and a cut \xe2\x82");
  o = termination (st, 4096);
  cr_assert_str_eq (str (o, "message"), "bad ?? byte and a cut ??");
  json_object_put (o);
  agent_status_free (st);
}

/* The report is read against its contract (report-read.c): a member of
 * the wrong type is refused with its name, and the status keeps nothing
 * of it.
 */
Test (status, set_report_refuses_a_broken_contract)
{
  static const char bad[] =
    "{ \"guest\": { \"root\": \"/dev/sda1\", \"type\": \"linux\", "
    "  \"product\": 12 }, \"warnings\": [ \"w\" ] }";
  struct agent_status *st = agent_status_new ();
  struct json_object *r = parse (bad, strlen (bad)), *j, *w;
  struct v2v_error err = { 0 };
  struct buf b;

  cr_assert_eq (agent_status_set_report (st, r, &err), -EINVAL);
  cr_expect (strncmp (err.msg, "report: guest: product: ", 24) == 0,
             "message: %s", err.msg);
  json_object_put (r);
  j = agent_status_to_json (st);
  cr_assert_not_null (j);
  cr_expect (!json_object_object_get_ex (j, "guest", &w) || w == NULL);
  json_object_put (j);
  w = agent_status_warnings_json (st);
  cr_expect_eq (json_object_array_length (w), 0);
  json_object_put (w);
  buf_init (&b, 65536);
  cr_expect_eq (agent_status_inspection_xml (st, &b), -ENOENT);
  buf_free (&b);
  agent_status_free (st);
}

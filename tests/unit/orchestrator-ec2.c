/* The EC2 client against a scripted endpoint on 127.0.0.1 that records
 * each request and answers with canned XML.  Retries run on a fake clock,
 * so waiting costs nothing.
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ec2.h"
#include "ec2-internal.h"
#include "ec2-testsrv.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FwoGZXIvYXdzEXAMPLE/session+token=="

#define cr_assert_prefix(s, prefix)                                     \
  cr_assert_eq (strncmp ((s), (prefix), strlen (prefix)), 0,            \
                "\"%s\" does not start with \"%s\"", (s), (prefix))

#define OK_BODY \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
  "<CreateVolumeResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" \
  "<requestId>r-1</requestId><volumeId>vol-0123</volumeId>" \
  "<size>8</size></CreateVolumeResponse>"

#define ERROR_BODY(code, msg) \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
  "<Response><Errors><Error><Code>" code "</Code><Message>" msg \
  "</Message></Error></Errors><RequestID>req-1</RequestID></Response>"

#define THROTTLED \
  { 503, ERROR_BODY ("RequestLimitExceeded", "Request limit exceeded."), NULL }

/* A clock that moves only when slept on. */
static int64_t fake_now;
static int64_t fake_slept;

static int64_t
fake_now_ms (void *opaque)
{
  (void) opaque;
  return fake_now;
}

static void
fake_sleep_ms (void *opaque, int64_t ms)
{
  (void) opaque;
  fake_now += ms;
  fake_slept += ms;
}

static uint64_t
fake_random (void *opaque)
{
  (void) opaque;
  return UINT64_C (0x123456789abcdef);
}

static const struct backoff_clock fake_clock = {
  .now_ms = fake_now_ms, .sleep_ms = fake_sleep_ms, .random = fake_random,
};

static struct ec2_credentials test_creds = {
  .access_key_id = (char *) AKID, .secret_access_key = (char *) SECRET,
  .source = "test",
};

static void
setup (void)
{
  unsetenv ("AWS_ENDPOINT_URL_EC2");
  unsetenv ("AWS_ENDPOINT_URL");
  cr_assert_eq (ec2_srv_start (), 0, "MHD_start_daemon failed");
}

TestSuite (ec2, .init = setup, .fini = ec2_srv_stop);

static struct ec2_client *
new_client (const struct ec2_credentials *creds)
{
  struct ec2_client *c = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (ec2_client_new ("us-east-1", ec2_srv.endpoint,
                                creds ? creds : &test_creds, &c, &err), 0,
                "%s", err.msg);
  /* Each exchange may take 60 s: the tests count requests, and one that
   * timed out would be retried.  Under valgrind on a loaded machine an
   * exchange has taken over 5 s.
   */
  ec2_client_set_retry (c, 100, 1000, 5000, 60000, &fake_clock);
  return c;
}

/* Requests. */

Test (ec2, body_has_action_version_and_encoded_params)
{
  struct ec2_client *c = new_client (NULL);
  const char *params[] = {
    "Filter.1.Name", "tag:Name",
    "Filter.1.Value.1", "a b/c~d*e\xc3\xa9&x=y",
    NULL,
  };
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  cr_assert_eq (ec2_call (c, "DescribeVolumes", params, &doc, &err), 0,
                "%s", err.msg);
  cr_assert_not_null (doc);
  cr_assert_eq (ec2_srv.count, 1);
  cr_assert_str_eq (ec2_srv.req[0].method, "POST");
  cr_assert_str_eq (ec2_srv.req[0].path, "/");
  cr_assert_str_eq (ec2_srv.req[0].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15"
                    "&Filter.1.Name=tag%3AName"
                    "&Filter.1.Value.1=a%20b%2Fc~d%2Ae%C3%A9%26x%3Dy");
  cr_assert_str_eq (ec2_srv_header (0, "Content-Type"),
                    "application/x-www-form-urlencoded; charset=utf-8");
  xmlFreeDoc (doc);
  ec2_client_free (c);
}

Test (ec2, authorization_header_is_sigv4)
{
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;
  const char *auth, *date;
  char want_scope[64];
  regex_t re;

  cr_assert_eq (ec2_call (c, "DescribeRegions", NULL, &doc, &err), 0,
                "%s", err.msg);
  xmlFreeDoc (doc);
  date = ec2_srv_header (0, "X-Amz-Date");
  cr_assert_not_null (date);
  cr_assert_eq (strlen (date), 16, "X-Amz-Date: %s", date);
  snprintf (want_scope, sizeof want_scope,
            "Credential=" AKID "/%.8s/us-east-1/ec2/aws4_request,", date);
  auth = ec2_srv_header (0, "Authorization");
  cr_assert_not_null (auth);
  cr_assert_eq (regcomp (&re,
                         "^AWS4-HMAC-SHA256 Credential=" AKID
                         "/[0-9]{8}/us-east-1/ec2/aws4_request, "
                         "SignedHeaders=([a-z0-9-]+;)*host;"
                         "([a-z0-9-]+;)*x-amz-date(;[a-z0-9-]+)*, "
                         "Signature=[0-9a-f]{64}$",
                         REG_EXTENDED | REG_NOSUB), 0);
  cr_assert_eq (regexec (&re, auth, 0, NULL, 0), 0, "%s", auth);
  regfree (&re);
  cr_assert_not_null (strstr (auth, want_scope), "%s", auth);
  cr_assert_null (strstr (ec2_srv.req[0].headers.data, SECRET));
  cr_assert_null (ec2_srv_header (0, "X-Amz-Security-Token"));
  ec2_client_free (c);
}

Test (ec2, session_token_is_sent_and_signed)
{
  struct ec2_credentials creds = test_creds;
  struct ec2_client *c;
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  creds.session_token = (char *) TOKEN;
  c = new_client (&creds);
  cr_assert_eq (ec2_call (c, "DescribeRegions", NULL, &doc, &err), 0,
                "%s", err.msg);
  xmlFreeDoc (doc);
  cr_assert_str_eq (ec2_srv_header (0, "X-Amz-Security-Token"), TOKEN);
  cr_assert_not_null (strstr (ec2_srv_header (0, "Authorization"),
                              ";x-amz-security-token"));
  ec2_client_free (c);
}

Test (ec2, calls_are_counted_per_action)
{
  struct ec2_client *c = new_client (NULL);
  xmlDocPtr doc = NULL;

  for (int i = 0; i < 2; i++) {
    cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, NULL), 0);
    xmlFreeDoc (doc);
  }
  cr_assert_eq (ec2_call (c, "DescribeInstances", NULL, &doc, NULL), 0);
  xmlFreeDoc (doc);
  cr_assert_eq (ec2_client_calls (c, "DescribeVolumes"), 2);
  cr_assert_eq (ec2_client_calls (c, "DescribeInstances"), 1);
  cr_assert_eq (ec2_client_calls (c, "CreateVolume"), 0);
  cr_assert_eq (ec2_client_calls (c, NULL), 3);
  ec2_client_free (c);
}

Test (ec2, response_is_parsed)
{
  struct ec2_srv_reply r[] = { { 200, OK_BODY, NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;
  char *id;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "CreateVolume", NULL, &doc, &err), 0,
                "%s", err.msg);
  id = ec2_xml_text ((xmlNodePtr) doc, "CreateVolumeResponse/volumeId");
  cr_assert_str_eq (id, "vol-0123");
  free (id);
  cr_assert_null (ec2_xml_text ((xmlNodePtr) doc, "CreateVolumeResponse/x"));
  cr_assert_str_eq (ec2_client_last_error_code (c), "");
  xmlFreeDoc (doc);
  ec2_client_free (c);
}

Test (ec2, bad_action_and_odd_params_are_einval)
{
  struct ec2_client *c = new_client (NULL);
  const char *odd[] = { "VolumeId", NULL };
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  cr_assert_eq (ec2_call (c, "Describe&Volumes", NULL, &doc, &err), -EINVAL);
  cr_assert_prefix (err.msg, "ec2_call: invalid action");
  cr_assert_eq (ec2_call (c, "DeleteVolume", odd, &doc, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "DeleteVolume: a parameter has no value");
  cr_assert_eq (ec2_srv.count, 0);
  ec2_client_free (c);
}

/* Retries. */

static unsigned hook_calls;

static void
count_hook (const struct v2v_error *err, int64_t delay_ms, void *opaque)
{
  (void) opaque;
  (void) delay_ms;
  cr_assert_prefix (err->msg, "DescribeVolumes: RequestLimitExceeded: ");
  hook_calls++;
}

Test (ec2, throttling_is_retried_then_succeeds)
{
  struct ec2_srv_reply r[] = { THROTTLED, THROTTLED, { 200, OK_BODY, NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 3);
  ec2_client_set_retry_hook (c, count_hook, NULL);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), 0,
                "%s", err.msg);
  cr_assert_not_null (doc);
  cr_assert_eq (ec2_srv.count, 3);
  cr_assert_eq (hook_calls, 2);
  cr_assert_eq (ec2_client_calls (c, "DescribeVolumes"), 3);
  /* Each request is signed afresh, body and all. */
  cr_assert_str_eq (ec2_srv.req[2].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15");
  cr_assert_str_eq (ec2_client_last_error_code (c), "");
  xmlFreeDoc (doc);
  ec2_client_free (c);
}

Test (ec2, throttling_past_deadline_is_eagain)
{
  struct ec2_srv_reply r[] = { THROTTLED };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EAGAIN);
  cr_assert_eq (err.code, -EAGAIN);
  cr_assert_null (doc);
  cr_assert_prefix (err.msg, "DescribeVolumes: RequestLimitExceeded: "
                    "Request limit exceeded. (gave up after ");
  cr_assert_str_eq (ec2_client_last_error_code (c), "RequestLimitExceeded");
  cr_assert_gt (ec2_srv.count, 2);
  cr_assert_eq (fake_now, 5000, "stopped at %lld ms", (long long) fake_now);
  ec2_client_free (c);
}

Test (ec2, retry_after_is_honoured)
{
  struct ec2_srv_reply r[] = {
    { 503, ERROR_BODY ("RequestLimitExceeded", "slow"), "3" },
    { 200, OK_BODY, NULL },
  };
  struct ec2_client *c = new_client (NULL);
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 2);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, NULL), 0);
  cr_assert_geq (fake_slept, 3000);
  xmlFreeDoc (doc);
  ec2_client_free (c);
}

Test (ec2, server_errors_are_retried_then_eio)
{
  struct ec2_srv_reply r[] = {
    { 500, ERROR_BODY ("InternalError", "An internal error has occurred"),
      NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "StopInstances", NULL, &doc, &err), -EIO);
  cr_assert_prefix (err.msg, "StopInstances: InternalError: An internal "
                    "error has occurred (gave up after ");
  cr_assert_gt (ec2_srv.count, 2);
  ec2_client_free (c);
}

Test (ec2, non_xml_gateway_error_is_retried)
{
  struct ec2_srv_reply r[] = {
    { 502, "<html>\nBad Gateway</html>", NULL }, { 200, OK_BODY, NULL },
  };
  struct ec2_client *c = new_client (NULL);
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 2);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, NULL), 0);
  cr_assert_eq (ec2_srv.count, 2);
  xmlFreeDoc (doc);
  ec2_client_free (c);
}

Test (ec2, connection_refused_is_retried_then_returned)
{
  struct ec2_client *c = NULL;
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;
  int port = ec2_srv.port;
  char endpoint[64];

  /* The server's port, once the server is gone. */
  ec2_srv_stop ();
  ec2_srv.daemon = NULL;
  snprintf (endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
  cr_assert_eq (ec2_client_new ("us-east-1", endpoint, &test_creds, &c,
                                &err), 0);
  ec2_client_set_retry (c, 100, 1000, 2000, 5000, &fake_clock);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err),
                -ECONNREFUSED);
  cr_assert_prefix (err.msg, "DescribeVolumes: POST http://127.0.0.1:");
  cr_assert_not_null (strstr (err.msg, "(gave up after "), "%s", err.msg);
  cr_assert_gt (ec2_client_calls (c, NULL), 2);
  ec2_client_free (c);
}

/* EC2 errors. */

static void
check_error (const char *action, unsigned status, const char *body,
             int want, const char *want_msg, const char *want_code)
{
  struct ec2_srv_reply r[] = { { status, body, NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, action, NULL, &doc, &err), want, "%s", err.msg);
  cr_assert_eq (err.code, want);
  cr_assert_str_eq (err.msg, want_msg);
  cr_assert_str_eq (ec2_client_last_error_code (c), want_code);
  cr_assert_eq (ec2_srv.count, 1, "retried a final error");
  cr_assert_null (doc);
  ec2_client_free (c);
}

Test (ec2, not_found_is_enoent)
{
  check_error ("CreateVolume", 400,
               ERROR_BODY ("InvalidVolume.NotFound",
                           "The volume 'vol-1' does not exist."),
               -ENOENT,
               "CreateVolume: InvalidVolume.NotFound: The volume 'vol-1' "
               "does not exist.", "InvalidVolume.NotFound");
}

Test (ec2, invalid_id_not_found_is_enoent)
{
  check_error ("DescribeInstances", 400,
               ERROR_BODY ("InvalidInstanceID.NotFound", "nope"),
               -ENOENT, "DescribeInstances: InvalidInstanceID.NotFound: nope",
               "InvalidInstanceID.NotFound");
}

Test (ec2, auth_failure_is_eacces)
{
  check_error ("DescribeVolumes", 401,
               ERROR_BODY ("AuthFailure", "AWS was not able to validate "
                           "the provided access credentials"),
               -EACCES, "DescribeVolumes: AuthFailure: AWS was not able to "
               "validate the provided access credentials", "AuthFailure");
}

Test (ec2, unauthorized_operation_is_eacces)
{
  check_error ("StopInstances", 403,
               ERROR_BODY ("UnauthorizedOperation", "You are not authorized"),
               -EACCES, "StopInstances: UnauthorizedOperation: You are not "
               "authorized", "UnauthorizedOperation");
}

Test (ec2, signature_mismatch_is_eacces)
{
  check_error ("DescribeVolumes", 403,
               ERROR_BODY ("SignatureDoesNotMatch", "bad signature"),
               -EACCES, "DescribeVolumes: SignatureDoesNotMatch: bad "
               "signature", "SignatureDoesNotMatch");
}

Test (ec2, incorrect_state_is_ebusy)
{
  check_error ("DetachVolume", 400,
               ERROR_BODY ("IncorrectState", "Volume is 'available'"),
               -EBUSY, "DetachVolume: IncorrectState: Volume is 'available'",
               "IncorrectState");
}

Test (ec2, incorrect_instance_state_is_ebusy)
{
  check_error ("StartInstances", 400,
               ERROR_BODY ("IncorrectInstanceState", "stopping"),
               -EBUSY, "StartInstances: IncorrectInstanceState: stopping",
               "IncorrectInstanceState");
}

Test (ec2, other_error_is_einval)
{
  check_error ("CreateVolume", 400,
               ERROR_BODY ("InvalidParameterValue", "Size\nis bad"),
               -EINVAL, "CreateVolume: InvalidParameterValue: Size is bad",
               "InvalidParameterValue");
}

Test (ec2, non_xml_forbidden_is_eacces)
{
  check_error ("DescribeVolumes", 403, "<html>Forbidden</html", -EACCES,
               "DescribeVolumes: HTTP 403: <html>Forbidden</html", "");
}

Test (ec2, secret_never_in_messages)
{
  struct ec2_credentials creds = test_creds;
  struct ec2_srv_reply r[] = {
    /* A server, or a proxy, that quotes the credentials back. */
    { 400, ERROR_BODY ("InvalidParameterValue",
                       "bad key " SECRET " token " TOKEN), NULL },
  };
  struct ec2_client *c;
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  creds.session_token = (char *) TOKEN;
  c = new_client (&creds);
  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EINVAL);
  cr_assert_prefix (err.msg, "DescribeVolumes: InvalidParameterValue: bad "
                    "key ***");
  cr_assert_null (strstr (err.msg, SECRET), "%s", err.msg);
  cr_assert_null (strstr (err.msg, TOKEN), "%s", err.msg);
  ec2_client_free (c);
}

/* Hostile or broken responses. */

Test (ec2, billion_laughs_is_refused)
{
  struct ec2_srv_reply r[] = {
    { 200,
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE lolz [\n"
      " <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
      " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
      " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
      " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
      " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
      "]>\n"
      "<DescribeVolumesResponse><volumeSet><item><volumeId>&lol9;</volumeId>"
      "</item></volumeSet></DescribeVolumesResponse>", NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EPROTO);
  cr_assert_str_eq (err.msg, "DescribeVolumes: response has a DTD "
                    "(refused, EC2 never sends one)");
  cr_assert_null (doc);
  ec2_client_free (c);
}

Test (ec2, utf16_cannot_hide_a_dtd)
{
  /* "<!DOCTYPE" in UTF-16LE is not found by a byte search, but the
   * encoding is forced to UTF-8, so the document does not parse.
   */
  static const char body[] =
    "\xff\xfe<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0x\0>\0<\0x\0/\0>\0";
  struct ec2_srv_reply r[] = { { 200, body, NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  ec2_srv.body_len = sizeof body - 1;
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EPROTO);
  cr_assert_prefix (err.msg, "DescribeVolumes: response is not usable XML: ");
  ec2_client_free (c);
}

Test (ec2, malformed_xml_is_eproto)
{
  struct ec2_srv_reply r[] = { { 200, "<DescribeVolumesResponse><a>", NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EPROTO);
  cr_assert_prefix (err.msg, "DescribeVolumes: response is not usable XML: "
                    "line ");
  cr_assert_null (doc);
  ec2_client_free (c);
}

/* Pagination. */

#define PAGE(items, token) \
  "<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" \
  "<requestId>r</requestId><volumeSet>" items "</volumeSet>" token \
  "</DescribeVolumesResponse>"
#define ITEM(id) \
  "<item><volumeId>" id "</volumeId><attachmentSet><item>" \
  "<instanceId>i-" id "</instanceId></item></attachmentSet></item>"
#define VOLUME_ITEMS \
  "//*[local-name()='volumeSet']/*[local-name()='item']"

struct collected {
  char ids[8][32];
  unsigned n;
  unsigned stop_after;          /* 0: never */
};

static int
collect (xmlNodePtr item, void *opaque)
{
  struct collected *col = opaque;
  char *id = ec2_xml_text (item, "volumeId");
  char *inst = ec2_xml_text (item, "attachmentSet/item/instanceId");

  cr_assert_not_null (id);
  cr_assert_not_null (inst);
  cr_assert_eq (strncmp (inst, "i-", 2), 0);
  cr_assert_str_eq (inst + 2, id);
  cr_assert_lt (col->n, 8);
  snprintf (col->ids[col->n++], sizeof col->ids[0], "%s", id);
  free (id);
  free (inst);
  if (col->stop_after && col->n == col->stop_after)
    return -ECANCELED;
  return 0;
}

Test (ec2, describe_follows_next_token_over_three_pages)
{
  struct ec2_srv_reply r[] = {
    { 200, PAGE (ITEM ("v1") ITEM ("v2"), "<nextToken>tok/1+=</nextToken>"),
      NULL },
    { 200, PAGE (ITEM ("v3") ITEM ("v4"), "<nextToken>tok2</nextToken>"),
      NULL },
    { 200, PAGE (ITEM ("v5"), ""), NULL },
  };
  const char *params[] = { "MaxResults", "2", NULL };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  ec2_srv_script (r, 3);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", params, VOLUME_ITEMS,
                              collect, &col, &err), 0, "%s", err.msg);
  cr_assert_eq (col.n, 5);
  for (unsigned i = 0; i < 5; i++) {
    char want[8];

    snprintf (want, sizeof want, "v%u", i + 1);
    cr_assert_str_eq (col.ids[i], want);
  }
  cr_assert_eq (ec2_srv.count, 3);
  cr_assert_str_eq (ec2_srv.req[0].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15&MaxResults=2");
  cr_assert_str_eq (ec2_srv.req[1].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15&MaxResults=2"
                    "&NextToken=tok%2F1%2B%3D");
  cr_assert_str_eq (ec2_srv.req[2].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15&MaxResults=2"
                    "&NextToken=tok2");
  cr_assert_eq (ec2_client_calls (c, "DescribeVolumes"), 3);
  ec2_client_free (c);
}

Test (ec2, describe_stops_when_callback_fails)
{
  struct ec2_srv_reply r[] = {
    { 200, PAGE (ITEM ("v1") ITEM ("v2"), "<nextToken>t</nextToken>"), NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .stop_after = 1 };

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, VOLUME_ITEMS,
                              collect, &col, NULL), -ECANCELED);
  cr_assert_eq (col.n, 1);
  cr_assert_eq (ec2_srv.count, 1);
  ec2_client_free (c);
}

Test (ec2, describe_repeated_token_is_eproto)
{
  struct ec2_srv_reply r[] = {
    { 200, PAGE (ITEM ("v1"), "<nextToken>same</nextToken>"), NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, VOLUME_ITEMS,
                              collect, &col, &err), -EPROTO);
  cr_assert_str_eq (err.msg, "DescribeVolumes: the server repeated NextToken");
  cr_assert_eq (ec2_srv.count, 2);
  ec2_client_free (c);
}

Test (ec2, describe_bad_xpath_is_einval)
{
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, "//[", collect,
                              &col, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "DescribeVolumes: invalid XPath \"//[\"");
  ec2_client_free (c);
}

Test (ec2, describe_error_is_returned)
{
  struct ec2_srv_reply r[] = {
    { 400, ERROR_BODY ("InvalidVolume.NotFound", "no vol-9"), NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, VOLUME_ITEMS,
                              collect, &col, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "DescribeVolumes: InvalidVolume.NotFound: "
                    "no vol-9");
  ec2_client_free (c);
}

/* Endpoints: no server needed. */

TestSuite (ec2_endpoint, .init = setup, .fini = ec2_srv_stop);

static void
check_endpoint (const char *region, const char *explicit, const char *want)
{
  struct ec2_client *c = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (ec2_client_new (region, explicit, &test_creds, &c, &err), 0,
                "%s", err.msg);
  cr_assert_str_eq (ec2_client_endpoint (c), want);
  ec2_client_free (c);
}

Test (ec2_endpoint, default_is_regional)
{
  check_endpoint ("eu-west-1", NULL, "https://ec2.eu-west-1.amazonaws.com");
  check_endpoint ("cn-north-1", NULL,
                  "https://ec2.cn-north-1.amazonaws.com.cn");
}

Test (ec2_endpoint, generic_env_overrides_default)
{
  setenv ("AWS_ENDPOINT_URL", "http://generic:4566", 1);
  check_endpoint ("us-east-1", NULL, "http://generic:4566");
}

Test (ec2_endpoint, ec2_env_overrides_generic)
{
  setenv ("AWS_ENDPOINT_URL", "http://generic:4566", 1);
  setenv ("AWS_ENDPOINT_URL_EC2", "http://ec2-only:4566", 1);
  check_endpoint ("us-east-1", NULL, "http://ec2-only:4566");
}

Test (ec2_endpoint, explicit_overrides_env)
{
  setenv ("AWS_ENDPOINT_URL", "http://generic:4566", 1);
  setenv ("AWS_ENDPOINT_URL_EC2", "http://ec2-only:4566", 1);
  check_endpoint ("us-east-1", "https://explicit.example",
                  "https://explicit.example");
}

Test (ec2_endpoint, region_from_env)
{
  setenv ("AWS_REGION", "ap-south-1", 1);
  check_endpoint (NULL, NULL, "https://ec2.ap-south-1.amazonaws.com");
}

Test (ec2_endpoint, bad_region_and_endpoint_are_einval)
{
  struct ec2_client *c = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (ec2_client_new ("us-east-1.evil.com/", NULL, &test_creds,
                                &c, &err), -EINVAL);
  cr_assert_prefix (err.msg, "ec2_client_new: invalid region");
  cr_assert_eq (ec2_client_new ("us-east-1", "file:///etc/passwd",
                                &test_creds, &c, &err), -EINVAL);
  cr_assert_prefix (err.msg, "ec2_client_new: endpoint");
  unsetenv ("AWS_REGION");
  unsetenv ("AWS_DEFAULT_REGION");
  cr_assert_eq (ec2_client_new (NULL, NULL, &test_creds, &c, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "ec2_client_new: no region: give one or set "
                    "AWS_REGION");
  cr_assert_null (c);
}

/* Credentials. */

static char tmpdir[64];

static void
creds_setup (void)
{
  const char *vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",
  };

  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    unsetenv (vars[i]);
  snprintf (tmpdir, sizeof tmpdir, "/tmp/v2v-ec2-creds-XXXXXX");
  cr_assert_not_null (mkdtemp (tmpdir));
  /* No ~/.aws/credentials from the machine running the tests. */
  setenv ("HOME", tmpdir, 1);
}

static void
creds_teardown (void)
{
  char cmd[128];

  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq (system (cmd), 0);
}

static void
write_file (const char *name, const char *content)
{
  char path[256];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  f = fopen (path, "w");
  cr_assert_not_null (f, "%s", path);
  fputs (content, f);
  fclose (f);
}

TestSuite (ec2_creds, .init = creds_setup, .fini = creds_teardown);

Test (ec2_creds, from_env)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };

  setenv ("AWS_ACCESS_KEY_ID", AKID, 1);
  setenv ("AWS_SECRET_ACCESS_KEY", SECRET, 1);
  setenv ("AWS_SESSION_TOKEN", TOKEN, 1);
  write_file ("credentials", "[default]\naws_access_key_id = FILE\n"
              "aws_secret_access_key = FILE\n");
  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), 0, "%s", err.msg);
  cr_assert_str_eq (c.access_key_id, AKID);
  cr_assert_str_eq (c.secret_access_key, SECRET);
  cr_assert_str_eq (c.session_token, TOKEN);
  cr_assert_str_eq (c.source, "environment");
  ec2_credentials_free (&c);
  cr_assert_null (c.secret_access_key);
  ec2_credentials_free (&c);
}

Test (ec2_creds, env_without_secret_is_einval)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };

  setenv ("AWS_ACCESS_KEY_ID", AKID, 1);
  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "ec2_credentials_load: AWS_ACCESS_KEY_ID is "
                    "set but AWS_SECRET_ACCESS_KEY is not: set both, or "
                    "neither");
}

Test (ec2_creds, from_secret_dir_before_env)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char want[128];

  setenv ("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv ("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  write_file ("aws_access_key_id", AKID "\n");
  write_file ("aws_secret_access_key", SECRET "\n");
  cr_assert_eq (ec2_credentials_load (tmpdir, &c, &err), 0, "%s", err.msg);
  cr_assert_str_eq (c.access_key_id, AKID);
  cr_assert_str_eq (c.secret_access_key, SECRET);
  cr_assert_null (c.session_token);
  snprintf (want, sizeof want, "secret directory %s", tmpdir);
  cr_assert_str_eq (c.source, want);
  ec2_credentials_free (&c);
}

Test (ec2_creds, from_secret_dir_camel_case)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };

  write_file ("accessKeyId", AKID);
  write_file ("secretAccessKey", SECRET);
  write_file ("sessionToken", TOKEN "\n");
  cr_assert_eq (ec2_credentials_load (tmpdir, &c, &err), 0, "%s", err.msg);
  cr_assert_str_eq (c.access_key_id, AKID);
  cr_assert_str_eq (c.secret_access_key, SECRET);
  cr_assert_str_eq (c.session_token, TOKEN);
  ec2_credentials_free (&c);
}

Test (ec2_creds, secret_dir_without_secret_is_enoent)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char want[512];

  /* Explicit means explicit: the environment is not a fallback. */
  setenv ("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv ("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  write_file ("aws_access_key_id", AKID);
  cr_assert_eq (ec2_credentials_load (tmpdir, &c, &err), -ENOENT);
  snprintf (want, sizeof want, "ec2_credentials_load: secret directory %s: "
            "needs non-empty files aws_access_key_id and "
            "aws_secret_access_key (or accessKeyId and secretAccessKey)",
            tmpdir);
  cr_assert_str_eq (err.msg, want);
  cr_assert_null (c.access_key_id);
}

#define SHARED_FILE \
  "# comment\n" \
  "[default]\n" \
  "aws_access_key_id = DEFAULTKEY\n" \
  "aws_secret_access_key = " SECRET "\n" \
  "\n" \
  "[ prod ]\n" \
  "aws_access_key_id=" AKID "\n" \
  "aws_secret_access_key=PRODSECRET\n" \
  "aws_session_token = " TOKEN "\n" \
  "[broken]\n" \
  "aws_access_key_id=ONLYKEY\n"

Test (ec2_creds, from_shared_file_default_profile)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char want[128];

  char dir[128];

  snprintf (dir, sizeof dir, "%s/.aws", tmpdir);
  cr_assert_eq (mkdir (dir, 0700), 0);
  write_file (".aws/credentials", SHARED_FILE);
  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), 0, "%s", err.msg);
  cr_assert_str_eq (c.access_key_id, "DEFAULTKEY");
  cr_assert_str_eq (c.secret_access_key, SECRET);
  cr_assert_null (c.session_token);
  snprintf (want, sizeof want, "%s/.aws/credentials profile default", tmpdir);
  cr_assert_str_eq (c.source, want);
  ec2_credentials_free (&c);
}

Test (ec2_creds, from_shared_file_named_profile)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char path[128];

  write_file ("creds.ini", SHARED_FILE);
  snprintf (path, sizeof path, "%s/creds.ini", tmpdir);
  setenv ("AWS_SHARED_CREDENTIALS_FILE", path, 1);
  setenv ("AWS_PROFILE", "prod", 1);
  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), 0, "%s", err.msg);
  cr_assert_str_eq (c.access_key_id, AKID);
  cr_assert_str_eq (c.secret_access_key, "PRODSECRET");
  cr_assert_str_eq (c.session_token, TOKEN);
  ec2_credentials_free (&c);
}

Test (ec2_creds, shared_file_missing_profile_is_enoent)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char path[128], want[512];

  write_file ("creds.ini", SHARED_FILE);
  snprintf (path, sizeof path, "%s/creds.ini", tmpdir);
  setenv ("AWS_SHARED_CREDENTIALS_FILE", path, 1);
  setenv ("AWS_PROFILE", "staging", 1);
  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), -ENOENT);
  snprintf (want, sizeof want, "ec2_credentials_load: %s has no [staging] "
            "profile (set AWS_PROFILE to another)", path);
  cr_assert_str_eq (err.msg, want);
}

Test (ec2_creds, shared_file_incomplete_profile_is_einval)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char path[128];

  write_file ("creds.ini", SHARED_FILE);
  snprintf (path, sizeof path, "%s/creds.ini", tmpdir);
  setenv ("AWS_SHARED_CREDENTIALS_FILE", path, 1);
  setenv ("AWS_PROFILE", "broken", 1);
  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), -EINVAL);
  cr_assert_not_null (strstr (err.msg, "profile [broken] needs "
                              "aws_access_key_id and aws_secret_access_key"),
                      "%s", err.msg);
  cr_assert_null (strstr (err.msg, "ONLYKEY"));
}

Test (ec2_creds, nothing_is_enoent_and_says_what_to_set)
{
  struct ec2_credentials c = { 0 };
  struct v2v_error err = { 0 };
  char want[512];

  cr_assert_eq (ec2_credentials_load (NULL, &c, &err), -ENOENT);
  snprintf (want, sizeof want, "ec2_credentials_load: no AWS credentials: "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or create "
            "%s/.aws/credentials with a [default] profile (or set "
            "AWS_SHARED_CREDENTIALS_FILE)", tmpdir);
  cr_assert_str_eq (err.msg, want);
}

Test (ec2_creds, free_accepts_zeroed)
{
  struct ec2_credentials c = { 0 };

  ec2_credentials_free (&c);
  ec2_credentials_free (NULL);
  ec2_client_free (NULL);
}

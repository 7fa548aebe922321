/* The EC2 client's calls against a scripted endpoint on 127.0.0.1 that
 * records each request and answers with canned XML: what a request
 * carries and how it is signed, which answers are retried (on the fake
 * clock), and how EC2's errors map to errno values.
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

#include "orchestrator-ec2-test.h"

TestSuite (ec2, .init = ec2_test_setup, .fini = ec2_srv_stop);

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

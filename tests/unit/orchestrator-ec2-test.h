/* Shared by the EC2 client's unit tests (orchestrator-ec2-*.c): the
 * canned bodies, the fake clock retries run on (it moves only when
 * slept on, so waiting costs nothing), the test credentials, and a
 * client pointed at the scripted endpoint (ec2-testsrv.h).
 */
#ifndef V2V_TESTS_ORCHESTRATOR_EC2_TEST_H
#define V2V_TESTS_ORCHESTRATOR_EC2_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
static int64_t fake_now __attribute__ ((unused));
static int64_t fake_slept __attribute__ ((unused));

static inline int64_t
fake_now_ms (void *opaque)
{
  (void) opaque;
  return fake_now;
}

static inline void
fake_sleep_ms (void *opaque, int64_t ms)
{
  (void) opaque;
  fake_now += ms;
  fake_slept += ms;
}

static inline uint64_t
fake_random (void *opaque)
{
  (void) opaque;
  return UINT64_C (0x123456789abcdef);
}

static const struct backoff_clock fake_clock __attribute__ ((unused)) = {
  .now_ms = fake_now_ms, .sleep_ms = fake_sleep_ms, .random = fake_random,
};

static struct ec2_credentials test_creds __attribute__ ((unused)) = {
  .access_key_id = (char *) AKID, .secret_access_key = (char *) SECRET,
  .source = "test",
};

/* A suite's .init: no endpoint from the environment, the server up. */
static inline void
ec2_test_setup (void)
{
  unsetenv ("AWS_ENDPOINT_URL_EC2");
  unsetenv ("AWS_ENDPOINT_URL");
  cr_assert_eq (ec2_srv_start (), 0, "MHD_start_daemon failed");
}

/* A client on the scripted endpoint with CREDS (NULL: test_creds),
 * retrying on fake_clock.
 */
static inline struct ec2_client *
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

#endif /* V2V_TESTS_ORCHESTRATOR_EC2_TEST_H */

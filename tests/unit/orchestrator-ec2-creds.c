/* The EC2 client's endpoint and credentials: which endpoint a region
 * and the environment give, and where credentials come from (the
 * environment, a Secret's directory, the shared credentials file).
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

/* Endpoints: no server needed. */

TestSuite (ec2_endpoint, .init = ec2_test_setup, .fini = ec2_srv_stop);

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

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "accel.h"

/* The forced answers and the cache; the stale-cache test runs a real,
 * short probe (it boots a kernel under KVM for 0.3 s). */

Test (accel, forced_kvm)
{
  struct accel_result r = { .kind = ACCEL_TCG };
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "kvm", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), 0);
  cr_assert_eq (r.kind, ACCEL_KVM);
  cr_assert_str_eq (r.reason, "forced by V2V_ACCEL");
}

Test (accel, forced_tcg)
{
  struct accel_result r = { .kind = ACCEL_KVM };
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "tcg", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), 0);
  cr_assert_eq (r.kind, ACCEL_TCG);
  cr_assert_str_eq (r.reason, "forced by V2V_ACCEL");
}

Test (accel, forced_invalid_is_einval)
{
  struct accel_result r = { .kind = ACCEL_KVM, .reason = "untouched" };
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "hvf", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), -EINVAL);
  cr_assert_eq (err.code, -EINVAL);
  cr_assert_str_eq (err.msg, "V2V_ACCEL=hvf: expected \"kvm\" or \"tcg\"");
  cr_assert_eq (r.kind, ACCEL_KVM);
  cr_assert_str_eq (r.reason, "untouched");
}

Test (accel, forced_is_case_sensitive)
{
  struct accel_result r;
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "KVM", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), -EINVAL);
  cr_assert_eq (strncmp (err.msg, "V2V_ACCEL=KVM: ", 15), 0);
}

Test (accel, names)
{
  cr_assert_str_eq (accel_kind_to_string (ACCEL_KVM), "kvm");
  cr_assert_str_eq (accel_kind_to_string (ACCEL_TCG), "tcg");
  cr_assert_eq (accel_kind_from_string ("kvm"), ACCEL_KVM);
  cr_assert_eq (accel_kind_from_string ("tcg"), ACCEL_TCG);
  cr_assert_eq (accel_kind_from_string ("KVM"), -EINVAL);
}

/* The cache: a verdict recorded under this boot's key is used without a
 * probe; one under another key is ignored, probed again and replaced.
 */
static char cache_dir[] = "/tmp/v2v-accel-test-XXXXXX";

static void
cache_setup (void)
{
  char path[128];

  unsetenv ("V2V_ACCEL");
  cr_assert_not_null (mkdtemp (cache_dir));
  snprintf (path, sizeof path, "%s/sub/accel", cache_dir);
  setenv ("V2V_ACCEL_CACHE", path, 1);
}

static void
cache_teardown (void)
{
  char cmd[128];

  snprintf (cmd, sizeof cmd, "rm -rf %s", cache_dir);
  (void) !system (cmd);
  unsetenv ("V2V_ACCEL_CACHE");
}

static void
write_cache (const char *text)
{
  char path[128];
  FILE *fp;

  snprintf (path, sizeof path, "%s/sub", cache_dir);
  mkdir (path, 0755);
  fp = fopen (getenv ("V2V_ACCEL_CACHE"), "w");
  cr_assert_not_null (fp);
  fputs (text, fp);
  fclose (fp);
  chmod (getenv ("V2V_ACCEL_CACHE"), 0644);
}

Test (accel, cached_verdict_is_used, .init = cache_setup,
      .fini = cache_teardown)
{
  char key[256], text[512];
  struct accel_result r;
  struct v2v_error err = { 0 };

  if (accel_cache_key (key, sizeof key) == -1)
    cr_skip_test ("no /dev/kvm: the cache is never consulted");
  /* Neither answer a probe here could give, so only the cache can. */
  snprintf (text, sizeof text, "%s\nkvm\nfrom the test\n", key);
  write_cache (text);
  cr_assert_eq (accel_detect (100, &r, &err), 0);
  cr_assert_eq (r.kind, ACCEL_KVM);
  cr_assert_str_eq (r.reason, "from the test (probed earlier this boot)");
}

Test (accel, stale_or_foreign_cache_is_ignored, .init = cache_setup,
      .fini = cache_teardown)
{
  char key[256], buf[1024];
  struct accel_result r;
  struct v2v_error err = { 0 };
  FILE *fp;
  size_t n;

  if (accel_cache_key (key, sizeof key) == -1)
    cr_skip_test ("no /dev/kvm: the cache is never consulted");
  write_cache ("another-boot 1 2.3\nkvm\nfrom the test\n");
  cr_assert_eq (accel_detect (300, &r, &err), 0);
  cr_assert (strstr (r.reason, "from the test") == NULL, "%s", r.reason);

  /* The fresh probe replaced it under the current key. */
  fp = fopen (getenv ("V2V_ACCEL_CACHE"), "r");
  cr_assert_not_null (fp);
  n = fread (buf, 1, sizeof buf - 1, fp);
  fclose (fp);
  buf[n] = '\0';
  cr_assert_eq (strncmp (buf, key, strlen (key)), 0, "%s", buf);
  cr_assert (buf[strlen (key)] == '\n');
  cr_assert (strstr (buf, accel_kind_to_string (r.kind)) != NULL);

  /* A cache file others may write is not believed. */
  snprintf (buf, sizeof buf, "%s\nkvm\nfrom the test\n", key);
  write_cache (buf);
  chmod (getenv ("V2V_ACCEL_CACHE"), 0666);
  cr_assert_eq (accel_detect (300, &r, &err), 0);
  cr_assert (strstr (r.reason, "from the test") == NULL, "%s", r.reason);
}

/* Without qemu the probe says so (spawn's exec errno), and TCG it is. */
Test (accel, no_qemu_is_tcg_and_says_why)
{
  struct accel_result r = { .kind = ACCEL_KVM };
  struct v2v_error err = { 0 };
  int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    cr_skip_test ("no usable /dev/kvm: the probe is never started");
  close (fd);
  unsetenv ("V2V_ACCEL");
  setenv ("V2V_ACCEL_CACHE", "", 1);
  setenv ("V2V_PROBE_KERNEL", "/dev/null", 1);
  setenv ("PATH", "/nonexistent", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), 0, "%s", err.msg);
  cr_assert_eq (r.kind, ACCEL_TCG);
  cr_assert_str_eq (r.reason, "qemu-system-x86_64 not found");
}

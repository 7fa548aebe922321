/* Forklift's conversion pod is configured through V2V_* environment
 * variables and files mounted at /etc/luks.  "v2v-agent run" accepts
 * them so that it can stand in for Forklift's virt-v2v image: they are
 * turned into options placed before the command line's, so that a flag
 * given on the command line wins.  docs/forklift.md has the mapping.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "agent.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "strv.h"

/* Variables of our own, and of Forklift's that mean something here. */
static const char *const known_vars[] = {
  /* Forklift */
  "V2V_source", "V2V_vmName", "V2V_NewName", "V2V_inPlace", "V2V_RootDisk",
  "V2V_extra_args", "V2V_NBDE_CLEVIS",
  /* v2v-agent (docs/operations.md) */
  "V2V_ACCEL", "V2V_ACCEL_CACHE", "V2V_DEBUG", "V2V_DEVICE_DIR",
  "V2V_LOG_FORMAT", "V2V_OVERLAY_DIR", "V2V_PROBE_KERNEL",
  "V2V_SERVICEACCOUNT_DIR", "V2V_LAUNCH_TIMEOUT", "V2V_LUKS_DIR",
  "V2V_TERMINATION_LOG", "V2V_NO_SKIP",
  NULL
};

static bool
truthy (const char *v)
{
  return strcmp (v, "1") == 0 || strcasecmp (v, "true") == 0 ||
    strcasecmp (v, "yes") == 0;
}

static int
add (struct agent_argv *a, const char *arg)
{
  int r = strv_add (&a->argv, arg);

  if (r == 0)
    a->argc++;
  return r;
}

static int
add2 (struct agent_argv *a, const char *opt, const char *val)
{
  int r = add (a, opt);

  return r < 0 ? r : add (a, val);
}

static int
cmp_str (const void *x, const void *y)
{
  return strcmp (*(char *const *) x, *(char *const *) y);
}

/* Every regular file in DIR is a LUKS key, as Forklift mounts a Secret
 * there, tried on every encrypted device ("all:").  Sorted, so that the
 * order is the same on every run.
 */
static int
luks_keys (struct agent_argv *a, const char *dir)
{
  CLEANUP_STRV char **names = NULL;
  size_t n = 0;
  struct dirent *d;
  DIR *dp = opendir (dir);
  int r = 0;

  if (dp == NULL)
    return 0;
  while ((d = readdir (dp)) != NULL) {
    char path[4096];
    struct stat st;
    /* Secret volumes hold ..data and ..2024_... links: skip dot names. */
    if (d->d_name[0] == '.')
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, d->d_name);
    if (stat (path, &st) == -1 || !S_ISREG (st.st_mode))
      continue;
    if ((r = strv_add (&names, path)) < 0)
      break;
    n++;
  }
  closedir (dp);
  if (n)
    qsort (names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    char arg[4200];
    snprintf (arg, sizeof arg, "all:file:%s", names[i]);
    if (r == 0)
      r = add2 (a, "--key", arg);
  }
  if (n)
    log_info ("%zu LUKS key file(s) from %s", n, dir);
  return r;
}

int
agent_forklift_env (struct agent_argv *a, struct v2v_error *err)
{
  extern char **environ;
  const char *source = getenv ("V2V_source");
  const char *inplace = getenv ("V2V_inPlace");
  const char *v;
  int r = 0;

  if (source && *source) {
    static const char *const sources[] = { "ec2", "vSphere", "ova", "hyperv",
                                           NULL };
    size_t i;
    for (i = 0; sources[i]; i++)
      if (strcasecmp (source, sources[i]) == 0)
        break;
    if (sources[i] == NULL)
      return v2v_error_set (err, -EINVAL, "V2V_source='%s': expected ec2, "
                            "vSphere, ova or hyperv", source);
    /* Forklift's EC2 provider always converts in place; for the others
     * its image can also copy from the source, which this agent does not.
     */
    if (strcasecmp (source, "ec2") != 0 && !(inplace && truthy (inplace)))
      return v2v_error_set (err, -ENOTSUP, "V2V_source=%s without "
                            "V2V_inPlace: this agent only converts disks in "
                            "place; set V2V_inPlace=true once the disks are "
                            "attached as /dev/blockN", source);
  }
  if (inplace && *inplace && !truthy (inplace) &&
      strcasecmp (inplace, "0") != 0 && strcasecmp (inplace, "false") != 0)
    return v2v_error_set (err, -EINVAL, "V2V_inPlace='%s': expected true "
                          "or false", inplace);

  if ((v = getenv ("V2V_vmName")) && *v)
    r = r < 0 ? r : add2 (a, "--vm-name", v);
  if ((v = getenv ("V2V_NewName")) && *v)
    r = r < 0 ? r : add2 (a, "--new-name", v);
  if ((v = getenv ("V2V_RootDisk")) && *v)
    r = r < 0 ? r : add2 (a, "--root", v);
  if ((v = getenv ("V2V_NBDE_CLEVIS")) && truthy (v))
    log_warn ("V2V_NBDE_CLEVIS: Clevis/Tang unlocking is not supported by "
              "this agent; mount the LUKS passphrases as files in /etc/luks");
  v = getenv ("V2V_LUKS_DIR");
  if (r == 0)
    r = luks_keys (a, v && *v ? v : "/etc/luks");
  if (r < 0)
    return v2v_error_set (err, -ENOMEM, "out of memory");

  if ((v = getenv ("V2V_extra_args")) && *v) {
    CLEANUP_JSON struct json_object *arr = NULL;
    if (json_parse (v, strlen (v), 4, &arr, err) < 0 ||
        !json_object_is_type (arr, json_type_array)) {
      return v2v_error_set (err, -EINVAL, "V2V_extra_args: expected a JSON "
                            "array of strings, like [\"--root\", \"first\"]");
    }
    for (size_t i = 0; i < json_object_array_length (arr); i++) {
      struct json_object *s = json_object_array_get_idx (arr, i);
      if (!json_object_is_type (s, json_type_string))
        return v2v_error_set (err, -EINVAL, "V2V_extra_args: element %zu is "
                              "not a string", i);
      if (add (a, json_object_get_string (s)) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
    }
  }

  /* Anything else that looks like Forklift's is named once, value
   * unsaid (V2V_secretKey is a secret).
   */
  for (char **e = environ; *e; e++) {
    size_t len = strcspn (*e, "=");
    bool known = false;
    if (strncmp (*e, "V2V_", 4) != 0)
      continue;
    for (size_t i = 0; known_vars[i] && !known; i++)
      known = strlen (known_vars[i]) == len &&
        strncmp (*e, known_vars[i], len) == 0;
    if (!known)
      log_warn ("environment variable %.*s is not supported by v2v-agent "
                "and is ignored (docs/forklift.md)", (int) len, *e);
  }
  return 0;
}

void
agent_argv_free (struct agent_argv *a)
{
  for (int i = 0; i < a->argc; i++)
    free (a->argv[i]);
  free (a->argv);
  a->argv = NULL;
  a->argc = 0;
}

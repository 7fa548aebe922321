/* EC2 credentials: a Secret directory, the environment, or the shared
 * credentials file; see ec2.h.  Secrets are zeroed when freed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "ec2.h"

#define EC2_CRED_FILE_MAX   (64 * 1024)
#define EC2_SHARED_FILE_MAX (1024 * 1024)

static void
secret_free (char **s)
{
  if (*s) {
    explicit_bzero (*s, strlen (*s));
    free (*s);
    *s = NULL;
  }
}

void
ec2_credentials_free (struct ec2_credentials *c)
{
  if (c == NULL)
    return;
  secret_free (&c->access_key_id);
  secret_free (&c->secret_access_key);
  secret_free (&c->session_token);
}

static void
trim (char *s)
{
  size_t n = strlen (s), i = 0;

  while (n > 0 && isspace ((unsigned char) s[n - 1]))
    s[--n] = '\0';
  while (isspace ((unsigned char) s[i]))
    i++;
  memmove (s, s + i, n - i + 1);
}

/* Read a small file into a NUL-terminated string.  Returns 0, -ENOENT
 * (quietly, so the caller can try another name) or another -errno with
 * ERR set.  The buffer is zeroed on the way out of every error, since
 * these files hold secrets.
 */
static int
read_secret_file (const char *path, size_t max, char **ret,
                  struct v2v_error *err)
{
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct buf b;
  char chunk[4096];
  ssize_t n;
  int r = 0;

  if (fd == -1) {
    if (errno == ENOENT)
      return -ENOENT;
    return v2v_error_errno (err, -errno, "open %s", path);
  }
  buf_init (&b, max);
  while ((n = read (fd, chunk, sizeof chunk)) > 0)
    if (buf_append (&b, chunk, (size_t) n) < 0) {
      r = v2v_error_set (err, -E2BIG, "%s: larger than %zu bytes", path, max);
      break;
    }
  if (r == 0 && n == -1)
    r = v2v_error_errno (err, -errno, "read %s", path);
  if (r == 0 && buf_append (&b, "", 0) < 0)
    r = v2v_error_set (err, -ENOMEM, "%s: out of memory", path);
  explicit_bzero (chunk, sizeof chunk);
  if (r < 0) {
    if (b.data)
      explicit_bzero (b.data, b.cap);
    buf_free (&b);
    return r;
  }
  *ret = buf_steal (&b);
  return 0;
}

/* Read DIR/NAME, or DIR/ALT if there is no NAME, trimmed.  Sets *RET to
 * NULL if neither exists.
 */
static int
read_secret_key (const char *dir, const char *name, const char *alt,
                 char **ret, struct v2v_error *err)
{
  const char *names[] = { name, alt };

  *ret = NULL;
  for (size_t i = 0; i < 2; i++) {
    CLEANUP_FREE char *path = NULL;
    int r;

    if (asprintf (&path, "%s/%s", dir, names[i]) < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
    r = read_secret_file (path, EC2_CRED_FILE_MAX, ret, err);
    if (r == -ENOENT)
      continue;
    if (r < 0)
      return r;
    trim (*ret);
    return 0;
  }
  return 0;
}

static int
creds_from_dir (const char *dir, struct ec2_credentials *c,
                struct v2v_error *err)
{
  int r;

  r = read_secret_key (dir, "aws_access_key_id", "accessKeyId",
                       &c->access_key_id, err);
  if (r == 0)
    r = read_secret_key (dir, "aws_secret_access_key", "secretAccessKey",
                         &c->secret_access_key, err);
  if (r == 0)
    r = read_secret_key (dir, "aws_session_token", "sessionToken",
                         &c->session_token, err);
  if (r < 0) {
    v2v_error_prefix (err, "ec2_credentials_load: secret directory %s", dir);
    return r;
  }
  if (c->access_key_id == NULL || *c->access_key_id == '\0' ||
      c->secret_access_key == NULL || *c->secret_access_key == '\0')
    return v2v_error_set (err, -ENOENT,
                          "ec2_credentials_load: secret directory %s: "
                          "needs non-empty files aws_access_key_id and "
                          "aws_secret_access_key (or accessKeyId and "
                          "secretAccessKey)", dir);
  snprintf (c->source, sizeof c->source, "secret directory %s", dir);
  return 0;
}

static int
dup_secret (const char *value, char **ret, struct v2v_error *err)
{
  *ret = strdup (value);
  if (*ret == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  return 0;
}

/* Returns 1 if the environment has credentials, 0 if it has none. */
static int
creds_from_env (struct ec2_credentials *c, struct v2v_error *err)
{
  const char *id = getenv ("AWS_ACCESS_KEY_ID");
  const char *secret = getenv ("AWS_SECRET_ACCESS_KEY");
  const char *token = getenv ("AWS_SESSION_TOKEN");
  bool have_id = id && *id, have_secret = secret && *secret;

  if (!have_id && !have_secret)
    return 0;
  if (!have_id || !have_secret)
    return v2v_error_set (err, -EINVAL, "ec2_credentials_load: %s is set "
                          "but %s is not: set both, or neither",
                          have_id ? "AWS_ACCESS_KEY_ID"
                          : "AWS_SECRET_ACCESS_KEY",
                          have_id ? "AWS_SECRET_ACCESS_KEY"
                          : "AWS_ACCESS_KEY_ID");
  if (dup_secret (id, &c->access_key_id, err) < 0 ||
      dup_secret (secret, &c->secret_access_key, err) < 0 ||
      (token && *token && dup_secret (token, &c->session_token, err) < 0))
    return -ENOMEM;
  snprintf (c->source, sizeof c->source, "environment");
  return 1;
}

/* Parse the INI shared credentials file in DATA (which is modified) for
 * PROFILE.  Sections are bare profile names there, unlike ~/.aws/config's
 * "[profile NAME]"; values run to the end of the line, as botocore reads
 * them.  Returns 1 if the section exists.
 */
static int
parse_shared_file (char *data, const char *profile,
                   struct ec2_credentials *c, struct v2v_error *err)
{
  bool in_profile = false, found = false;
  char *line, *save = NULL;

  for (line = strtok_r (data, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *eq, **dst = NULL;

    trim (line);
    if (*line == '\0' || *line == '#' || *line == ';')
      continue;
    if (*line == '[') {
      char *end = strchr (line, ']');

      if (end == NULL)
        continue;
      *end = '\0';
      trim (line + 1);
      in_profile = strcmp (line + 1, profile) == 0;
      found |= in_profile;
      continue;
    }
    if (!in_profile || (eq = strchr (line, '=')) == NULL)
      continue;
    *eq = '\0';
    trim (line);
    trim (eq + 1);
    if (strcmp (line, "aws_access_key_id") == 0)
      dst = &c->access_key_id;
    else if (strcmp (line, "aws_secret_access_key") == 0)
      dst = &c->secret_access_key;
    else if (strcmp (line, "aws_session_token") == 0)
      dst = &c->session_token;
    if (dst) {
      secret_free (dst);
      if (dup_secret (eq + 1, dst, err) < 0)
        return -ENOMEM;
    }
  }
  return found;
}

static int
creds_from_shared_file (struct ec2_credentials *c, struct v2v_error *err)
{
  const char *file = getenv ("AWS_SHARED_CREDENTIALS_FILE");
  const char *profile = getenv ("AWS_PROFILE");
  const char *home = getenv ("HOME");
  CLEANUP_FREE char *path = NULL;
  char *data = NULL;
  size_t len;
  int r;

  if (profile == NULL || *profile == '\0')
    profile = "default";
  if (file && *file) {
    if (strncmp (file, "~/", 2) == 0 && home)
      r = asprintf (&path, "%s%s", home, file + 1);
    else
      r = asprintf (&path, "%s", file);
  }
  else if (home && *home)
    r = asprintf (&path, "%s/.aws/credentials", home);
  else
    return v2v_error_set (err, -ENOENT, "ec2_credentials_load: no AWS "
                          "credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or "
                          "AWS_SHARED_CREDENTIALS_FILE (HOME is not set)");
  if (r < 0)
    return v2v_error_set (err, -ENOMEM, "out of memory");

  r = read_secret_file (path, EC2_SHARED_FILE_MAX, &data, err);
  if (r == -ENOENT)
    return v2v_error_set (err, -ENOENT, "ec2_credentials_load: no AWS "
                          "credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or create %s with a [%s] "
                          "profile (or set AWS_SHARED_CREDENTIALS_FILE)",
                          path, profile);
  if (r < 0) {
    v2v_error_prefix (err, "ec2_credentials_load");
    return r;
  }
  len = strlen (data);
  r = parse_shared_file (data, profile, c, err);
  explicit_bzero (data, len);
  free (data);
  if (r < 0)
    return r;
  if (r == 0)
    return v2v_error_set (err, -ENOENT, "ec2_credentials_load: %s has no "
                          "[%s] profile (set AWS_PROFILE to another)",
                          path, profile);
  if (c->access_key_id == NULL || *c->access_key_id == '\0' ||
      c->secret_access_key == NULL || *c->secret_access_key == '\0')
    return v2v_error_set (err, -EINVAL, "ec2_credentials_load: %s: profile "
                          "[%s] needs aws_access_key_id and "
                          "aws_secret_access_key", path, profile);
  if (c->session_token && *c->session_token == '\0')
    secret_free (&c->session_token);
  snprintf (c->source, sizeof c->source, "%s profile %s", path, profile);
  return 0;
}

int
ec2_credentials_load (const char *secret_dir, struct ec2_credentials *ret,
                      struct v2v_error *err)
{
  struct ec2_credentials c = { 0 };
  int r;

  if (secret_dir)
    r = creds_from_dir (secret_dir, &c, err);
  else {
    r = creds_from_env (&c, err);
    if (r == 0)
      r = creds_from_shared_file (&c, err);
    else if (r == 1)
      r = 0;
  }
  if (r < 0) {
    ec2_credentials_free (&c);
    return r;
  }
  *ret = c;
  return 0;
}

/* EC2 Query API client; see ec2.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "buf.h"
#include "cleanup.h"
#include "ec2.h"
#include "ec2-internal.h"
#include "http.h"

#define EC2_CRED_FILE_MAX   (64 * 1024)
#define EC2_SHARED_FILE_MAX (1024 * 1024)
/* The largest EC2 requests (RunInstances with 16 KiB of UserData) are
 * far smaller; staying under 1 MiB also keeps libcurl from asking for
 * 100-continue (see common/http.c).
 */
#define EC2_BODY_MAX        (1024 * 1024)
#define EC2_RESPONSE_MAX    (16 * 1024 * 1024)
#define EC2_ACTION_MAX      64
#define EC2_DESCRIBE_MAX_PAGES 10000
/* Enough of an EC2 message to act on, short enough to leave room in
 * struct v2v_error for the retry summary.
 */
#define EC2_MESSAGE_MAX     600

DEFINE_CLEANUP_FUNC (xmlDocPtr, xmlFreeDoc)
DEFINE_CLEANUP_FUNC (xmlXPathContextPtr, xmlXPathFreeContext)
DEFINE_CLEANUP_FUNC (xmlXPathObjectPtr, xmlXPathFreeObject)
DEFINE_CLEANUP_FUNC (xmlParserCtxtPtr, xmlFreeParserCtxt)
#define CLEANUP_XMLDOC   __attribute__ ((cleanup (xmlFreeDoc_cleanup)))
#define CLEANUP_XPATHCTX __attribute__ ((cleanup (xmlXPathFreeContext_cleanup)))
#define CLEANUP_XPATHOBJ __attribute__ ((cleanup (xmlXPathFreeObject_cleanup)))
#define CLEANUP_XMLCTXT  __attribute__ ((cleanup (xmlFreeParserCtxt_cleanup)))

struct ec2_action_count {
  char action[EC2_ACTION_MAX];
  unsigned n;
};

struct ec2_client {
  char *region;
  char *endpoint;
  char *sigv4;                  /* "aws:amz:REGION:ec2" */
  struct ec2_credentials creds;

  int64_t initial_ms, cap_ms, deadline_ms;
  long timeout_ms;
  const struct backoff_clock *clock;
  void (*on_retry) (const struct v2v_error *err, int64_t delay_ms,
                    void *opaque);
  void *on_retry_opaque;

  char label[200];               /* "source account (environment)" */
  char last_error_code[128];
  struct ec2_action_count *counts;
  size_t ncounts;
  unsigned total;
};

/* Credentials. */

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

/* The client. */

static bool
region_is_valid (const char *region)
{
  size_t len = strlen (region);

  if (len == 0 || len > 32)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!islower ((unsigned char) region[i]) &&
        !isdigit ((unsigned char) region[i]) && region[i] != '-')
      return false;
  return true;
}

static const char *
getenv_nonempty (const char *name)
{
  const char *v = getenv (name);

  return v && *v ? v : NULL;
}

int
ec2_client_new (const char *region, const char *endpoint,
                const struct ec2_credentials *creds,
                struct ec2_client **ret, struct v2v_error *err)
{
  struct ec2_client *c;

  if (region == NULL)
    region = getenv_nonempty ("AWS_REGION");
  if (region == NULL)
    region = getenv_nonempty ("AWS_DEFAULT_REGION");
  if (region == NULL)
    return v2v_error_set (err, -EINVAL, "ec2_client_new: no region: "
                          "give one or set AWS_REGION");
  /* It goes into a URL and the signing scope. */
  if (!region_is_valid (region))
    return v2v_error_set (err, -EINVAL, "ec2_client_new: invalid region "
                          "\"%.64s\"", region);
  if (creds == NULL || creds->access_key_id == NULL ||
      creds->secret_access_key == NULL)
    return v2v_error_set (err, -EINVAL, "ec2_client_new: no credentials");
  if (endpoint == NULL)
    endpoint = getenv_nonempty ("AWS_ENDPOINT_URL_EC2");
  if (endpoint == NULL)
    endpoint = getenv_nonempty ("AWS_ENDPOINT_URL");
  if (endpoint && strncmp (endpoint, "http://", 7) != 0 &&
      strncmp (endpoint, "https://", 8) != 0)
    return v2v_error_set (err, -EINVAL, "ec2_client_new: endpoint \"%.200s\""
                          " is not an http:// or https:// URL", endpoint);

  c = calloc (1, sizeof *c);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  c->initial_ms = EC2_RETRY_INITIAL_MS_DEFAULT;
  c->cap_ms = EC2_RETRY_CAP_MS_DEFAULT;
  c->deadline_ms = EC2_RETRY_DEADLINE_MS_DEFAULT;
  c->timeout_ms = EC2_TIMEOUT_MS_DEFAULT;

  /* Every field is NULL if its allocation failed (asprintf leaves its
   * pointer undefined then), and one check below catches them all.
   */
  c->region = strdup (region);
  if (endpoint)
    c->endpoint = strdup (endpoint);
  else if (asprintf (&c->endpoint, "https://ec2.%s.amazonaws.com%s", region,
                     strncmp (region, "cn-", 3) == 0 ? ".cn" : "") < 0)
    c->endpoint = NULL;
  if (asprintf (&c->sigv4, "aws:amz:%s:ec2", region) < 0)
    c->sigv4 = NULL;
  c->creds.access_key_id = strdup (creds->access_key_id);
  c->creds.secret_access_key = strdup (creds->secret_access_key);
  if (creds->session_token)
    c->creds.session_token = strdup (creds->session_token);
  memcpy (c->creds.source, creds->source, sizeof c->creds.source);
  if (c->region == NULL || c->endpoint == NULL || c->sigv4 == NULL ||
      c->creds.access_key_id == NULL ||
      c->creds.secret_access_key == NULL ||
      (creds->session_token && c->creds.session_token == NULL)) {
    ec2_client_free (c);
    return v2v_error_set (err, -ENOMEM, "out of memory");
  }

  /* Idempotent; here in case main() did not. */
  xmlInitParser ();
  *ret = c;
  return 0;
}

void
ec2_client_free (struct ec2_client *c)
{
  if (c == NULL)
    return;
  ec2_credentials_free (&c->creds);
  free (c->region);
  free (c->endpoint);
  free (c->sigv4);
  free (c->counts);
  free (c);
}

const char *
ec2_client_endpoint (const struct ec2_client *c)
{
  return c->endpoint;
}

void
ec2_client_set_retry (struct ec2_client *c, int64_t initial_ms,
                      int64_t cap_ms, int64_t deadline_ms, long timeout_ms,
                      const struct backoff_clock *clock)
{
  c->initial_ms = initial_ms;
  c->cap_ms = cap_ms;
  c->deadline_ms = deadline_ms;
  c->timeout_ms = timeout_ms;
  c->clock = clock;
}

void
ec2_client_set_retry_hook (struct ec2_client *c,
                           void (*fn) (const struct v2v_error *err,
                                       int64_t delay_ms, void *opaque),
                           void *opaque)
{
  c->on_retry = fn;
  c->on_retry_opaque = opaque;
}

void
ec2_client_set_label (struct ec2_client *c, const char *label)
{
  snprintf (c->label, sizeof c->label, "%s", label ? label : "");
}

const char *
ec2_client_last_error_code (const struct ec2_client *c)
{
  return c->last_error_code;
}

unsigned
ec2_client_calls (const struct ec2_client *c, const char *action)
{
  if (action == NULL)
    return c->total;
  for (size_t i = 0; i < c->ncounts; i++)
    if (strcmp (c->counts[i].action, action) == 0)
      return c->counts[i].n;
  return 0;
}

static int
count_call (struct ec2_client *c, const char *action)
{
  struct ec2_action_count *n;

  c->total++;
  for (size_t i = 0; i < c->ncounts; i++)
    if (strcmp (c->counts[i].action, action) == 0) {
      c->counts[i].n++;
      return 0;
    }
  n = realloc (c->counts, (c->ncounts + 1) * sizeof *n);
  if (n == NULL)
    return -ENOMEM;
  c->counts = n;
  snprintf (n[c->ncounts].action, sizeof n->action, "%s", action);
  n[c->ncounts++].n = 1;
  return 0;
}

/* Requests. */

/* RFC 3986 percent-encoding, leaving only the unreserved characters, as
 * SigV4 canonicalisation expects of the body it hashes.
 */
static int
append_encoded (struct buf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s; s++) {
    unsigned char ch = (unsigned char) *s;
    int r;

    if (isalnum (ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
      r = buf_append (b, s, 1);
    else {
      char pct[3] = { '%', hex[ch >> 4], hex[ch & 15] };
      r = buf_append (b, pct, 3);
    }
    if (r < 0)
      return r;
  }
  return 0;
}

static bool
action_is_valid (const char *action)
{
  size_t len = strlen (action);

  if (len == 0 || len >= EC2_ACTION_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum ((unsigned char) action[i]))
      return false;
  return true;
}

static int
build_body (const char *action, const char *const *params, struct buf *b)
{
  int r;

  r = buf_printf (b, "Action=%s&Version=%s", action, EC2_API_VERSION);
  for (size_t i = 0; r == 0 && params && params[i]; i += 2) {
    if (params[i + 1] == NULL)
      return -EINVAL;
    r = buf_append (b, "&", 1);
    if (r == 0)
      r = append_encoded (b, params[i]);
    if (r == 0)
      r = buf_append (b, "=", 1);
    if (r == 0)
      r = append_encoded (b, params[i + 1]);
  }
  return r;
}

static void
xml_quiet (void *opaque, xmlErrorPtr error)
{
  (void) opaque;
  (void) error;
}

/* Parse a response.  EC2 never sends a DTD, and a DTD is how entity
 * expansion attacks (billion laughs, external entities) start, so any
 * document with one is refused before libxml2 sees it; the encoding is
 * forced to UTF-8 so that the check cannot be dodged with UTF-16.
 * Errors go to the parser context, not to stderr.
 */
int
ec2_internal_parse_xml (const char *action, const char *body, size_t len,
                        xmlDocPtr *ret, struct v2v_error *err)
{
  CLEANUP_XMLCTXT xmlParserCtxtPtr ctxt = NULL;
  xmlDocPtr doc;

  if (memmem (body, len, "<!DOCTYPE", 9) || memmem (body, len, "<!ENTITY", 8))
    return v2v_error_set (err, -EPROTO, "%s: response has a DTD "
                          "(refused, EC2 never sends one)", action);
  if (len > EC2_RESPONSE_MAX)
    return v2v_error_set (err, -E2BIG, "%s: response is too large", action);

  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  ctxt->sax->serror = xml_quiet;
  doc = xmlCtxtReadMemory (ctxt, body, (int) len, "ec2-response.xml",
                           "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR |
                           XML_PARSE_NOWARNING);
  if (doc == NULL || doc->intSubset || doc->extSubset ||
      xmlDocGetRootElement (doc) == NULL) {
    xmlErrorPtr e = xmlCtxtGetLastError (ctxt);
    char msg[256] = "no root element";

    if (doc && (doc->intSubset || doc->extSubset))
      snprintf (msg, sizeof msg, "has a DTD (refused)");
    else if (e && e->message) {
      snprintf (msg, sizeof msg, "line %d: %s", e->line, e->message);
      msg[strcspn (msg, "\n")] = '\0';
    }
    xmlFreeDoc (doc);
    return v2v_error_set (err, -EPROTO, "%s: response is not usable XML: %s",
                          action, msg);
  }
  *ret = doc;
  return 0;
}

/* EC2 error codes by meaning.  Codes ending in ".NotFound" are -ENOENT.
 * The throttling codes are botocore's (data/_retry.json and
 * retries/standard.py), narrowed to those EC2 can send.
 */
static const char *const throttling_codes[] = {
  "RequestLimitExceeded", "EC2ThrottledException", "Throttling",
  "ThrottlingException", "ThrottledException", "RequestThrottled",
  "RequestThrottledException", "TooManyRequestsException",
  "BandwidthLimitExceeded", "SlowDown",
};
static const char *const transient_codes[] = {
  "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable",
  "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
};
static const struct {
  const char *code;
  int err;
} code_errors[] = {
  { "AuthFailure", -EACCES },
  { "UnauthorizedOperation", -EACCES },
  { "SignatureDoesNotMatch", -EACCES },
  { "InvalidClientTokenId", -EACCES },
  { "OptInRequired", -EACCES },
  /* The signature's date is too far from EC2's clock. */
  { "RequestExpired", -EACCES },
  { "IncorrectState", -EBUSY },
  { "IncorrectInstanceState", -EBUSY },
  { "IncorrectModificationState", -EBUSY },
  { "VolumeInUse", -EBUSY },
};

static bool
code_in (const char *code, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (code, list[i]) == 0)
      return true;
  return false;
}

static int
code_errno (const char *code)
{
  size_t len = strlen (code);

  if (len >= 9 && strcmp (code + len - 9, ".NotFound") == 0)
    return -ENOENT;
  for (size_t i = 0; i < sizeof code_errors / sizeof code_errors[0]; i++)
    if (strcmp (code, code_errors[i].code) == 0)
      return code_errors[i].err;
  return -EINVAL;
}

/* One line, so that a log line stays one line. */
static void
one_line (char *s)
{
  for (; *s; s++)
    if (*s == '\n' || *s == '\r' || *s == '\t')
      *s = ' ';
}

enum attempt {
  ATTEMPT_DONE,                 /* success, or an error not worth retrying */
  ATTEMPT_THROTTLED,
  ATTEMPT_SERVER,               /* 5xx or a transient EC2 error */
  ATTEMPT_TRANSPORT,
};

/* Turn an HTTP error response into ERR and say whether to retry. */
static enum attempt
error_response (struct ec2_client *c, const char *action,
                const struct http_response *resp, int *ret_code,
                struct v2v_error *err)
{
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;
  CLEANUP_FREE char *code = NULL, *msg = NULL;
  xmlNodePtr root;
  struct v2v_error ignored;
  enum attempt kind;

  if (ec2_internal_parse_xml (action, resp->body.data, resp->body.len,
                              &doc, &ignored) == 0 &&
      (root = xmlDocGetRootElement (doc)) != NULL) {
    code = ec2_xml_text (root, "Errors/Error/Code");
    msg = ec2_xml_text (root, "Errors/Error/Message");
  }

  if (code && *code) {
    snprintf (c->last_error_code, sizeof c->last_error_code, "%s", code);
    one_line (code);
    if (msg)
      one_line (msg);
    v2v_error_set (err, 0, "%s: %.128s: %.*s", action, code,
                   EC2_MESSAGE_MAX, msg ? msg : "(no message)");
    if (code_in (code, throttling_codes,
                 sizeof throttling_codes / sizeof throttling_codes[0]))
      kind = ATTEMPT_THROTTLED;
    else if (resp->status >= 500 ||
             code_in (code, transient_codes,
                      sizeof transient_codes / sizeof transient_codes[0]))
      kind = ATTEMPT_SERVER;
    else
      kind = ATTEMPT_DONE;
    *ret_code = code_errno (code);
  }
  else {
    /* Not EC2's answer: a proxy or load balancer in the way, say. */
    char body[201];

    snprintf (body, sizeof body, "%s",
              resp->body.len ? resp->body.data : "(no body)");
    one_line (body);
    v2v_error_set (err, 0, "%s: HTTP %ld: %s", action, resp->status, body);
    if (resp->status == 429)
      kind = ATTEMPT_THROTTLED;
    else if (resp->status >= 500)
      kind = ATTEMPT_SERVER;
    else
      kind = ATTEMPT_DONE;
    *ret_code = resp->status == 401 || resp->status == 403 ? -EACCES
      : resp->status == 404 ? -ENOENT : -EINVAL;
  }
  if (kind == ATTEMPT_THROTTLED)
    *ret_code = -EAGAIN;
  else if (kind == ATTEMPT_SERVER)
    *ret_code = -EIO;
  err->code = *ret_code;
  return kind;
}

static bool
transport_retryable (int r)
{
  return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -EHOSTUNREACH ||
    r == -ECONNRESET || r == -EIO;
}

/* Mask S in MSG: a server or proxy could quote a header back at us. */
static void
mask (char *msg, const char *s)
{
  char *p;

  if (s == NULL || *s == '\0')
    return;
  while ((p = strstr (msg, s)) != NULL)
    memset (p, '*', strlen (s));
}

/* One attempt: send, and on success parse the document. */
static enum attempt
attempt (struct ec2_client *c, const char *action,
         const struct http_request *req, int64_t *ret_retry_after_ms,
         xmlDocPtr *ret_doc, int *ret_code, struct v2v_error *err)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  int r;

  *ret_retry_after_ms = -1;
  c->last_error_code[0] = '\0';
  if (count_call (c, action) < 0) {
    *ret_code = v2v_error_set (err, -ENOMEM, "out of memory");
    return ATTEMPT_DONE;
  }
  r = http_perform (req, &resp, err);
  if (r < 0) {
    v2v_error_prefix (err, "%s", action);
    *ret_code = r;
    return transport_retryable (r) ? ATTEMPT_TRANSPORT : ATTEMPT_DONE;
  }
  *ret_retry_after_ms = resp.retry_after_ms;
  if (resp.status >= 200 && resp.status < 300) {
    *ret_code = ec2_internal_parse_xml (action, resp.body.data,
                                        resp.body.len, ret_doc, err);
    return ATTEMPT_DONE;
  }
  return error_response (c, action, &resp, ret_code, err);
}

int
ec2_call (struct ec2_client *c, const char *action,
          const char *const *params, xmlDocPtr *ret_doc,
          struct v2v_error *err)
{
  return ec2_call_flags (c, action, params, 0, ret_doc, err);
}

int
ec2_call_flags (struct ec2_client *c, const char *action,
                const char *const *params, unsigned flags,
                xmlDocPtr *ret_doc, struct v2v_error *err)
{
  CLEANUP_FREE char *token_header = NULL;
  const char *headers[3] = {
    "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
    NULL, NULL,
  };
  struct v2v_error e = { 0 };
  struct buf body;
  struct backoff b;
  xmlDocPtr doc = NULL;
  int code = 0;

  c->last_error_code[0] = '\0';
  if (action == NULL || !action_is_valid (action))
    return v2v_error_set (err, -EINVAL, "ec2_call: invalid action \"%.64s\"",
                          action ? action : "(null)");
  buf_init (&body, EC2_BODY_MAX);
  code = build_body (action, params, &body);
  if (code < 0) {
    buf_free (&body);
    return v2v_error_set (err, code, "%s: %s", action,
                          code == -EINVAL ? "a parameter has no value"
                          : code == -E2BIG ? "request body too large"
                          : "out of memory");
  }
  if (c->creds.session_token) {
    if (asprintf (&token_header, "X-Amz-Security-Token: %s",
                  c->creds.session_token) < 0) {
      token_header = NULL;
      buf_free (&body);
      return v2v_error_set (err, -ENOMEM, "out of memory");
    }
    headers[1] = token_header;
  }

  struct http_request req = {
    .method = "POST",
    .url = c->endpoint,
    .headers = headers,
    .body = body.data,
    .body_len = body.len,
    .timeout_ms = c->timeout_ms,
    .aws_sigv4 = c->sigv4,
    .aws_user = c->creds.access_key_id,
    .aws_secret = c->creds.secret_access_key,
    .max_response = EC2_RESPONSE_MAX,
  };

  backoff_init (&b, c->initial_ms, c->cap_ms, c->deadline_ms,
                BACKOFF_JITTER_FULL, c->clock);
  for (;;) {
    int64_t retry_after_ms, delay_ms;
    enum attempt kind;

    kind = attempt (c, action, &req, &retry_after_ms, &doc, &code, &e);
    if (kind == ATTEMPT_DONE)
      break;
    mask (e.msg, c->creds.secret_access_key);
    mask (e.msg, c->creds.session_token);
    /* A server error or a lost connection may come after EC2 acted: a
     * request that is not idempotent is not sent again (throttling is
     * a refusal, so that one is).
     */
    if ((flags & EC2_CALL_NOT_IDEMPOTENT) && kind != ATTEMPT_THROTTLED) {
      size_t len = strlen (e.msg);

      snprintf (e.msg + len, sizeof e.msg - len, " (not repeated: EC2 may "
                "have acted on it)");
      code = -EINPROGRESS;
      break;
    }
    if (retry_after_ms >= 0)
      backoff_set_minimum (&b, retry_after_ms);
    if (backoff_next (&b, &delay_ms) < 0) {
      size_t len = strlen (e.msg);

      snprintf (e.msg + len, sizeof e.msg - len,
                " (gave up after %u attempts in %.1f s)", b.attempts + 1,
                (double) backoff_elapsed_ms (&b) / 1000);
      break;
    }
    if (c->on_retry)
      c->on_retry (&e, delay_ms, c->on_retry_opaque);
    b.clock->sleep_ms (b.clock->opaque, delay_ms);
  }

  if (token_header)
    explicit_bzero (token_header, strlen (token_header));
  buf_free (&body);
  if (code < 0) {
    mask (e.msg, c->creds.secret_access_key);
    mask (e.msg, c->creds.session_token);
    /* Refused credentials: say whose. */
    if (code == -EACCES && c->label[0])
      v2v_error_prefix (&e, "%s", c->label);
    e.code = code;
    if (err)
      *err = e;
    return code;
  }
  *ret_doc = doc;
  return 0;
}

/* Pagination. */

/* PARAMS with NextToken set to TOKEN, replacing any the caller gave. */
static const char **
params_with_token (const char *const *params, const char *token)
{
  size_t n = 0, j = 0;
  const char **p;

  while (params && params[n])
    n += 2;
  p = calloc (n + 3, sizeof *p);
  if (p == NULL)
    return NULL;
  for (size_t i = 0; i < n; i += 2)
    if (strcmp (params[i], "NextToken") != 0) {
      p[j++] = params[i];
      p[j++] = params[i + 1];
    }
  if (token) {
    p[j++] = "NextToken";
    p[j++] = token;
  }
  return p;
}

static int
describe_page (xmlDocPtr doc, const char *action, const char *item_xpath,
               int (*fn) (xmlNodePtr item, void *opaque), void *opaque,
               struct v2v_error *err)
{
  CLEANUP_XPATHCTX xmlXPathContextPtr xc = NULL;
  CLEANUP_XPATHOBJ xmlXPathObjectPtr xo = NULL;
  xmlNodeSetPtr nodes;

  xc = xmlXPathNewContext (doc);
  if (xc == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  /* Errors to the context, not stderr. */
  xc->error = xml_quiet;
  xo = xmlXPathEvalExpression ((const xmlChar *) item_xpath, xc);
  if (xo == NULL)
    return v2v_error_set (err, -EINVAL, "%s: invalid XPath \"%.200s\"",
                          action, item_xpath);
  nodes = xo->nodesetval;
  for (int i = 0; nodes && i < nodes->nodeNr; i++) {
    int r = fn (nodes->nodeTab[i], opaque);

    if (r < 0)
      return r;
  }
  return 0;
}

int
ec2_describe (struct ec2_client *c, const char *action,
              const char *const *params, const char *item_xpath,
              int (*fn) (xmlNodePtr item, void *opaque), void *opaque,
              struct v2v_error *err)
{
  CLEANUP_FREE char *token = NULL;

  if (item_xpath == NULL || fn == NULL)
    return v2v_error_set (err, -EINVAL, "ec2_describe: no XPath or callback");
  for (unsigned page = 0; ; page++) {
    CLEANUP_FREE const char **p = NULL;
    CLEANUP_XMLDOC xmlDocPtr doc = NULL;
    char *next;
    int r;

    if (page == EC2_DESCRIBE_MAX_PAGES)
      return v2v_error_set (err, -EPROTO, "%s: more than %u pages", action,
                            EC2_DESCRIBE_MAX_PAGES);
    p = params_with_token (params, token);
    if (p == NULL)
      return v2v_error_set (err, -ENOMEM, "out of memory");
    r = ec2_call (c, action, p, &doc, err);
    if (r < 0)
      return r;
    r = describe_page (doc, action, item_xpath, fn, opaque, err);
    if (r < 0)
      return r;

    next = ec2_xml_text (xmlDocGetRootElement (doc), "nextToken");
    if (next == NULL || *next == '\0') {
      free (next);
      return 0;
    }
    /* A server handing back the token it was given would loop forever. */
    if (token && strcmp (next, token) == 0) {
      free (next);
      return v2v_error_set (err, -EPROTO, "%s: the server repeated "
                            "NextToken", action);
    }
    free (token);
    token = next;
  }
}

/* XML helpers. */

static xmlNodePtr
find_path (xmlNodePtr node, const char *path)
{
  size_t n = strcspn (path, "/");

  if (n == 0)
    return node;
  for (xmlNodePtr ch = node->children; ch; ch = ch->next) {
    xmlNodePtr found;

    if (ch->type != XML_ELEMENT_NODE ||
        strlen ((const char *) ch->name) != n ||
        memcmp (ch->name, path, n) != 0)
      continue;
    found = find_path (ch, path[n] == '/' ? path + n + 1 : path + n);
    if (found)
      return found;
  }
  return NULL;
}

char *
ec2_xml_text (xmlNodePtr node, const char *path)
{
  xmlNodePtr found;
  xmlChar *text;
  char *ret;

  if (node == NULL || path == NULL)
    return NULL;
  found = find_path (node, path);
  if (found == NULL)
    return NULL;
  text = xmlNodeGetContent (found);
  if (text == NULL)
    return NULL;
  ret = strdup ((const char *) text);
  xmlFree (text);
  return ret;
}

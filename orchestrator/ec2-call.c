/* The EC2 client: requests signed with SigV4, retried through
 * common/retry.h, and EC2's errors turned into errno codes; see
 * ec2-internal.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "ec2-internal.h"
#include "http.h"
#include "retry.h"

/* The largest EC2 requests (RunInstances with 16 KiB of UserData) are
 * far smaller; staying under 1 MiB also keeps libcurl from asking for
 * 100-continue (see common/http.c).
 */
#define EC2_BODY_MAX        (1024 * 1024)
#define EC2_ACTION_MAX      64
/* Enough of an EC2 message to act on, short enough to leave room in
 * struct v2v_error for the retry summary.
 */
#define EC2_MESSAGE_MAX     600

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

  char label[200];              /* "source account (environment)" */
  unsigned page_size;           /* MaxResults of listing Describes; 0: none */
  char last_error_code[128];
  struct ec2_action_count *counts;
  size_t ncounts;
  unsigned total;
};

void
ec2_global_init (void)
{
  xmlInitParser ();
}

void
ec2_global_cleanup (void)
{
  xmlCleanupParser ();
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

void
ec2_client_set_page_size (struct ec2_client *c, unsigned n)
{
  c->page_size = n;
}

unsigned
ec2_internal_page_size (const struct ec2_client *c)
{
  return c->page_size;
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
    /* The one answer to "is this transport error worth another try". */
    return retry_http_retryable (r, 0) ? ATTEMPT_TRANSPORT : ATTEMPT_DONE;
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

/* One request of a call, as common/retry.h runs it. */
struct call {
  struct ec2_client *c;
  const char *action;
  const struct http_request *req;
  unsigned flags;
  xmlDocPtr doc;
};

static int
call_attempt (void *opaque, struct retry_attempt *a, struct v2v_error *err)
{
  struct call *k = opaque;
  struct ec2_client *c = k->c;
  int code = 0;
  enum attempt kind;

  kind = attempt (c, k->action, k->req, &a->retry_after_ms, &k->doc, &code,
                  err);
  mask (err->msg, c->creds.secret_access_key);
  mask (err->msg, c->creds.session_token);
  if (kind == ATTEMPT_DONE)
    return code;
  /* A server error or a lost connection may come after EC2 acted: a
   * request that is not idempotent is not sent again (throttling is a
   * refusal, so that one is).
   */
  if ((k->flags & EC2_CALL_NOT_IDEMPOTENT) && kind != ATTEMPT_THROTTLED) {
    size_t len = strlen (err->msg);

    snprintf (err->msg + len, sizeof err->msg - len, " (not repeated: EC2 "
              "may have acted on it)");
    return err->code = -EINPROGRESS;
  }
  a->again = true;
  return code;
}

static void
call_on_retry (void *opaque, const struct v2v_error *err, int64_t delay_ms)
{
  struct call *k = opaque;

  if (k->c->on_retry)
    k->c->on_retry (err, delay_ms, k->c->on_retry_opaque);
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
  int code;

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
  struct call k = { .c = c, .action = action, .req = &req, .flags = flags };
  const struct retry_policy policy = {
    .initial_ms = c->initial_ms, .cap_ms = c->cap_ms,
    .deadline_ms = c->deadline_ms, .jitter = BACKOFF_JITTER_FULL,
    .clock = c->clock, .on_retry = call_on_retry, .opaque = &k,
  };

  code = retry_run (&policy, call_attempt, &k, &e);
  if (token_header)
    explicit_bzero (token_header, strlen (token_header));
  buf_free (&body);
  if (code < 0) {
    xmlFreeDoc (k.doc);
    /* Refused credentials: say whose. */
    if (code == -EACCES && c->label[0])
      v2v_error_prefix (&e, "%s", c->label);
    e.code = code;
    if (err)
      *err = e;
    return code;
  }
  *ret_doc = k.doc;
  return 0;
}

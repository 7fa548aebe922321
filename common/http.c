#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"

/* State shared with the libcurl callbacks during one transfer. */
struct http_transfer {
  struct buf body;
  int body_err;                 /* why the write callback stopped, or 0 */
  int64_t retry_after_ms;
  char content_type[128];
};

/* Query parameters whose values are never shown in error messages: OAuth
 * access_token, AWS presigned X-Amz-Signature, X-Amz-Credential and
 * X-Amz-Security-Token, and the obvious ones.
 */
static const char *const secret_words[] = {
  "token", "signature", "credential", "secret", "password",
};

static bool
http_name_is_secret (const char *name, size_t len)
{
  for (size_t w = 0; w < sizeof secret_words / sizeof secret_words[0]; w++) {
    size_t wlen = strlen (secret_words[w]);

    for (size_t i = 0; i + wlen <= len; i++)
      if (strncasecmp (name + i, secret_words[w], wlen) == 0)
        return true;
  }
  return false;
}

/* Copy URL into OUT for an error message, without user:password and
 * without the values of secret-looking query parameters or a fragment.
 * OUT is capped, so a huge URL is cut short; errors just shorten it.
 */
static void
http_redact_url (const char *url, struct buf *out)
{
  const char *p = url, *sep, *q;

  sep = strstr (url, "://");
  if (sep) {
    const char *host = sep + 3;
    size_t alen = strcspn (host, "/?#");
    const char *at = memrchr (host, '@', alen);

    if (at) {
      buf_append (out, url, (size_t) (host - url));
      buf_append (out, "REDACTED", 8);
      p = at;
    }
  }

  q = p + strcspn (p, "?#");
  buf_append (out, p, (size_t) (q - p));
  if (*q != '?')
    return;

  for (p = q; *p && *p != '#'; ) {
    size_t plen = strcspn (p + 1, "&#") + 1;   /* with its '?' or '&' */
    const char *eq = memchr (p, '=', plen);

    if (eq && http_name_is_secret (p + 1, (size_t) (eq - p - 1))) {
      buf_append (out, p, (size_t) (eq + 1 - p));
      buf_append (out, "REDACTED", 8);
    }
    else
      buf_append (out, p, plen);
    p += plen;
  }
}

/* Mask every occurrence of SECRET in MSG. */
static void
http_mask (char *msg, const char *secret)
{
  size_t len;
  char *p;

  if (secret == NULL || *secret == '\0')
    return;
  len = strlen (secret);
  while ((p = strstr (msg, secret)) != NULL)
    memset (p, '*', len);
}

/* Set ERR to "METHOD URL: message" and return CODE.  The bearer token and
 * the AWS secret are masked if they turn up anyway, say quoted back by a
 * server in a curl error, so they cannot reach a log through this path.
 */
static int __attribute__ ((format (printf, 4, 5)))
http_error (struct v2v_error *err, const struct http_request *req,
            int code, const char *fmt, ...)
{
  char detail[V2V_ERROR_MAX];
  struct buf url;
  va_list ap;

  if (err == NULL)
    return code;

  va_start (ap, fmt);
  vsnprintf (detail, sizeof detail, fmt, ap);
  va_end (ap);

  buf_init (&url, V2V_ERROR_MAX / 2);
  http_redact_url (req->url, &url);
  v2v_error_set (err, code, "%s %s: %s",
                 req->method ? req->method : "GET",
                 url.data ? url.data : "", detail);
  buf_free (&url);

  http_mask (err->msg, req->bearer_token);
  http_mask (err->msg, req->aws_secret);
  return code;
}

static http_trace_fn http_trace;

void
http_set_trace (http_trace_fn fn)
{
  http_trace = fn;
}

static void
trace (CURL *curl, const struct http_request *req, const char *method,
       long status)
{
  struct buf url;
  double secs = 0;

  if (http_trace == NULL)
    return;
  buf_init (&url, 4096);
  http_redact_url (req->url, &url);
  curl_easy_getinfo (curl, CURLINFO_TOTAL_TIME, &secs);
  http_trace (method, url.data ? url.data : "", status, secs);
  buf_free (&url);
}

static int
http_curl_errno (CURLcode rc)
{
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return -ETIMEDOUT;
  case CURLE_COULDNT_CONNECT:
    return -ECONNREFUSED;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return -EHOSTUNREACH;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    return -ECONNRESET;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_USE_SSL_FAILED:
    return -EPROTO;
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_BAD_FUNCTION_ARGUMENT:
    return -EINVAL;
  case CURLE_OUT_OF_MEMORY:
    return -ENOMEM;
  case CURLE_FILESIZE_EXCEEDED:
    return -E2BIG;
  default:
    return -EIO;
  }
}

static size_t
http_write_cb (char *ptr, size_t size, size_t nmemb, void *opaque)
{
  struct http_transfer *t = opaque;
  size_t len = size * nmemb;    /* size is always 1 */
  int r;

  r = buf_append (&t->body, ptr, len);
  if (r < 0) {
    t->body_err = r;
    return 0;                   /* makes curl fail with CURLE_WRITE_ERROR */
  }
  return len;
}

/* If the header line at LINE (LEN bytes, not NUL-terminated) is NAME,
 * copy its value, trimmed, into VALUE and return true.
 */
static bool
http_header_value (const char *line, size_t len, const char *name,
                   char *value, size_t valuelen)
{
  size_t nlen = strlen (name);

  if (len <= nlen || line[nlen] != ':' || strncasecmp (line, name, nlen) != 0)
    return false;
  line += nlen + 1;
  len -= nlen + 1;
  while (len > 0 && (*line == ' ' || *line == '\t')) {
    line++;
    len--;
  }
  while (len > 0 && strchr (" \t\r\n", line[len - 1]))
    len--;
  if (len >= valuelen)
    len = valuelen - 1;
  memcpy (value, line, len);
  value[len] = '\0';
  return true;
}

/* Retry-After is either delay-seconds or an HTTP-date (RFC 9110
 * section 10.2.3).  Returns milliseconds from now, or -1 if unparsable.
 */
static int64_t
http_parse_retry_after (const char *value)
{
  if (*value >= '0' && *value <= '9') {
    char *end;
    long long secs;

    errno = 0;
    secs = strtoll (value, &end, 10);
    if (*end != '\0')
      return -1;
    /* A day is longer than any deadline here; keep the arithmetic safe. */
    if (errno == ERANGE || secs > 86400)
      secs = 86400;
    return (int64_t) secs * 1000;
  }
  else {
    time_t when = curl_getdate (value, NULL);
    time_t now = time (NULL);

    if (when == -1)
      return -1;
    return when > now ? (int64_t) (when - now) * 1000 : 0;
  }
}

static size_t
http_header_cb (char *ptr, size_t size, size_t nitems, void *opaque)
{
  struct http_transfer *t = opaque;
  size_t len = size * nitems;
  char value[128];

  /* Headers after a new status line (following "100 Continue", or a
   * proxy's answer to CONNECT) belong to a new response.
   */
  if (len >= 5 && strncmp (ptr, "HTTP/", 5) == 0) {
    t->retry_after_ms = -1;
    t->content_type[0] = '\0';
  }
  else if (http_header_value (ptr, len, "Retry-After", value, sizeof value))
    t->retry_after_ms = http_parse_retry_after (value);
  else
    http_header_value (ptr, len, "Content-Type",
                       t->content_type, sizeof t->content_type);
  return len;
}

/* Sockets are created close-on-exec atomically: the agent runs helpers,
 * and they must not inherit a connection to the API server.
 */
static curl_socket_t
http_open_socket (void *opaque, curlsocktype purpose,
                  struct curl_sockaddr *addr)
{
  (void) opaque;
  (void) purpose;
  return socket (addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static bool
http_method_is_valid (const char *method)
{
  size_t len = strlen (method);

  if (len == 0 || len > 16)
    return false;
  for (size_t i = 0; i < len; i++)
    if (method[i] < 'A' || method[i] > 'Z')
      return false;
  return true;
}

static bool
http_method_has_body (const char *method)
{
  return strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0 &&
    strcmp (method, "DELETE") != 0 && strcmp (method, "OPTIONS") != 0;
}

/* Set a libcurl option unless an earlier one failed: the first failure
 * is kept in RC and reported once after all the options.
 */
#define HTTP_SETOPT(curl, rc, opt, val)                 \
  do {                                                  \
    if ((rc) == CURLE_OK)                               \
      (rc) = curl_easy_setopt ((curl), (opt), (val));   \
  } while (0)

int
http_perform (const struct http_request *req, struct http_response *ret,
              struct v2v_error *err)
{
  CLEANUP_CURL CURL *curl = NULL;
  CLEANUP_CURL_SLIST struct curl_slist *headers = NULL;
  const char *method = req->method ? req->method : "GET";
  size_t max = req->max_response ? req->max_response
    : HTTP_MAX_RESPONSE_DEFAULT;
  long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms
    : HTTP_TIMEOUT_DEFAULT_MS;
  struct http_transfer t = { .retry_after_ms = -1 };
  char errbuf[CURL_ERROR_SIZE] = "";
  CURLcode rc = CURLE_OK;
  long status = 0;

  if (req->url == NULL)
    return v2v_error_set (err, -EINVAL, "http_perform: no URL");
  if (!http_method_is_valid (method))
    return v2v_error_set (err, -EINVAL, "http_perform: invalid method");

  /* Refuse rather than let a value smuggle in a header of its own.  The
   * values are not shown: one may be an Authorization header.
   */
  for (size_t i = 0; req->headers && req->headers[i]; i++)
    if (strpbrk (req->headers[i], "\r\n"))
      return http_error (err, req, -EINVAL,
                         "header %zu contains CR or LF", i);
  if (req->bearer_token && strpbrk (req->bearer_token, "\r\n"))
    return http_error (err, req, -EINVAL, "bearer token contains CR or LF");
  /* For the same reason as "Expect:" below, a header that removes one
   * of libcurl's would be signed but not sent.
   */
  for (size_t i = 0; req->aws_sigv4 && req->headers && req->headers[i]; i++) {
    const char *colon = strchr (req->headers[i], ':');

    if (colon == NULL || colon[1 + strspn (colon + 1, " \t")] == '\0')
      return http_error (err, req, -EINVAL, "header %zu has no value, "
                         "which cannot be signed", i);
  }
  if (req->aws_sigv4 && req->aws_user == NULL)
    return http_error (err, req, -EINVAL, "aws_sigv4 without aws_user");
  if (req->aws_user && strpbrk (req->aws_user, "\r\n"))
    return http_error (err, req, -EINVAL, "AWS access key ID contains CR or LF");

  buf_init (&t.body, max);

  curl = curl_easy_init ();
  if (curl == NULL)
    return http_error (err, req, -ENOMEM, "curl_easy_init failed");

  /* 100-continue costs a round trip, or a second, per upload.  Not when
   * signing: libcurl 7.88's SigV4 signs every header in the list, "Expect:"
   * (which only tells it not to send one) included, with an empty value,
   * and the server, which never sees it, computes another signature.
   * Signed bodies stay below libcurl's 100-continue threshold (1 MiB)
   * anyway.
   */
  if (req->aws_sigv4 == NULL) {
    headers = curl_slist_append (headers, "Expect:");
    if (headers == NULL)
      return http_error (err, req, -ENOMEM, "curl_slist_append failed");
  }
  for (size_t i = 0; req->headers && req->headers[i]; i++) {
    struct curl_slist *h = curl_slist_append (headers, req->headers[i]);

    if (h == NULL)
      return http_error (err, req, -ENOMEM, "curl_slist_append failed");
    headers = h;
  }

  HTTP_SETOPT (curl, rc, CURLOPT_ERRORBUFFER, errbuf);
  HTTP_SETOPT (curl, rc, CURLOPT_URL, req->url);
  HTTP_SETOPT (curl, rc, CURLOPT_PROTOCOLS_STR, "http,https");
  HTTP_SETOPT (curl, rc, CURLOPT_FOLLOWLOCATION, 0L);
  HTTP_SETOPT (curl, rc, CURLOPT_NOSIGNAL, 1L);
  HTTP_SETOPT (curl, rc, CURLOPT_TIMEOUT_MS, timeout_ms);
  HTTP_SETOPT (curl, rc, CURLOPT_USERAGENT, "v2v-kubevirt/" V2V_VERSION);
  HTTP_SETOPT (curl, rc, CURLOPT_HTTPHEADER, headers);
  HTTP_SETOPT (curl, rc, CURLOPT_OPENSOCKETFUNCTION, http_open_socket);
  HTTP_SETOPT (curl, rc, CURLOPT_WRITEFUNCTION, http_write_cb);
  HTTP_SETOPT (curl, rc, CURLOPT_WRITEDATA, &t);
  HTTP_SETOPT (curl, rc, CURLOPT_HEADERFUNCTION, http_header_cb);
  HTTP_SETOPT (curl, rc, CURLOPT_HEADERDATA, &t);
  /* Fails early when Content-Length is known; the buffer's cap catches
   * chunked bodies.
   */
  HTTP_SETOPT (curl, rc, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max);

  HTTP_SETOPT (curl, rc, CURLOPT_SSL_VERIFYPEER, req->insecure ? 0L : 1L);
  HTTP_SETOPT (curl, rc, CURLOPT_SSL_VERIFYHOST, req->insecure ? 0L : 2L);
  if (req->ca_blob) {
    struct curl_blob blob = {
      .data = (void *) req->ca_blob, .len = req->ca_blob_len,
      .flags = CURL_BLOB_COPY,
    };
    HTTP_SETOPT (curl, rc, CURLOPT_CAINFO_BLOB, &blob);
  }
  else if (req->ca_file)
    HTTP_SETOPT (curl, rc, CURLOPT_CAINFO, req->ca_file);

  if (req->bearer_token) {
    /* libcurl sends this to the original host only. */
    HTTP_SETOPT (curl, rc, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    HTTP_SETOPT (curl, rc, CURLOPT_XOAUTH2_BEARER, req->bearer_token);
  }

  if (req->aws_sigv4) {
    /* libcurl signs the method, path, query, every header it sends, and
     * the body; the user name and password are the access key ID and the
     * secret.  Setting them apart, rather than as "id:secret" in
     * CURLOPT_USERPWD, means a ':' in either cannot split them wrongly.
     */
    HTTP_SETOPT (curl, rc, CURLOPT_AWS_SIGV4, req->aws_sigv4);
    HTTP_SETOPT (curl, rc, CURLOPT_USERNAME, req->aws_user);
    HTTP_SETOPT (curl, rc, CURLOPT_PASSWORD,
                 req->aws_secret ? req->aws_secret : "");
  }

  if (strcmp (method, "HEAD") == 0)
    HTTP_SETOPT (curl, rc, CURLOPT_NOBODY, 1L);
  else if (strcmp (method, "GET") == 0 && req->body == NULL)
    HTTP_SETOPT (curl, rc, CURLOPT_HTTPGET, 1L);
  else {
    HTTP_SETOPT (curl, rc, CURLOPT_CUSTOMREQUEST, method);
    if (req->body || http_method_has_body (method)) {
      HTTP_SETOPT (curl, rc, CURLOPT_POSTFIELDS,
                   req->body ? (const char *) req->body : "");
      HTTP_SETOPT (curl, rc, CURLOPT_POSTFIELDSIZE_LARGE,
                   (curl_off_t) (req->body ? req->body_len : 0));
    }
  }

  if (rc != CURLE_OK)
    return http_error (err, req, http_curl_errno (rc), "%s",
                       curl_easy_strerror (rc));

  rc = curl_easy_perform (curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  trace (curl, req, method, status);
  if (t.body_err == -E2BIG || rc == CURLE_FILESIZE_EXCEEDED) {
    buf_free (&t.body);
    return http_error (err, req, -E2BIG,
                       "response body is larger than %zu bytes", max);
  }
  if (t.body_err) {
    buf_free (&t.body);
    return http_error (err, req, t.body_err, "storing the response: %s",
                       strerror (-t.body_err));
  }
  if (rc != CURLE_OK) {
    buf_free (&t.body);
    return http_error (err, req, http_curl_errno (rc), "%s",
                       errbuf[0] ? errbuf : curl_easy_strerror (rc));
  }

  /* Promise callers a NUL-terminated body even when it is empty. */
  if (t.body.data == NULL && buf_append (&t.body, "", 0) < 0)
    return http_error (err, req, -ENOMEM, "storing the response: %s",
                       strerror (ENOMEM));

  ret->status = status;
  ret->body = t.body;
  ret->retry_after_ms = t.retry_after_ms;
  memcpy (ret->content_type, t.content_type, sizeof ret->content_type);
  return 0;
}

void
http_response_free (struct http_response *resp)
{
  buf_free (&resp->body);
}

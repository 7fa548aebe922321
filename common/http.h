/* A thin libcurl wrapper for the Kubernetes and EC2 clients: one request,
 * one response, errors translated into struct v2v_error where they enter.
 *
 * TLS peers are always verified unless the request says insecure.  Only
 * http and https are allowed, redirects are not followed, and proxies
 * come from the usual environment variables.  Error messages name the
 * method and URL, with any user:password and token-like query values
 * (token, signature, secret, password, credential) replaced by
 * "REDACTED"; no header, no bearer token and no AWS secret ever appears
 * in them.
 *
 * Call curl_global_init (CURL_GLOBAL_DEFAULT) from main() before
 * starting threads; libcurl otherwise does it on first use, unsafely.
 */
#ifndef V2V_COMMON_HTTP_H
#define V2V_COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"

DEFINE_CLEANUP_FUNC (CURL *, curl_easy_cleanup)
DEFINE_CLEANUP_FUNC (struct curl_slist *, curl_slist_free_all)
#define CLEANUP_CURL       __attribute__ ((cleanup (curl_easy_cleanup_cleanup)))
#define CLEANUP_CURL_SLIST \
  __attribute__ ((cleanup (curl_slist_free_all_cleanup)))

#define HTTP_TIMEOUT_DEFAULT_MS      30000
#define HTTP_MAX_RESPONSE_DEFAULT    (16 * 1024 * 1024)

/* Nothing here is copied past http_perform or freed by it. */
struct http_request {
  const char *method;           /* "GET", "POST", "PATCH"...; NULL: GET */
  const char *url;
  const char *const *headers;   /* NULL-terminated "Name: value", or NULL;
                                   give Content-Type with a body */
  const void *body;             /* NULL: none for GET, HEAD, DELETE, OPTIONS,
                                   an empty one for other methods */
  size_t body_len;
  long timeout_ms;              /* whole exchange; 0: HTTP_TIMEOUT_DEFAULT_MS */
  const char *ca_file;          /* PEM bundle to trust instead of the system's */
  const void *ca_blob;          /* PEM in memory, e.g. a service account's */
  size_t ca_blob_len;           /*   ca.crt; takes precedence over ca_file */
  const char *bearer_token;     /* sent as "Authorization: Bearer ..." */
  const char *aws_sigv4;        /* sign with AWS SigV4, "aws:amz:REGION:SERVICE"
                                   (CURLOPT_AWS_SIGV4); needs aws_user */
  const char *aws_user;         /* access key ID */
  const char *aws_secret;       /* secret access key: never in messages */
  bool insecure;                /* skip TLS verification: tests only */
  size_t max_response;          /* body cap; 0: HTTP_MAX_RESPONSE_DEFAULT */
};

struct http_response {
  long status;                  /* HTTP status code */
  struct buf body;              /* NUL-terminated; free with http_response_free */
  int64_t retry_after_ms;       /* Retry-After (seconds or a date), or -1 */
  char content_type[128];       /* Content-Type, or "" */
};

/* Perform REQ.  Any HTTP status, 4xx and 5xx included, is a success:
 * the caller decides what the status means.  On success sets *RET, whose
 * body the caller frees with http_response_free; initialise the variable
 * to { 0 } when using CLEANUP_HTTP_RESPONSE.
 *
 * Returns 0 or, with "METHOD URL: reason" in ERR:
 *  -EINVAL       bad method, URL, header or protocol
 *  -E2BIG        the response body is larger than max_response
 *  -ETIMEDOUT    timeout_ms passed
 *  -ECONNREFUSED nothing listening
 *  -EHOSTUNREACH name resolution failed
 *  -ECONNRESET   the connection broke or closed early
 *  -EPROTO       TLS failure, including certificate verification
 *  -ENOMEM       out of memory
 *  -EIO          anything else
 * -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET and -EIO are
 * worth a retry with backoff.h; the others are not.
 */
extern int http_perform (const struct http_request *req,
                         struct http_response *ret, struct v2v_error *err);

/* If set, called after every request that got as far as being sent,
 * for debug logs: METHOD, the URL with user info and secret-looking
 * query values redacted, the HTTP status (0 if no response came), the
 * seconds it took.  Set once at start-up, before any thread runs.
 */
typedef void (*http_trace_fn) (const char *method, const char *url,
                               long status, double seconds);
extern void http_set_trace (http_trace_fn fn);

/* Free the body.  Accepts a zeroed or already freed response. */
extern void http_response_free (struct http_response *resp);

#define CLEANUP_HTTP_RESPONSE __attribute__ ((cleanup (http_response_free)))

#endif /* V2V_COMMON_HTTP_H */

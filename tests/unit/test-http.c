/* http_perform against a real HTTP server on 127.0.0.1 (libmicrohttpd),
 * which records the exact request it received and returns canned
 * replies chosen by path.  After nbdkit tests/web-server.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "http.h"

#define TOKEN "eyJhbGciOiJSUzI1NiJ9.s3cr3t-b34r3r-T0KEN"
#define BIG_LEN 100000
#define USER_AGENT "v2v-kubevirt/" V2V_VERSION

#define cr_assert_prefix(s, prefix)                                     \
  cr_assert_eq (strncmp ((s), (prefix), strlen (prefix)), 0,            \
                "\"%s\" does not start with \"%s\"", (s), (prefix))

/* What the server saw of the last complete request. */
struct seen {
  unsigned count;
  char method[16];
  char path[256];
  char label_selector[64];
  struct buf headers;           /* "Name: value\n" in arrival order */
  struct buf body;
  int client_cloexec;           /* -1: client socket not found */
};

static struct {
  struct MHD_Daemon *daemon;
  int port;
  bool tls;
  atomic_bool stopping;
  pthread_mutex_t lock;
  struct seen seen;
  char *cert_pem, *key_pem;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static char url[512];

static const char *
make_url (const char *path)
{
  snprintf (url, sizeof url, "%s://127.0.0.1:%d%s",
            srv.tls ? "https" : "http", srv.port, path);
  return url;
}

static enum MHD_Result
record_header (void *cls, enum MHD_ValueKind kind, const char *key,
               const char *value)
{
  (void) cls;
  (void) kind;
  buf_printf (&srv.seen.headers, "%s: %s\n", key, value ? value : "");
  return MHD_YES;
}

/* Find the client's end of this connection among our own descriptors,
 * since client and server share the process, and report FD_CLOEXEC.
 */
static int
client_fd_cloexec (struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
    MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr_in *peer;
  DIR *d;
  struct dirent *e;
  int ret = -1;

  if (ci == NULL || ci->client_addr->sa_family != AF_INET)
    return -1;
  peer = (const struct sockaddr_in *) ci->client_addr;
  d = opendir ("/proc/self/fd");
  if (d == NULL)
    return -1;
  while ((e = readdir (d)) != NULL) {
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    int fd = atoi (e->d_name);

    if (e->d_name[0] == '.' ||
        getsockname (fd, (struct sockaddr *) &local, &len) == -1 ||
        local.sin_family != AF_INET || local.sin_port != peer->sin_port)
      continue;
    ret = (fcntl (fd, F_GETFD) & FD_CLOEXEC) != 0;
    break;
  }
  closedir (d);
  return ret;
}

static ssize_t
chunked_reader (void *cls, uint64_t pos, char *out, size_t max)
{
  (void) cls;
  if (pos >= BIG_LEN)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (max > BIG_LEN - pos)
    max = BIG_LEN - pos;
  memset (out, 'c', max);
  return (ssize_t) max;
}

static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, const char *body,
       const char *hname, const char *hvalue)
{
  struct MHD_Response *resp;
  enum MHD_Result r;

  resp = MHD_create_response_from_buffer (strlen (body), (void *) body,
                                          MHD_RESPMEM_MUST_COPY);
  if (hname)
    MHD_add_response_header (resp, hname, hvalue);
  r = MHD_queue_response (conn, status, resp);
  MHD_destroy_response (resp);
  return r;
}

static enum MHD_Result
handler (void *cls, struct MHD_Connection *conn, const char *path,
         const char *method, const char *version, const char *upload,
         size_t *upload_size, void **req_cls)
{
  static int started;
  const char *sel;

  (void) cls;
  (void) version;

  if (*req_cls == NULL) {
    *req_cls = &started;
    pthread_mutex_lock (&srv.lock);
    buf_free (&srv.seen.headers);
    buf_free (&srv.seen.body);
    pthread_mutex_unlock (&srv.lock);
    return MHD_YES;
  }
  if (*upload_size) {
    pthread_mutex_lock (&srv.lock);
    buf_append (&srv.seen.body, upload, *upload_size);
    pthread_mutex_unlock (&srv.lock);
    *upload_size = 0;
    return MHD_YES;
  }

  pthread_mutex_lock (&srv.lock);
  srv.seen.count++;
  snprintf (srv.seen.method, sizeof srv.seen.method, "%s", method);
  snprintf (srv.seen.path, sizeof srv.seen.path, "%s", path);
  sel = MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND,
                                     "labelSelector");
  snprintf (srv.seen.label_selector, sizeof srv.seen.label_selector, "%s",
            sel ? sel : "");
  MHD_get_connection_values (conn, MHD_HEADER_KIND, record_header, NULL);
  srv.seen.client_cloexec = client_fd_cloexec (conn);
  pthread_mutex_unlock (&srv.lock);

  if (strcmp (path, "/created") == 0)
    return reply (conn, 201, "{\"kind\":\"Pod\"}",
                  "Content-Type", "application/json");
  if (strcmp (path, "/missing") == 0)
    return reply (conn, 404, "no such pod", NULL, NULL);
  if (strcmp (path, "/busy") == 0)
    return reply (conn, 429, "slow down", "Retry-After", "7");
  if (strcmp (path, "/busy-date") == 0) {
    char date[64];
    time_t when = time (NULL) + 30;
    struct tm tm;

    gmtime_r (&when, &tm);
    strftime (date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return reply (conn, 503, "", "Retry-After", date);
  }
  if (strcmp (path, "/redirect") == 0)
    return reply (conn, 302, "", "Location", "/created");
  if (strcmp (path, "/empty") == 0)
    return reply (conn, 204, "", NULL, NULL);
  if (strcmp (path, "/big") == 0) {
    static char big[BIG_LEN + 1];

    memset (big, 'b', BIG_LEN);
    return reply (conn, 200, big, NULL, NULL);
  }
  if (strcmp (path, "/chunked") == 0) {
    struct MHD_Response *resp;
    enum MHD_Result r;

    resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 4096,
                                              chunked_reader, NULL, NULL);
    r = MHD_queue_response (conn, 200, resp);
    MHD_destroy_response (resp);
    return r;
  }
  if (strcmp (path, "/slow") == 0) {
    for (int i = 0; i < 300 && !srv.stopping; i++)
      usleep (10000);
    return reply (conn, 200, "late", NULL, NULL);
  }
  return reply (conn, 200, "hello", "Content-Type", "text/plain");
}

static void
unset_proxies (void)
{
  const char *vars[] = {
    "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  };

  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    unsetenv (vars[i]);
}

static void
server_start (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  const union MHD_DaemonInfo *info;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

  unset_proxies ();
  buf_init (&srv.seen.headers, 1 << 16);
  buf_init (&srv.seen.body, 1 << 20);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (srv.tls)
    srv.daemon = MHD_start_daemon (flags | MHD_USE_TLS, 0, NULL, NULL,
                                   handler, NULL,
                                   MHD_OPTION_SOCK_ADDR, &addr,
                                   MHD_OPTION_HTTPS_MEM_KEY, srv.key_pem,
                                   MHD_OPTION_HTTPS_MEM_CERT, srv.cert_pem,
                                   MHD_OPTION_END);
  else
    srv.daemon = MHD_start_daemon (flags, 0, NULL, NULL, handler, NULL,
                                   MHD_OPTION_SOCK_ADDR, &addr,
                                   MHD_OPTION_END);
  cr_assert_not_null (srv.daemon, "MHD_start_daemon failed");
  info = MHD_get_daemon_info (srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
  cr_assert_not_null (info);
  srv.port = info->port;
  cr_assert_gt (srv.port, 0);
}

static void
server_stop (void)
{
  srv.stopping = true;
  if (srv.daemon)
    MHD_stop_daemon (srv.daemon);
  buf_free (&srv.seen.headers);
  buf_free (&srv.seen.body);
  free (srv.cert_pem);
  free (srv.key_pem);
}

/* A port with nothing listening on it. */
static int
closed_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  cr_assert_geq (fd, 0);
  cr_assert_eq (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
  cr_assert_eq (getsockname (fd, (struct sockaddr *) &addr, &len), 0);
  close (fd);
  return ntohs (addr.sin_port);
}

TestSuite (http, .init = server_start, .fini = server_stop);

/* Requests as the server saw them. */

Test (http, get_sends_exact_request)
{
  const char *headers[] = {
    "Accept: application/json", "X-Trace: abc-123", NULL,
  };
  struct http_request req = {
    .url = make_url ("/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb"),
    .headers = headers,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char want[256];

  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  cr_assert_eq (srv.seen.count, 1);
  cr_assert_str_eq (srv.seen.method, "GET");
  cr_assert_str_eq (srv.seen.path, "/api/v1/namespaces/ns/pods");
  cr_assert_str_eq (srv.seen.label_selector, "app=web");
  snprintf (want, sizeof want,
            "Host: 127.0.0.1:%d\n"
            "User-Agent: " USER_AGENT "\n"
            "Accept: application/json\n"
            "X-Trace: abc-123\n", srv.port);
  cr_assert_str_eq (srv.seen.headers.data, want);
  cr_assert_eq (srv.seen.body.len, 0);
}

Test (http, post_sends_exact_body_without_expect)
{
  /* Past 1 KiB, where libcurl would otherwise wait for 100-continue. */
  static char body[4000];
  const char *headers[] = { "Content-Type: application/json", NULL };
  struct http_request req = {
    .method = "POST", .url = make_url ("/created"), .headers = headers,
    .body = body, .body_len = sizeof body,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  memset (body, 'j', sizeof body);
  memcpy (body, "{\"a\":\"", 6);
  memcpy (body + sizeof body - 2, "\"}", 2);
  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  cr_assert_str_eq (srv.seen.method, "POST");
  cr_assert_eq (srv.seen.body.len, sizeof body);
  cr_assert_eq (memcmp (srv.seen.body.data, body, sizeof body), 0);
  cr_assert_not_null (strstr (srv.seen.headers.data,
                              "Content-Type: application/json\n"));
  cr_assert_not_null (strstr (srv.seen.headers.data,
                              "Content-Length: 4000\n"));
  cr_assert_null (strcasestr (srv.seen.headers.data, "Expect:"));
}

Test (http, patch_sends_method_and_body)
{
  const char *patch = "{\"metadata\":{\"annotations\":{\"a\":\"b\"}}}";
  const char *headers[] = {
    "Content-Type: application/merge-patch+json", NULL,
  };
  struct http_request req = {
    .method = "PATCH", .url = make_url ("/apis/x/v1/ns/y"),
    .headers = headers, .body = patch, .body_len = strlen (patch),
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  cr_assert_str_eq (srv.seen.method, "PATCH");
  cr_assert_str_eq (srv.seen.path, "/apis/x/v1/ns/y");
  cr_assert_str_eq (srv.seen.body.data, patch);
  cr_assert_not_null (strstr (srv.seen.headers.data,
                              "Content-Type: application/merge-patch+json\n"));
}

Test (http, post_without_body_sends_empty_body)
{
  struct http_request req = { .method = "POST", .url = make_url ("/x") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_str_eq (srv.seen.method, "POST");
  cr_assert_not_null (strstr (srv.seen.headers.data, "Content-Length: 0\n"));
  cr_assert_eq (srv.seen.body.len, 0);
}

Test (http, delete_sends_no_body)
{
  struct http_request req = { .method = "DELETE", .url = make_url ("/pod") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_str_eq (srv.seen.method, "DELETE");
  cr_assert_null (strstr (srv.seen.headers.data, "Content-Length"));
  cr_assert_eq (srv.seen.body.len, 0);
}

Test (http, bearer_token_sent_as_authorization)
{
  struct http_request req = { .url = make_url ("/x"), .bearer_token = TOKEN };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_not_null (strstr (srv.seen.headers.data,
                              "Authorization: Bearer " TOKEN "\n"),
                      "%s", srv.seen.headers.data);
}

#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

Test (http, aws_sigv4_signs_request)
{
  const char *headers[] = {
    "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL,
  };
  struct http_request req = {
    .method = "POST", .url = make_url ("/"), .headers = headers,
    .body = "Action=X", .body_len = 8,
    .aws_sigv4 = "aws:amz:us-east-1:ec2",
    .aws_user = "AKIDEXAMPLE", .aws_secret = AWS_SECRET,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  cr_assert_not_null (strstr (srv.seen.headers.data,
                              "Authorization: AWS4-HMAC-SHA256 "
                              "Credential=AKIDEXAMPLE/"),
                      "%s", srv.seen.headers.data);
  cr_assert_not_null (strstr (srv.seen.headers.data, "X-Amz-Date: "));
  cr_assert_null (strstr (srv.seen.headers.data, AWS_SECRET));
}

Test (http, aws_sigv4_signs_only_headers_it_sends)
{
  /* Past 1 KiB, as in post_sends_exact_body_without_expect. */
  static char body[4000];
  const char *headers[] = { "Content-Type: text/plain", NULL };
  struct http_request req = {
    .method = "POST", .url = make_url ("/"), .headers = headers,
    .body = body, .body_len = sizeof body,
    .aws_sigv4 = "aws:amz:us-east-1:ec2",
    .aws_user = "AKIDEXAMPLE", .aws_secret = AWS_SECRET,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  const char *signed_headers;

  memset (body, 'x', sizeof body);
  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  signed_headers = strstr (srv.seen.headers.data, "SignedHeaders=");
  cr_assert_not_null (signed_headers, "%s", srv.seen.headers.data);
  cr_assert_eq (strncmp (signed_headers,
                         "SignedHeaders=content-type;host;x-amz-date,", 43),
                0, "%s", srv.seen.headers.data);
  cr_assert_null (strcasestr (srv.seen.headers.data, "Expect:"));
  cr_assert_eq (srv.seen.body.len, sizeof body);
}

Test (http, aws_sigv4_refuses_header_without_value)
{
  const char *headers[] = { "Accept:", NULL };
  struct http_request req = {
    .url = make_url ("/"), .headers = headers,
    .aws_sigv4 = "aws:amz:us-east-1:ec2",
    .aws_user = "AKIDEXAMPLE", .aws_secret = AWS_SECRET,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  cr_assert_not_null (strstr (err.msg, ": header 0 has no value, which "
                              "cannot be signed"), "%s", err.msg);
  cr_assert_eq (srv.seen.count, 0);
}

Test (http, aws_secret_is_masked_in_errors)
{
  int port = closed_port ();
  char u[256];
  struct http_request req = {
    .url = u, .aws_sigv4 = "aws:amz:us-east-1:ec2",
    .aws_user = "AKIDEXAMPLE", .aws_secret = AWS_SECRET,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  /* Only a URL can carry the secret into a message here; it stands for
   * a server or proxy that quotes it back.
   */
  snprintf (u, sizeof u, "http://127.0.0.1:%d/" AWS_SECRET, port);
  cr_assert_eq (http_perform (&req, &resp, &err), -ECONNREFUSED);
  cr_assert_prefix (err.msg, "GET http://127.0.0.1:");
  cr_assert_null (strstr (err.msg, AWS_SECRET), "%s", err.msg);
}

Test (http, client_socket_is_cloexec)
{
  struct http_request req = { .url = make_url ("/x") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (srv.seen.client_cloexec, 1);
}

/* Responses. */

Test (http, status_body_and_content_type_returned)
{
  struct http_request req = { .method = "POST", .url = make_url ("/created") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.status, 201);
  cr_assert_eq (resp.body.len, 14);
  cr_assert_str_eq (resp.body.data, "{\"kind\":\"Pod\"}");
  cr_assert_str_eq (resp.content_type, "application/json");
  cr_assert_eq (resp.retry_after_ms, -1);
}

Test (http, error_status_is_returned_not_failed)
{
  struct http_request req = { .url = make_url ("/missing") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), 0);
  cr_assert_eq (resp.status, 404);
  cr_assert_str_eq (resp.body.data, "no such pod");
  cr_assert_str_eq (resp.content_type, "");
}

Test (http, empty_body_is_empty_string)
{
  struct http_request req = { .url = make_url ("/empty") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.status, 204);
  cr_assert_not_null (resp.body.data);
  cr_assert_str_eq (resp.body.data, "");
}

Test (http, retry_after_seconds)
{
  struct http_request req = { .url = make_url ("/busy") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.status, 429);
  cr_assert_eq (resp.retry_after_ms, 7000);
}

Test (http, retry_after_http_date)
{
  struct http_request req = { .url = make_url ("/busy-date") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.status, 503);
  cr_assert_geq (resp.retry_after_ms, 28000);
  cr_assert_leq (resp.retry_after_ms, 30000);
}

Test (http, redirect_not_followed)
{
  struct http_request req = { .url = make_url ("/redirect") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.status, 302);
  cr_assert_eq (srv.seen.count, 1);
  cr_assert_str_eq (srv.seen.path, "/redirect");
}

Test (http, body_at_cap_is_accepted)
{
  struct http_request req = {
    .url = make_url ("/big"), .max_response = BIG_LEN,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.body.len, BIG_LEN);
}

/* Errors. */

Test (http, body_over_cap_is_e2big)
{
  struct http_request req = {
    .url = make_url ("/big"), .max_response = 1000, .bearer_token = TOKEN,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char want[256];

  cr_assert_eq (http_perform (&req, &resp, &err), -E2BIG);
  cr_assert_eq (err.code, -E2BIG);
  snprintf (want, sizeof want,
            "GET http://127.0.0.1:%d/big: response body is larger than "
            "1000 bytes", srv.port);
  cr_assert_str_eq (err.msg, want);
  cr_assert_null (resp.body.data);
}

Test (http, chunked_body_over_cap_is_e2big)
{
  struct http_request req = {
    .url = make_url ("/chunked"), .max_response = 1000,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char want[256];

  cr_assert_eq (http_perform (&req, &resp, &err), -E2BIG);
  snprintf (want, sizeof want,
            "GET http://127.0.0.1:%d/chunked: response body is larger than "
            "1000 bytes", srv.port);
  cr_assert_str_eq (err.msg, want);
}

Test (http, chunked_body_under_default_cap_is_read)
{
  struct http_request req = { .url = make_url ("/chunked") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  cr_assert_eq (http_perform (&req, &resp, NULL), 0);
  cr_assert_eq (resp.body.len, BIG_LEN);
  cr_assert_eq (resp.body.data[BIG_LEN - 1], 'c');
}

Test (http, timeout_is_etimedout)
{
  struct http_request req = {
    .url = make_url ("/slow"), .timeout_ms = 200, .bearer_token = TOKEN,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char want[256];

  cr_assert_eq (http_perform (&req, &resp, &err), -ETIMEDOUT);
  cr_assert_eq (err.code, -ETIMEDOUT);
  snprintf (want, sizeof want, "GET http://127.0.0.1:%d/slow: ", srv.port);
  cr_assert_prefix (err.msg, want);
  cr_assert_not_null (strstr (err.msg, "timed out"), "%s", err.msg);
  cr_assert_null (strstr (err.msg, TOKEN));
}

Test (http, connection_refused_is_econnrefused)
{
  int port = closed_port ();
  char u[128], want[128];
  struct http_request req = { .url = u, .bearer_token = TOKEN };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  snprintf (u, sizeof u, "http://127.0.0.1:%d/api", port);
  cr_assert_eq (http_perform (&req, &resp, &err), -ECONNREFUSED);
  cr_assert_eq (err.code, -ECONNREFUSED);
  snprintf (want, sizeof want, "GET http://127.0.0.1:%d/api: ", port);
  cr_assert_prefix (err.msg, want);
  cr_assert_null (strstr (err.msg, TOKEN));
}

Test (http, token_in_url_is_redacted)
{
  int port = closed_port ();
  char u[512], want[512];
  struct http_request req = { .method = "PUT", .url = u,
                              .bearer_token = TOKEN };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  snprintf (u, sizeof u,
            "http://admin:" TOKEN "@127.0.0.1:%d/p?access_token=" TOKEN
            "&watch=1&X-Amz-Signature=abc#frag", port);
  cr_assert_eq (http_perform (&req, &resp, &err), -ECONNREFUSED);
  snprintf (want, sizeof want,
            "PUT http://REDACTED@127.0.0.1:%d/p?access_token=REDACTED"
            "&watch=1&X-Amz-Signature=REDACTED: ", port);
  cr_assert_prefix (err.msg, want);
  cr_assert_null (strstr (err.msg, TOKEN));
  cr_assert_null (strstr (err.msg, "frag"));
}

Test (http, unresolvable_host_is_ehostunreach)
{
  struct http_request req = {
    .url = "http://v2v-test.invalid/", .timeout_ms = 5000,
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EHOSTUNREACH);
  cr_assert_prefix (err.msg, "GET http://v2v-test.invalid/: ");
}

Test (http, header_with_newline_is_einval)
{
  const char *headers[] = {
    "Accept: */*", "Authorization: AWS4 " TOKEN "\r\nX-Evil: 1", NULL,
  };
  struct http_request req = { .url = make_url ("/x"), .headers = headers };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char want[256];

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  snprintf (want, sizeof want,
            "GET http://127.0.0.1:%d/x: header 1 contains CR or LF",
            srv.port);
  cr_assert_str_eq (err.msg, want);
  cr_assert_eq (srv.seen.count, 0);
}

Test (http, token_with_newline_is_einval)
{
  struct http_request req = {
    .url = make_url ("/x"), .bearer_token = TOKEN "\nX-Evil: 1",
  };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  cr_assert_prefix (err.msg, "GET http://127.0.0.1:");
  cr_assert_not_null (strstr (err.msg, ": bearer token contains CR or LF"));
  cr_assert_null (strstr (err.msg, "s3cr3t"));
  cr_assert_eq (srv.seen.count, 0);
}

Test (http, bad_method_is_einval)
{
  struct http_request req = { .method = "GET / HTTP/1.0\r\n",
                              .url = make_url ("/x") };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "http_perform: invalid method");
}

Test (http, no_url_is_einval)
{
  struct http_request req = { .url = NULL };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "http_perform: no URL");
}

Test (http, file_url_is_einval)
{
  struct http_request req = { .url = "file:///etc/passwd" };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  cr_assert_prefix (err.msg, "GET file:///etc/passwd: ");
  cr_assert_null (resp.body.data);
}

Test (http, malformed_url_is_einval)
{
  struct http_request req = { .url = "http://[::1" };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (http_perform (&req, &resp, &err), -EINVAL);
  cr_assert_prefix (err.msg, "GET http://[::1: ");
}

Test (http, cleanup_helpers_accept_null)
{
  CLEANUP_CURL CURL *curl = NULL;
  CLEANUP_CURL_SLIST struct curl_slist *list = NULL;
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };

  http_response_free (&resp);
  cr_assert_null (curl);
  cr_assert_null (list);
}

/* TLS, against a self-signed certificate for IP 127.0.0.1 made here. */

static char *
bio_to_string (BIO *bio)
{
  char *data;
  long len = BIO_get_mem_data (bio, &data);
  char *s = strndup (data, (size_t) len);

  cr_assert_not_null (s);
  return s;
}

static void
make_self_signed (void)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *x = X509_new ();
  X509_NAME *name;
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  BIO *bio;

  cr_assert_not_null (key);
  cr_assert_not_null (x);
  X509_set_version (x, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (x), 1);
  X509_gmtime_adj (X509_getm_notBefore (x), -3600);
  X509_gmtime_adj (X509_getm_notAfter (x), 3600);
  X509_set_pubkey (x, key);
  name = X509_get_subject_name (x);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
                              (const unsigned char *) "v2v test", -1, -1, 0);
  X509_set_issuer_name (x, name);
  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, x, x, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &ctx, NID_subject_alt_name,
                             "IP:127.0.0.1");
  cr_assert_not_null (ext);
  X509_add_ext (x, ext, -1);
  X509_EXTENSION_free (ext);
  cr_assert_gt (X509_sign (x, key, EVP_sha256 ()), 0);

  bio = BIO_new (BIO_s_mem ());
  PEM_write_bio_X509 (bio, x);
  srv.cert_pem = bio_to_string (bio);
  BIO_free (bio);
  bio = BIO_new (BIO_s_mem ());
  PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL);
  srv.key_pem = bio_to_string (bio);
  BIO_free (bio);
  X509_free (x);
  EVP_PKEY_free (key);
}

static void
tls_server_start (void)
{
  if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES)
    return;                     /* each test skips */
  srv.tls = true;
  make_self_signed ();
  server_start ();
}

static void
skip_without_tls (void)
{
  if (!srv.tls)
    cr_skip_test ("libmicrohttpd was built without TLS");
}

TestSuite (https, .init = tls_server_start, .fini = server_stop);

Test (https, untrusted_certificate_is_eproto)
{
  struct http_request req = { .bearer_token = TOKEN };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char want[256];

  skip_without_tls ();
  /* An empty CA bundle, so the system's cannot vouch for anything. */
  req.url = make_url ("/x");
  req.ca_file = "/dev/null";
  cr_assert_eq (http_perform (&req, &resp, &err), -EPROTO);
  snprintf (want, sizeof want, "GET https://127.0.0.1:%d/x: ", srv.port);
  cr_assert_prefix (err.msg, want);
  cr_assert_null (strstr (err.msg, TOKEN));
  cr_assert_eq (srv.seen.count, 0);
}

Test (https, system_store_rejects_self_signed)
{
  struct http_request req = { 0 };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  skip_without_tls ();
  req.url = make_url ("/x");
  cr_assert_eq (http_perform (&req, &resp, &err), -EPROTO);
  cr_assert_not_null (strstr (err.msg, "certificate"), "%s", err.msg);
}

Test (https, ca_blob_is_trusted)
{
  struct http_request req = { 0 };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  skip_without_tls ();
  req.url = make_url ("/x");
  req.ca_blob = srv.cert_pem;
  req.ca_blob_len = strlen (srv.cert_pem);
  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  cr_assert_eq (resp.status, 200);
  cr_assert_str_eq (resp.body.data, "hello");
}

Test (https, ca_file_is_trusted)
{
  char path[] = "/tmp/v2v-test-ca-XXXXXX";
  int fd = mkstemp (path);
  struct http_request req = { .ca_file = path };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  int r;

  skip_without_tls ();
  cr_assert_geq (fd, 0);
  cr_assert_eq (write (fd, srv.cert_pem, strlen (srv.cert_pem)),
                (ssize_t) strlen (srv.cert_pem));
  close (fd);
  req.url = make_url ("/x");
  r = http_perform (&req, &resp, &err);
  unlink (path);
  cr_assert_eq (r, 0, "%s", err.msg);
  cr_assert_eq (resp.status, 200);
}

Test (https, insecure_skips_verification)
{
  struct http_request req = { .insecure = true };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  skip_without_tls ();
  req.url = make_url ("/x");
  cr_assert_eq (http_perform (&req, &resp, &err), 0, "%s", err.msg);
  cr_assert_eq (resp.status, 200);
}

Test (https, wrong_name_is_eproto)
{
  char u[128];
  struct http_request req = { .url = u };
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };

  skip_without_tls ();
  /* The certificate names IP 127.0.0.1, not "localhost". */
  req.ca_blob = srv.cert_pem;
  req.ca_blob_len = strlen (srv.cert_pem);
  snprintf (u, sizeof u, "https://localhost:%d/x", srv.port);
  cr_assert_eq (http_perform (&req, &resp, &err), -EPROTO);
  cr_assert_prefix (err.msg, "GET https://localhost:");
}

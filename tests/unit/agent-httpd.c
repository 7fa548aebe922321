/* agent/httpd.c against the real HTTP client (common/http.h) over
 * 127.0.0.1: every endpoint, the error statuses and the limits.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "http.h"
#include "httpd.h"
#include "json.h"
#include "status.h"

#define cr_assert_prefix(s, prefix)                                     \
  cr_assert_eq (strncmp ((s), (prefix), strlen (prefix)), 0,            \
                "\"%s\" does not start with \"%s\"", (s), (prefix))

static struct agent_status *st;
static struct agent_httpd *h;
static atomic_int shutdowns;

static void
on_shutdown (void *opaque)
{
  cr_assert_eq (opaque, &shutdowns);
  atomic_fetch_add (&shutdowns, 1);
}

static void
setup (void)
{
  struct v2v_error err = { 0 };

  curl_global_init (CURL_GLOBAL_DEFAULT);
  st = agent_status_new ();
  cr_assert_not_null (st);
  cr_assert_eq (agent_httpd_start ("127.0.0.1:0", st, on_shutdown,
                                   &shutdowns, &h, &err), 0, "%s", err.msg);
  cr_assert_gt (agent_httpd_port (h), 0);
}

static void
teardown (void)
{
  agent_httpd_stop (h);
  agent_status_free (st);
  curl_global_cleanup ();
}

/* METHOD PATH with BODY (or NULL); fills *RESP. */
static void
fetch (const char *method, const char *path, const char *body,
       size_t body_len, struct http_response *resp)
{
  static const char *const hdrs[] = { "Content-Type: text/plain", NULL };
  struct v2v_error err = { 0 };
  char url[2048];
  struct http_request req = {
    .method = method, .url = url, .body = body, .body_len = body_len,
    .headers = body ? hdrs : NULL, .timeout_ms = 10000,
  };

  snprintf (url, sizeof url, "http://127.0.0.1:%d%s",
            agent_httpd_port (h), path);
  cr_assert_eq (http_perform (&req, resp, &err), 0, "%s", err.msg);
}

static struct json_object *
body_json (struct http_response *resp)
{
  struct json_object *o = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (json_parse (resp->body.data, resp->body.len, 0, &o, &err), 0,
                "%s", err.msg);
  return o;
}

TestSuite (httpd, .init = setup, .fini = teardown);

Test (httpd, status_is_json)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };
  CLEANUP_JSON struct json_object *o = NULL;
  const char *s;

  agent_status_set_phase (st, AGENT_PHASE_CONVERT);
  fetch ("GET", "/status", NULL, 0, &r);
  cr_assert_eq (r.status, 200);
  cr_assert_str_eq (r.content_type, "application/json");
  o = body_json (&r);
  cr_assert_eq (json_get_string (o, "phase", &s, NULL), 0);
  cr_assert_str_eq (s, "convert");
}

Test (httpd, head_is_like_get_without_body)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };

  fetch ("HEAD", "/status", NULL, 0, &r);
  cr_assert_eq (r.status, 200);
  cr_assert_str_eq (r.content_type, "application/json");
  cr_assert_eq (r.body.len, 0);
}

Test (httpd, inspection_is_404_then_xml)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };
  CLEANUP_HTTP_RESPONSE struct http_response r2 = { 0 };
  CLEANUP_JSON struct json_object *e = NULL, *rep = NULL;
  static const char report[] =
    "{\"guest\":{\"type\":\"linux\",\"distro\":\"debian\","
    "\"product\":\"a<b\",\"root\":\"/dev/sda1\"}}";
  const char *s;

  fetch ("GET", "/inspection", NULL, 0, &r);
  cr_assert_eq (r.status, 404);
  cr_assert_str_eq (r.content_type, "application/json");
  e = body_json (&r);
  cr_assert_eq (json_get_string (e, "error", &s, NULL), 0);

  cr_assert_eq (json_parse (report, strlen (report), 0, &rep, NULL), 0);
  cr_assert_eq (agent_status_set_report (st, rep, NULL), 0);
  fetch ("GET", "/inspection", NULL, 0, &r2);
  cr_assert_eq (r2.status, 200);
  cr_assert_str_eq (r2.content_type, "application/xml");
  cr_assert_not_null (strstr (r2.body.data,
                              "<product_name>a&lt;b</product_name>"));
}

Test (httpd, warnings_is_an_array)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };
  CLEANUP_JSON struct json_object *o = NULL;

  agent_status_add_warning (st, "one");
  agent_status_add_warning (st, "two");
  fetch ("GET", "/warnings", NULL, 0, &r);
  cr_assert_eq (r.status, 200);
  o = body_json (&r);
  cr_assert (json_object_is_type (o, json_type_array));
  cr_assert_eq (json_object_array_length (o), 2);
}

Test (httpd, metrics_is_prometheus_text)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };

  fetch ("GET", "/metrics", NULL, 0, &r);
  cr_assert_eq (r.status, 200);
  cr_assert_str_eq (r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  cr_assert_not_null (strstr (r.body.data,
                              "v2v_agent_phase{phase=\"starting\"} 1\n"));
}

Test (httpd, shutdown_calls_back_with_202)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };

  fetch ("POST", "/shutdown", NULL, 0, &r);
  cr_assert_eq (r.status, 202);
  cr_assert_eq (atomic_load (&shutdowns), 1);
}

Test (httpd, unknown_path_is_404)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };

  fetch ("GET", "/nope", NULL, 0, &r);
  cr_assert_eq (r.status, 404);
}

Test (httpd, wrong_method_is_405_with_allow)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };
  CLEANUP_HTTP_RESPONSE struct http_response r2 = { 0 };

  /* The client does not keep response headers, so Allow is checked
   * through the error body's status only; see the raw test below.
   */
  fetch ("GET", "/shutdown", NULL, 0, &r);
  cr_assert_eq (r.status, 405);
  cr_assert_eq (atomic_load (&shutdowns), 0);
  fetch ("POST", "/status", "x", 1, &r2);
  cr_assert_eq (r2.status, 405);
}

Test (httpd, body_past_4k_is_413)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };
  CLEANUP_HTTP_RESPONSE struct http_response r2 = { 0 };
  static char big[AGENT_HTTPD_MAX_BODY + 1];

  memset (big, 'x', sizeof big);
  fetch ("POST", "/shutdown", big, sizeof big, &r);
  cr_assert_eq (r.status, 413);
  cr_assert_eq (atomic_load (&shutdowns), 0);
  /* At the cap is fine. */
  fetch ("POST", "/shutdown", big, AGENT_HTTPD_MAX_BODY, &r2);
  cr_assert_eq (r2.status, 202);
}

Test (httpd, long_url_is_414)
{
  CLEANUP_HTTP_RESPONSE struct http_response r = { 0 };
  char path[AGENT_HTTPD_MAX_URL + 10];

  path[0] = '/';
  memset (path + 1, 'a', sizeof path - 2);
  path[sizeof path - 1] = '\0';
  fetch ("GET", path, NULL, 0, &r);
  cr_assert_eq (r.status, 414, "%ld %s", r.status, r.body.data);
}

/* The Allow header, which http_response does not keep: read it raw. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

Test (httpd, allow_header_names_the_methods)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  char buf[4096];
  const char req[] = "DELETE /metrics HTTP/1.1\r\nHost: x\r\n"
    "Connection: close\r\n\r\n";
  ssize_t n, len = 0;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  a.sin_port = htons ((uint16_t) agent_httpd_port (h));
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  cr_assert_eq (connect (fd, (struct sockaddr *) &a, sizeof a), 0);
  cr_assert_eq (write (fd, req, sizeof req - 1), (ssize_t) sizeof req - 1);
  while (len < (ssize_t) sizeof buf - 1 &&
         (n = read (fd, buf + len, sizeof buf - 1 - (size_t) len)) > 0)
    len += n;
  buf[len] = '\0';
  close (fd);
  cr_assert_prefix (buf, "HTTP/1.1 405");
  cr_assert_not_null (strstr (buf, "\r\nAllow: GET, HEAD\r\n"), "%s", buf);
}

/* Starting and stopping, outside the fixture. */
Test (httpd_start, bad_listen_strings)
{
  static const char *const bad[] = {
    "x", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
    "::1:80", "[::1]80", "[]:80", ":-1", "",
  };
  struct agent_status *s = agent_status_new ();

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct v2v_error err = { 0 };
    struct agent_httpd *x = NULL;
    char want[128];

    cr_assert_eq (agent_httpd_start (bad[i], s, NULL, NULL, &x, &err),
                  -EINVAL, "%s", bad[i]);
    cr_assert_null (x);
    cr_assert_prefix (err.msg, "--listen: expected ADDR:PORT");
    snprintf (want, sizeof want, "got '%s'", bad[i]);
    cr_assert_not_null (strstr (err.msg, want), "%s", err.msg);
  }
  agent_status_free (s);
}

Test (httpd_start, port_in_use_names_the_address)
{
  struct agent_status *s = agent_status_new ();
  struct agent_httpd *a = NULL, *b = NULL;
  struct v2v_error err = { 0 };
  char listen[64];

  cr_assert_eq (agent_httpd_start ("127.0.0.1:0", s, NULL, NULL, &a, &err),
                0, "%s", err.msg);
  snprintf (listen, sizeof listen, "127.0.0.1:%d", agent_httpd_port (a));
  cr_assert_eq (agent_httpd_start (listen, s, NULL, NULL, &b, &err),
                -EADDRINUSE, "%s", err.msg);
  cr_assert_prefix (err.msg, "agent_httpd_start: listen on 127.0.0.1:");
  cr_assert_not_null (strstr (err.msg, listen));
  agent_httpd_stop (a);
  agent_status_free (s);
}

Test (httpd_start, any_address_and_ipv6_loopback)
{
  struct agent_status *s = agent_status_new ();
  struct agent_httpd *a = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (agent_httpd_start (":0", s, NULL, NULL, &a, &err), 0,
                "%s", err.msg);
  cr_assert_gt (agent_httpd_port (a), 0);
  agent_httpd_stop (a);
  a = NULL;
  /* Hosts without IPv6 cannot bind [::1]. */
  if (agent_httpd_start ("[::1]:0", s, NULL, NULL, &a, &err) == 0)
    agent_httpd_stop (a);
  else
    cr_assert_prefix (err.msg, "agent_httpd_start: listen on [::1]:0");
  agent_httpd_stop (NULL);
  agent_status_free (s);
}

/* Stopping with a client connected and idle must not wait for its
 * timeout.
 */
Test (httpd_start, stop_with_an_idle_client_is_prompt)
{
  struct agent_status *s = agent_status_new ();
  struct agent_httpd *a = NULL;
  struct v2v_error err = { 0 };
  struct sockaddr_in sa = { .sin_family = AF_INET };
  struct timespec t0, t1;
  int fd;

  cr_assert_eq (agent_httpd_start ("127.0.0.1:0", s, NULL, NULL, &a, &err),
                0, "%s", err.msg);
  sa.sin_port = htons ((uint16_t) agent_httpd_port (a));
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_eq (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  cr_assert_eq (write (fd, "GET /sta", 8), 8);
  usleep (50000);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  agent_httpd_stop (a);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  cr_assert_lt (t1.tv_sec - t0.tv_sec, 2);
  close (fd);
  agent_status_free (s);
}

/* A chunked body says nothing of its size up front: it is counted as
 * it arrives and answered with 413 once past the cap.
 */
Test (httpd, chunked_body_past_4k_is_413)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  static char chunk[6000];
  char head[256], buf[4096];
  ssize_t n, len = 0;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int hl;

  a.sin_port = htons ((uint16_t) agent_httpd_port (h));
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  cr_assert_eq (connect (fd, (struct sockaddr *) &a, sizeof a), 0);
  memset (chunk, 'x', sizeof chunk);
  hl = snprintf (head, sizeof head,
                 "POST /shutdown HTTP/1.1\r\nHost: x\r\n"
                 "Connection: close\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", sizeof chunk);
  cr_assert_eq (write (fd, head, (size_t) hl), hl);
  cr_assert_eq (write (fd, chunk, sizeof chunk), (ssize_t) sizeof chunk);
  cr_assert_eq (write (fd, "\r\n0\r\n\r\n", 7), 7);
  while (len < (ssize_t) sizeof buf - 1 &&
         (n = read (fd, buf + len, sizeof buf - 1 - (size_t) len)) > 0)
    len += n;
  buf[len] = '\0';
  close (fd);
  cr_assert_prefix (buf, "HTTP/1.1 413");
  cr_assert_eq (atomic_load (&shutdowns), 0);
}

/* Past what is worth reading, the connection is just closed. */
Test (httpd, endless_chunked_body_is_cut_off)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  static char chunk[8192];
  char head[256];
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ssize_t sent = 0, n;
  int hl;

  a.sin_port = htons ((uint16_t) agent_httpd_port (h));
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  cr_assert_eq (connect (fd, (struct sockaddr *) &a, sizeof a), 0);
  memset (chunk, 'x', sizeof chunk);
  hl = snprintf (head, sizeof head,
                 "POST /shutdown HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
  cr_assert_eq (write (fd, head, (size_t) hl), hl);
  /* Until the server hangs up; 64 MiB would be a failure. */
  while (sent < 64 * 1024 * 1024) {
    hl = snprintf (head, sizeof head, "%zx\r\n", sizeof chunk);
    if (send (fd, head, (size_t) hl, MSG_NOSIGNAL) != hl ||
        (n = send (fd, chunk, sizeof chunk, MSG_NOSIGNAL)) <= 0 ||
        send (fd, "\r\n", 2, MSG_NOSIGNAL) != 2)
      break;
    sent += n;
  }
  close (fd);
  cr_assert_lt (sent, 64 * 1024 * 1024);
  cr_assert_eq (atomic_load (&shutdowns), 0);
}

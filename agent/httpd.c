/* The agent's status server: see httpd.h.
 *
 * libmicrohttpd runs everything in one internal thread; each handler
 * renders a copy of the state under its mutex (status.c) and hands the
 * text to MHD, so a slow reader never holds the lock.  We create the
 * listening socket ourselves, so that bind errors carry errno and the
 * address, and the descriptor is O_CLOEXEC from the start.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cleanup.h"
#include "httpd.h"
#include "json.h"

/* Enough for the request line and headers of any sane client: the
 * endpoints take no parameters.  MHD answers 414 or 431 past it.
 */
#define CONNECTION_MEMORY_LIMIT (16 * 1024)
/* How much of an oversized chunked body we read to be able to answer
 * 413; see handle.
 */
#define BODY_DISCARD_MAX (16 * AGENT_HTTPD_MAX_BODY)
/* Far above the few kilobytes any endpoint returns, but a cap. */
#define RESPONSE_MAX (1024 * 1024)

struct agent_httpd {
  struct MHD_Daemon *daemon;
  struct agent_status *st;
  void (*on_shutdown) (void *opaque);
  void *opaque;
  int port;
};

/* Per request: how much body has arrived, which is only counted. */
struct request {
  size_t body_len;
};

/* Split LISTEN into *RET_HOST (NULL for every address) and *RET_PORT. */
static int
parse_listen (const char *listen, char **ret_host, char **ret_port,
              struct v2v_error *err)
{
  CLEANUP_FREE char *host = NULL;
  const char *colon, *port;
  size_t n;

  if (listen[0] == '[') {
    const char *close = strchr (listen, ']');
    if (close == NULL || close == listen + 1 || close[1] != ':')
      goto bad;
    host = strndup (listen + 1, (size_t) (close - listen - 1));
    colon = close + 1;
  }
  else {
    colon = strrchr (listen, ':');
    if (colon == NULL)
      goto bad;
    /* A bare IPv6 address is ambiguous ("::1:80"): ask for brackets. */
    if (memchr (listen, ':', (size_t) (colon - listen)) != NULL)
      goto bad;
    if (colon > listen)
      host = strndup (listen, (size_t) (colon - listen));
  }
  if (colon != listen && host == NULL)
    return v2v_error_errno (err, -ENOMEM, "--listen");

  port = colon + 1;
  n = strlen (port);
  if (n == 0 || n > 5 || strspn (port, "0123456789") != n ||
      atoi (port) > 65535)
    goto bad;

  *ret_port = strdup (port);
  if (*ret_port == NULL)
    return v2v_error_errno (err, -ENOMEM, "--listen");
  *ret_host = TAKE_PTR (host);
  return 0;

 bad:
  return v2v_error_set (err, -EINVAL,
                        "--listen: expected ADDR:PORT, [IPV6]:PORT or :PORT, "
                        "got '%s'", listen);
}

/* A listening socket on ADDR, or -errno. */
static int
listen_on (const struct sockaddr *addr, socklen_t addrlen)
{
  CLEANUP_CLOSE int fd = -1;
  int one = 1, zero = 0;

  fd = socket (addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -errno;
  /* A restarted agent must not wait for the old one's TIME_WAIT. */
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* ":PORT" on [::] should take IPv4 too, whatever the sysctl says. */
  if (addr->sa_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind (fd, addr, addrlen) == -1 ||
      listen (fd, AGENT_HTTPD_MAX_CONNECTIONS) == -1)
    return -errno;
  return TAKE_FD (fd);
}

static int
open_listener (const char *listen, const char *host, const char *port,
               struct v2v_error *err)
{
  struct addrinfo hints = {
    .ai_socktype = SOCK_STREAM,
    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
  };
  struct addrinfo *res = NULL;
  int r, fd = -EADDRNOTAVAIL;

  if (host == NULL) {
    /* Every address: IPv6 with IPv4 mapped where the kernel has IPv6,
     * plain IPv4 where it does not.
     */
    struct sockaddr_in6 a6 = {
      .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
      .sin6_port = htons ((uint16_t) atoi (port)),
    };
    struct sockaddr_in a4 = {
      .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_ANY),
      .sin_port = htons ((uint16_t) atoi (port)),
    };

    fd = listen_on ((struct sockaddr *) &a6, sizeof a6);
    if (fd == -EAFNOSUPPORT)
      fd = listen_on ((struct sockaddr *) &a4, sizeof a4);
  }
  else {
    r = getaddrinfo (host, port, &hints, &res);
    if (r != 0)
      return v2v_error_set (err, r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH,
                            "listen on %s: %s", listen, gai_strerror (r));
    for (struct addrinfo *a = res; a; a = a->ai_next) {
      fd = listen_on (a->ai_addr, a->ai_addrlen);
      if (fd >= 0)
        break;
    }
    freeaddrinfo (res);
  }
  if (fd < 0)
    return v2v_error_errno (err, fd, "listen on %s", listen);
  return fd;
}

static int
socket_port (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;

  if (getsockname (fd, (struct sockaddr *) &ss, &len) == -1)
    return -errno;
  /* With _GNU_SOURCE, glibc declares getsockname with a transparent
   * union parameter, through which clang's analyzer does not see SS
   * written (llvm-project issue 60482).
   */
  /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
  if (ss.ss_family == AF_INET6)
    return ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
  return ntohs (((struct sockaddr_in *) &ss)->sin_port);
}

/* Queue a response whose body, DATA (malloc'd, LEN bytes), MHD frees. */
static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, const char *type,
       char *data, size_t len, const char *allow)
{
  struct MHD_Response *resp;
  enum MHD_Result r;

  resp = MHD_create_response_from_buffer (len, data, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL) {
    free (data);
    return MHD_NO;
  }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  /* The state changes from one second to the next. */
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_ALLOW, allow);
  r = MHD_queue_response (conn, status, resp);
  MHD_destroy_response (resp);
  return r;
}

/* Queue O as compact JSON and a newline; takes O. */
static enum MHD_Result
reply_json (struct MHD_Connection *conn, unsigned status,
            struct json_object *o, const char *allow)
{
  const char *s;
  char *data;
  size_t len;

  if (o == NULL)
    return MHD_NO;
  s = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                      JSON_C_TO_STRING_NOSLASHESCAPE);
  if (s == NULL || (len = strlen (s), data = malloc (len + 2)) == NULL) {
    json_object_put (o);
    return MHD_NO;
  }
  memcpy (data, s, len);
  data[len++] = '\n';
  data[len] = '\0';
  json_object_put (o);
  return reply (conn, status, "application/json", data, len, allow);
}

static enum MHD_Result
reply_error (struct MHD_Connection *conn, unsigned status, const char *msg,
             const char *allow)
{
  struct json_object *o = json_object_new_object ();

  if (o == NULL)
    return MHD_NO;
  json_object_object_add (o, "error", json_object_new_string (msg));
  return reply_json (conn, status, o, allow);
}

/* Queue the text in B (taken), or 500 if rendering it failed with R. */
static enum MHD_Result
reply_buf (struct MHD_Connection *conn, int r, struct buf *b,
           const char *type)
{
  size_t len = b->len;
  char *data;

  if (r < 0) {
    buf_free (b);
    return reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror (-r),
                        NULL);
  }
  data = buf_steal (b);
  if (data == NULL && (data = strdup ("")) == NULL)
    return MHD_NO;
  return reply (conn, MHD_HTTP_OK, type, data, len, NULL);
}

static enum MHD_Result
serve_status (struct agent_httpd *h, struct MHD_Connection *conn)
{
  return reply_json (conn, MHD_HTTP_OK, agent_status_to_json (h->st), NULL);
}

static enum MHD_Result
serve_warnings (struct agent_httpd *h, struct MHD_Connection *conn)
{
  return reply_json (conn, MHD_HTTP_OK, agent_status_warnings_json (h->st),
                     NULL);
}

static enum MHD_Result
serve_inspection (struct agent_httpd *h, struct MHD_Connection *conn)
{
  struct buf b;
  int r;

  buf_init (&b, RESPONSE_MAX);
  r = agent_status_inspection_xml (h->st, &b);
  if (r == -ENOENT) {
    buf_free (&b);
    return reply_error (conn, MHD_HTTP_NOT_FOUND,
                        "the guest has not been inspected", NULL);
  }
  return reply_buf (conn, r, &b, "application/xml");
}

static enum MHD_Result
serve_metrics (struct agent_httpd *h, struct MHD_Connection *conn)
{
  struct buf b;
  int r;

  buf_init (&b, RESPONSE_MAX);
  r = agent_status_metrics (h->st, &b);
  return reply_buf (conn, r, &b, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result
serve_shutdown (struct agent_httpd *h, struct MHD_Connection *conn)
{
  struct json_object *o = json_object_new_object ();

  if (h->on_shutdown)
    h->on_shutdown (h->opaque);
  if (o == NULL)
    return MHD_NO;
  json_object_object_add (o, "shutdown", json_object_new_string ("requested"));
  return reply_json (conn, MHD_HTTP_ACCEPTED, o, NULL);
}

static const struct route {
  const char *path;
  bool post;                    /* POST only; otherwise GET and HEAD */
  enum MHD_Result (*serve) (struct agent_httpd *h,
                            struct MHD_Connection *conn);
} routes[] = {
  { "/status",     false, serve_status },
  { "/inspection", false, serve_inspection },
  { "/warnings",   false, serve_warnings },
  { "/metrics",    false, serve_metrics },
  { "/shutdown",   true,  serve_shutdown },
};

static enum MHD_Result
route (struct agent_httpd *h, struct MHD_Connection *conn, const char *url,
       const char *method)
{
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const struct route *rt = &routes[i];
    bool ok;

    if (strcmp (url, rt->path) != 0)
      continue;
    ok = rt->post ? strcmp (method, MHD_HTTP_METHOD_POST) == 0
      : (strcmp (method, MHD_HTTP_METHOD_GET) == 0 ||
         strcmp (method, MHD_HTTP_METHOD_HEAD) == 0);
    if (!ok)
      return reply_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "method not allowed",
                          rt->post ? "POST" : "GET, HEAD");
    return rt->serve (h, conn);
  }
  return reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
}

static enum MHD_Result
handle (void *cls, struct MHD_Connection *conn, const char *url,
        const char *method, const char *version, const char *upload_data,
        size_t *upload_data_size, void **con_cls)
{
  struct agent_httpd *h = cls;
  struct request *req = *con_cls;

  (void) version;
  (void) upload_data;

  /* First call: only the headers are in.  Refuse what is too big before
   * the body is read, when the client says how big it is.
   */
  if (req == NULL) {
    const char *cl;

    req = calloc (1, sizeof *req);
    if (req == NULL)
      return MHD_NO;
    *con_cls = req;
    if (strlen (url) > AGENT_HTTPD_MAX_URL)
      return reply_error (conn, MHD_HTTP_URI_TOO_LONG, "URL too long", NULL);
    cl = MHD_lookup_connection_value (conn, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull (cl, NULL, 10) > AGENT_HTTPD_MAX_BODY)
      return reply_error (conn, MHD_HTTP_CONTENT_TOO_LARGE,
                          "request body too large", NULL);
    return MHD_YES;
  }

  /* The body is counted and dropped: no endpoint reads one.  MHD lets
   * us answer only once the body is in, so a chunked body past the cap
   * is read on to its end for a 413, but only so far: past
   * BODY_DISCARD_MAX the connection is closed instead.
   */
  if (*upload_data_size > 0) {
    req->body_len += *upload_data_size;
    *upload_data_size = 0;
    return req->body_len > BODY_DISCARD_MAX ? MHD_NO : MHD_YES;
  }
  if (req->body_len > AGENT_HTTPD_MAX_BODY)
    return reply_error (conn, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body too large", NULL);

  return route (h, conn, url, method);
}

static void
request_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
  (void) cls;
  (void) conn;
  (void) toe;
  free (*con_cls);
  *con_cls = NULL;
}

int
agent_httpd_start (const char *listen, struct agent_status *st,
                   void (*on_shutdown) (void *opaque), void *opaque,
                   struct agent_httpd **ret, struct v2v_error *err)
{
  CLEANUP_FREE char *host = NULL, *port = NULL;
  CLEANUP_FREE struct agent_httpd *h = NULL;
  CLEANUP_CLOSE int fd = -1;
  int r;

  if (listen == NULL)
    listen = "(null)";
  r = parse_listen (listen, &host, &port, err);
  if (r < 0)
    return r;

  h = calloc (1, sizeof *h);
  if (h == NULL)
    return v2v_error_errno (err, -ENOMEM, "agent_httpd_start");
  h->st = st;
  h->on_shutdown = on_shutdown;
  h->opaque = opaque;

  fd = open_listener (listen, host, port, err);
  if (fd < 0) {
    v2v_error_prefix (err, "agent_httpd_start");
    return fd;
  }
  h->port = socket_port (fd);
  if (h->port < 0)
    return v2v_error_errno (err, h->port, "agent_httpd_start: %s: getsockname",
                            listen);

  /* No MHD_USE_ERROR_LOG: library code does not write to stderr. */
  h->daemon = MHD_start_daemon
    (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
     0, NULL, NULL, handle, h,
     MHD_OPTION_LISTEN_SOCKET, fd,
     MHD_OPTION_CONNECTION_LIMIT, (unsigned int) AGENT_HTTPD_MAX_CONNECTIONS,
     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_LIMIT,
     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) AGENT_HTTPD_TIMEOUT_S,
     MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
     MHD_OPTION_END);
  if (h->daemon == NULL)
    return v2v_error_set (err, -EIO,
                          "agent_httpd_start: %s: libmicrohttpd could not "
                          "start its thread", listen);
  /* The daemon owns the socket now and closes it when stopped. */
  (void) TAKE_FD (fd);
  *ret = TAKE_PTR (h);
  return 0;
}

int
agent_httpd_port (const struct agent_httpd *h)
{
  return h->port;
}

void
agent_httpd_stop (struct agent_httpd *h)
{
  if (h == NULL)
    return;
  if (h->daemon)
    MHD_stop_daemon (h->daemon);
  free (h);
}

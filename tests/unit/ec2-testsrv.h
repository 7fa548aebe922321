/* A scripted EC2 endpoint on 127.0.0.1 (libmicrohttpd) for the EC2
 * client's tests: it records every request and answers with a queue of
 * canned replies, repeating the last one when the queue runs out.
 * Header-only, as it serves two test programs.
 */
#ifndef V2V_TESTS_EC2_TESTSRV_H
#define V2V_TESTS_EC2_TESTSRV_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "buf.h"

#define EC2_SRV_MAX_REQUESTS 32
#define EC2_SRV_MAX_REPLIES  8

struct ec2_srv_request {
  char method[16];
  char path[256];
  struct buf headers;           /* "Name: value\n" in arrival order */
  struct buf body;
};

struct ec2_srv_reply {
  unsigned status;
  const char *body;
  const char *retry_after;      /* Retry-After value, or NULL */
};

static struct {
  struct MHD_Daemon *daemon;
  int port;
  pthread_mutex_t lock;
  unsigned count;               /* complete requests */
  struct ec2_srv_request req[EC2_SRV_MAX_REQUESTS];
  struct ec2_srv_reply replies[EC2_SRV_MAX_REPLIES];
  unsigned nreplies;
  size_t body_len;              /* of every reply body; 0: strlen */
  char endpoint[64];
} ec2_srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static inline void
ec2_srv_script (const struct ec2_srv_reply *replies, unsigned n)
{
  pthread_mutex_lock (&ec2_srv.lock);
  memcpy (ec2_srv.replies, replies, n * sizeof *replies);
  ec2_srv.nreplies = n;
  pthread_mutex_unlock (&ec2_srv.lock);
}

/* The value of header NAME in request I, or NULL.  Points into a static
 * buffer.
 */
static inline const char *
ec2_srv_header (unsigned i, const char *name)
{
  static char value[2048];
  size_t nlen = strlen (name);
  const char *p = ec2_srv.req[i].headers.data;

  while (p && *p) {
    const char *eol = strchr (p, '\n');
    size_t len = eol ? (size_t) (eol - p) : strlen (p);

    if (len > nlen + 1 && strncasecmp (p, name, nlen) == 0 &&
        p[nlen] == ':') {
      snprintf (value, sizeof value, "%.*s", (int) (len - nlen - 2),
                p + nlen + 2);
      return value;
    }
    p += len + (eol ? 1 : 0);
  }
  return NULL;
}

static enum MHD_Result
ec2_srv_record_header (void *cls, enum MHD_ValueKind kind, const char *key,
                       const char *value)
{
  struct ec2_srv_request *r = cls;

  (void) kind;
  buf_printf (&r->headers, "%s: %s\n", key, value ? value : "");
  return MHD_YES;
}

static enum MHD_Result
ec2_srv_handler (void *cls, struct MHD_Connection *conn, const char *path,
                 const char *method, const char *version, const char *upload,
                 size_t *upload_size, void **req_cls)
{
  struct ec2_srv_request *r;
  struct ec2_srv_reply reply;
  struct MHD_Response *resp;
  enum MHD_Result ret;

  (void) cls;
  (void) version;

  /* First call: claim a slot for this request. */
  if (*req_cls == NULL) {
    pthread_mutex_lock (&ec2_srv.lock);
    r = NULL;
    for (unsigned i = 0; i < EC2_SRV_MAX_REQUESTS; i++)
      if (ec2_srv.req[i].method[0] == '\0') {
        r = &ec2_srv.req[i];
        snprintf (r->method, sizeof r->method, "%s", method);
        break;
      }
    pthread_mutex_unlock (&ec2_srv.lock);
    if (r == NULL)
      return MHD_NO;
    snprintf (r->path, sizeof r->path, "%s", path);
    buf_init (&r->headers, 1 << 16);
    buf_init (&r->body, 1 << 20);
    MHD_get_connection_values (conn, MHD_HEADER_KIND, ec2_srv_record_header,
                               r);
    *req_cls = r;
    return MHD_YES;
  }
  r = *req_cls;
  if (*upload_size) {
    buf_append (&r->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->body.data == NULL)
    buf_append (&r->body, "", 0);

  pthread_mutex_lock (&ec2_srv.lock);
  ec2_srv.count++;
  if (ec2_srv.nreplies == 0)
    reply = (struct ec2_srv_reply) { 200, "<Response/>", NULL };
  else
    reply = ec2_srv.replies[ec2_srv.count <= ec2_srv.nreplies
                            ? ec2_srv.count - 1 : ec2_srv.nreplies - 1];
  pthread_mutex_unlock (&ec2_srv.lock);

  resp = MHD_create_response_from_buffer (ec2_srv.body_len ? ec2_srv.body_len
                                          : strlen (reply.body),
                                          (void *) reply.body,
                                          MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (resp, "Content-Type", "text/xml;charset=UTF-8");
  if (reply.retry_after)
    MHD_add_response_header (resp, "Retry-After", reply.retry_after);
  ret = MHD_queue_response (conn, reply.status, resp);
  MHD_destroy_response (resp);
  return ret;
}

/* Returns 0, or -1 if the server cannot start. */
static inline int
ec2_srv_start (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  const union MHD_DaemonInfo *info;
  const char *proxies[] = {
    "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY",
  };

  for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
    unsetenv (proxies[i]);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ec2_srv.daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD |
                                     MHD_USE_THREAD_PER_CONNECTION |
                                     MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                     ec2_srv_handler, NULL,
                                     MHD_OPTION_SOCK_ADDR, &addr,
                                     MHD_OPTION_END);
  if (ec2_srv.daemon == NULL)
    return -1;
  info = MHD_get_daemon_info (ec2_srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
  if (info == NULL)
    return -1;
  ec2_srv.port = info->port;
  snprintf (ec2_srv.endpoint, sizeof ec2_srv.endpoint,
            "http://127.0.0.1:%d", ec2_srv.port);
  return 0;
}

static inline void
ec2_srv_stop (void)
{
  if (ec2_srv.daemon)
    MHD_stop_daemon (ec2_srv.daemon);
  for (unsigned i = 0; i < EC2_SRV_MAX_REQUESTS; i++) {
    buf_free (&ec2_srv.req[i].headers);
    buf_free (&ec2_srv.req[i].body);
  }
}

#endif /* V2V_TESTS_EC2_TESTSRV_H */

/* The agent's optional HTTP server (v2v-agent run --listen): read-only
 * views of struct agent_status, plus POST /shutdown.  See
 * docs/operations.md, "Status endpoints".
 *
 *   GET  /status      application/json, agent_status_to_json
 *   GET  /inspection  application/xml, 404 before inspection
 *   GET  /warnings    application/json array
 *   GET  /metrics     Prometheus text format 0.0.4
 *   POST /shutdown    calls on_shutdown; 202
 *
 * HEAD works wherever GET does.  Everything a client can make the server
 * hold is bounded: connections, memory per connection, idle time,
 * request body and URL length.
 */
#ifndef V2V_AGENT_HTTPD_H
#define V2V_AGENT_HTTPD_H

#include "error.h"
#include "status.h"

#define AGENT_HTTPD_MAX_CONNECTIONS  16
#define AGENT_HTTPD_TIMEOUT_S        10
#define AGENT_HTTPD_MAX_BODY         4096
#define AGENT_HTTPD_MAX_URL          1024

struct agent_httpd;

/* Start serving ST on LISTEN: "ADDR:PORT", "[IPV6]:PORT" or ":PORT"
 * (every address, IPv6 and IPv4 where the host has both); port 0 picks
 * a free one (agent_httpd_port says which).  ST must outlive the server.
 *
 * ON_SHUTDOWN (may be NULL) is called with OPAQUE from the server's
 * thread for every POST /shutdown, so it must be quick, thread-safe and
 * must not call agent_httpd_stop: setting a flag or writing to a pipe
 * is the idea.
 *
 * Returns 0 and sets *RET, or -EINVAL for a malformed LISTEN ("--listen:
 * expected ADDR:PORT, got 'x'"), or -errno from resolving, binding or
 * starting, with a message in ERR that names the address.
 */
extern int agent_httpd_start (const char *listen, struct agent_status *st,
                              void (*on_shutdown) (void *opaque),
                              void *opaque, struct agent_httpd **ret,
                              struct v2v_error *err);

/* The port the server listens on. */
extern int agent_httpd_port (const struct agent_httpd *h);

/* Close every connection, join the server's thread and free H.
 * Accepts NULL.
 */
extern void agent_httpd_stop (struct agent_httpd *h);

#endif /* V2V_AGENT_HTTPD_H */

/* What the files of the status reporter share (reporter.c: the queue
 * and the thread; reporter-send.c: one request, retried; reporter-pod.c:
 * the Pod's annotations and --status-url; reporter-events.c: Events).
 * See reporter.h for the public interface.
 */
#ifndef V2V_AGENT_REPORTER_INTERNAL_H
#define V2V_AGENT_REPORTER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "reporter.h"

#define REPORTER_MAX_EVENTS   64        /* queued, not yet sent */
#define REPORTER_MAX_SEEN     32        /* Events remembered for counts */
#define REPORTER_TIMEOUT_MS   10000     /* one request */
#define REPORTER_BACKOFF_MS   250
#define REPORTER_BACKOFF_CAP_MS 10000
#define REPORTER_ITEM_DEADLINE_MS (120 * 1000)

struct event {
  bool warning;
  char *reason;
  char *message;
};

/* An Event already created, so that a repeat bumps its count. */
struct seen_event {
  bool warning;
  char *reason, *message;
  char name[96];
  char first[32];               /* firstTimestamp */
  int count;
};

struct reporter {
  struct reporter_options opts;
  char *pod_name, *pod_namespace, *pod_uid, *node_name, *status_url;
  struct agent_status *st;

  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;          /* work queued, or finishing */
  pthread_cond_t idle;          /* the queue drained */
  struct event queue[REPORTER_MAX_EVENTS];
  size_t head, count;
  unsigned dropped;
  bool annotations_dirty, status_dirty;
  bool busy;                    /* the thread is sending an item */
  bool stop;                    /* give up now: the finish deadline passed */
  int64_t finish_deadline;      /* monotonic ms, or 0 while running */

  struct seen_event seen[REPORTER_MAX_SEEN];
  size_t nr_seen;
  bool uid_looked_up;
};

/* Wait for DELAY_MS on the reporter's condition variable, so that the
 * finish deadline cuts a backoff short.  Called with the lock held.
 */
extern void reporter_internal_timed_wait (struct reporter *r,
                                          int64_t delay_ms);

enum reporter_send_result {
  REPORTER_SENT, REPORTER_REJECTED, REPORTER_GAVE_UP
};

/* One attempt of a request: 0 with RESP filled in, or -errno. */
typedef int (*reporter_perform_fn) (struct reporter *r, void *arg,
                           struct http_response *resp, struct v2v_error *err);

/* One request, retried while worth it (429 after Retry-After, 5xx,
 * timeouts and broken connections) until the item's deadline.  On
 * REPORTER_REJECTED, *RET_STATUS is the HTTP status, or 0.
 */
extern enum reporter_send_result reporter_internal_send
  (struct reporter *r, const char *what, reporter_perform_fn perform,
   void *arg, long *ret_status);
/* reporter_internal_send of one Kubernetes API request. */
extern enum reporter_send_result reporter_internal_kube_send
  (struct reporter *r, const char *what, const char *method,
   const char *path, const char *ctype, const char *body, long *status);

/* The Pod's API path; the caller frees it.  NULL on out of memory. */
extern char *reporter_internal_pod_path (struct reporter *r);
/* The status as the Pod's annotations (merge patch). */
extern void reporter_internal_send_annotations (struct reporter *r);
/* The status JSON POSTed to --status-url. */
extern void reporter_internal_send_status_url (struct reporter *r);
/* An Event on the Pod, or a count bump of the same one sent before. */
extern void reporter_internal_send_event (struct reporter *r,
                                          const struct event *e);

#endif /* V2V_AGENT_REPORTER_INTERNAL_H */

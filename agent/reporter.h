/* The reporter: a thread that tells the cluster what "v2v-agent run" is
 * doing, without ever holding the conversion up.
 *
 *   Pod annotations   v2v.kubevirt.io/phase, /progress, /message and, at
 *                     the end, /result (compact JSON), by merge patch
 *   Events            core/v1 Events on the Pod for phase transitions,
 *                     warnings and the outcome; a repeat of the same
 *                     type, reason and message bumps the Event's count
 *   --status-url      a POST of the status JSON (agent_status_to_json)
 *
 * Callers queue work and return at once.  The thread sends it in order,
 * retrying 429 (after Retry-After), 5xx, timeouts and broken connections
 * with capped exponential backoff and full jitter; annotation updates
 * and status POSTs are coalesced, so only the latest state is sent.
 * Other 4xx answers are logged once and dropped: retrying a 403 or a 422
 * would not change it.
 */
#ifndef V2V_AGENT_REPORTER_H
#define V2V_AGENT_REPORTER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "kube.h"
#include "status.h"

#define REPORTER_ANNOTATION_PREFIX "v2v.kubevirt.io/"

struct reporter_options {
  struct kube_config *kube;     /* NULL: no Kubernetes reporting */
  const char *pod_name;         /* required with KUBE */
  const char *pod_namespace;    /* required with KUBE */
  const char *pod_uid;          /* NULL: read from the Pod */
  const char *node_name;        /* for Event source.host; may be NULL */
  const char *status_url;       /* NULL: none */
  int64_t item_deadline_ms;     /* give up on one item; 0: 120 s */
};

struct reporter;

/* Nothing in OPTS is copied except the strings; ST must outlive the
 * reporter.  Fails only for a bad argument or out of memory.
 */
extern int reporter_start (const struct reporter_options *opts,
                           struct agent_status *st, struct reporter **ret,
                           struct v2v_error *err);

/* Queue an Event on the Pod (no-op without Kubernetes reporting). */
extern void reporter_event (struct reporter *r, bool warning,
                            const char *reason, const char *message);

/* The status changed: queue an annotation patch and a status POST. */
extern void reporter_update (struct reporter *r);

/* Send what is queued, waiting at most DEADLINE_MS, then stop the thread
 * and free R.  What could not be sent by then is dropped and logged.
 * Returns the number of items dropped.
 */
extern unsigned reporter_finish (struct reporter *r, int64_t deadline_ms);

#endif /* V2V_AGENT_REPORTER_H */

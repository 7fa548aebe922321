/* The status reporter: the queue and the thread that empties it; see
 * reporter.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "reporter-internal.h"
#include "timeutil.h"

void
reporter_internal_timed_wait (struct reporter *r, int64_t delay_ms)
{
  struct timespec ts = timespec_after_ms (CLOCK_MONOTONIC, delay_ms);

  pthread_cond_timedwait (&r->cond, &r->lock, &ts);
}

static void *
reporter_thread (void *arg)
{
  struct reporter *r = arg;

  pthread_mutex_lock (&r->lock);
  for (;;) {
    while (!r->stop && r->count == 0 && !r->annotations_dirty &&
           !r->status_dirty && r->finish_deadline == 0)
      pthread_cond_wait (&r->cond, &r->lock);
    if (r->stop || (r->count == 0 && !r->annotations_dirty &&
                    !r->status_dirty))
      break;

    r->busy = true;
    if (r->count > 0) {
      struct event e = r->queue[r->head];
      r->head = (r->head + 1) % REPORTER_MAX_EVENTS;
      r->count--;
      pthread_mutex_unlock (&r->lock);
      reporter_internal_send_event (r, &e);
      free (e.reason);
      free (e.message);
    }
    else if (r->annotations_dirty) {
      r->annotations_dirty = false;
      pthread_mutex_unlock (&r->lock);
      reporter_internal_send_annotations (r);
    }
    else {
      r->status_dirty = false;
      pthread_mutex_unlock (&r->lock);
      reporter_internal_send_status_url (r);
    }
    pthread_mutex_lock (&r->lock);
    r->busy = false;
    pthread_cond_broadcast (&r->idle);
  }
  r->busy = false;
  pthread_cond_broadcast (&r->idle);
  pthread_mutex_unlock (&r->lock);
  return NULL;
}

int
reporter_start (const struct reporter_options *opts, struct agent_status *st,
                struct reporter **ret, struct v2v_error *err)
{
  struct reporter *r;
  pthread_condattr_t ca;
  int e;

  if (opts->kube && (opts->pod_name == NULL || opts->pod_namespace == NULL))
    return v2v_error_set (err, -EINVAL, "reporting to Kubernetes needs the "
                          "pod's name and namespace (POD_NAME and "
                          "POD_NAMESPACE from the downward API)");
  if ((r = calloc (1, sizeof *r)) == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  r->opts = *opts;
  if (r->opts.item_deadline_ms <= 0)
    r->opts.item_deadline_ms = REPORTER_ITEM_DEADLINE_MS;
  r->st = st;
#define DUP(f) \
  if (opts->f && (r->f = strdup (opts->f)) == NULL) goto nomem
  DUP (pod_name); DUP (pod_namespace); DUP (pod_uid); DUP (node_name);
  DUP (status_url);
#undef DUP
  pthread_mutex_init (&r->lock, NULL);
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&r->cond, &ca);
  pthread_cond_init (&r->idle, NULL);
  pthread_condattr_destroy (&ca);
  if ((e = pthread_create (&r->thread, NULL, reporter_thread, r)) != 0) {
    pthread_mutex_destroy (&r->lock);
    pthread_cond_destroy (&r->cond);
    pthread_cond_destroy (&r->idle);
    errno = e;
    goto nomem;
  }
  *ret = r;
  return 0;

nomem:
  free (r->pod_name); free (r->pod_namespace); free (r->pod_uid);
  free (r->node_name); free (r->status_url);
  free (r);
  return v2v_error_errno (err, -ENOMEM, "starting the status reporter");
}

void
reporter_event (struct reporter *r, bool warning, const char *reason,
                const char *message)
{
  if (r == NULL || r->opts.kube == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  if (r->count == REPORTER_MAX_EVENTS) {
    /* A stuck API server must not make the agent grow without bound:
     * the oldest queued Event goes.
     */
    struct event *old = &r->queue[r->head];
    free (old->reason);
    free (old->message);
    r->head = (r->head + 1) % REPORTER_MAX_EVENTS;
    r->count--;
    r->dropped++;
  }
  struct event *e = &r->queue[(r->head + r->count) % REPORTER_MAX_EVENTS];
  e->warning = warning;
  e->reason = strdup (reason);
  e->message = strdup (message);
  if (e->reason && e->message)
    r->count++;
  else {
    free (e->reason);
    free (e->message);
  }
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->lock);
}

void
reporter_update (struct reporter *r)
{
  if (r == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  if (r->opts.kube)
    r->annotations_dirty = true;
  if (r->status_url)
    r->status_dirty = true;
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->lock);
}

unsigned
reporter_finish (struct reporter *r, int64_t deadline_ms)
{
  unsigned dropped;

  if (r == NULL)
    return 0;
  pthread_mutex_lock (&r->lock);
  r->finish_deadline = now_ms ()
    + (deadline_ms > 0 ? deadline_ms : 1);
  pthread_cond_broadcast (&r->cond);
  while ((r->busy || r->count > 0 || r->annotations_dirty ||
          r->status_dirty) &&
         now_ms () < r->finish_deadline) {
    /* r->idle uses CLOCK_REALTIME; wake at least every 100 ms. */
    struct timespec ts = timespec_after_ms (CLOCK_REALTIME, 100);
    pthread_cond_timedwait (&r->idle, &r->lock, &ts);
  }
  dropped = r->dropped + r->count + r->annotations_dirty + r->status_dirty;
  r->stop = true;
  pthread_cond_broadcast (&r->cond);
  pthread_mutex_unlock (&r->lock);
  /* A request in flight ends within REPORTER_TIMEOUT_MS. */
  pthread_join (r->thread, NULL);

  for (size_t i = 0; i < r->count; i++) {
    struct event *e = &r->queue[(r->head + i) % REPORTER_MAX_EVENTS];
    free (e->reason);
    free (e->message);
  }
  for (size_t i = 0; i < r->nr_seen; i++) {
    free (r->seen[i].reason);
    free (r->seen[i].message);
  }
  if (dropped)
    log_warn ("status reporting: %u update(s) could not be sent before the "
              "deadline; the outcome is in the termination message and "
              "this log", dropped);
  pthread_mutex_destroy (&r->lock);
  pthread_cond_destroy (&r->cond);
  pthread_cond_destroy (&r->idle);
  free (r->pod_name); free (r->pod_namespace); free (r->pod_uid);
  free (r->node_name); free (r->status_url);
  free (r);
  return dropped;
}

/* verify: the health gate.  The VM was rendered with its serial console
 * logged (render.c: logSerialConsole), so its virt-launcher Pod has the
 * guest-console-log container.  Wait for the VMI to run, then read that
 * log each round until the guest's first-boot probe prints its
 * V2V-HEALTH line (common/health.c), within verifyTimeoutSeconds.
 *
 * Healthy: the downtime (StopInstances sent -> the line read) is kept.
 * Unhealthy, or no line in time: the verdict, the problems and the
 * console's last lines are recorded first (so that a resumed run acts
 * on them without the console), then onUnhealthy: rollback halts the VM
 * and starts the source again if it was running (outcome RolledBack);
 * keep leaves the VM running (outcome Degraded).  Either way a Warning
 * Event on the VirtualMachine says why.  No undo: a halted VM and its
 * volumes are kept for diagnosis; `cleanup --purge` takes them back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "health.h"
#include "http.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "orch-internal.h"
#include "timeutil.h"

#define CONSOLE_TAIL_LINES 15

/* The last lines of LEN bytes at TEXT into OUT: whole lines that fit,
 * at most CONSOLE_TAIL_LINES, NULs and other control bytes but tab and
 * newline shown as '.', so that a record stays valid text.
 */
static void
console_tail (const char *text, size_t len, char *out, size_t outlen)
{
  size_t start = len, lines = 0, n;

  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    len--;
  start = len;
  while (start > 0 && lines < CONSOLE_TAIL_LINES) {
    size_t s = start;
    while (s > 0 && text[s - 1] != '\n')
      s--;
    if (len - s >= outlen)
      break;
    start = s;
    lines++;
    if (start > 0)
      start--;                  /* the '\n' before it */
  }
  if (start < len && text[start] == '\n')
    start++;
  n = len - start;
  if (n >= outlen)
    n = outlen - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char) text[start + i];
    out[i] = c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f) ? (char) c
      : '.';
  }
  out[n] = '\0';
}

/* The last non-empty line of TEXT (for an Event's one-line message). */
static const char *
last_line (const char *text)
{
  const char *nl = strrchr (text, '\n');

  return nl && nl[1] ? nl + 1 : text;
}

/* The VMI's phase into PHASE and its uid into UID: 0, or -ENOENT while
 * there is none yet.
 */
static int
vmi_state (struct orch *o, struct vm_run *r, char *phase, size_t plen,
           char *uid, size_t ulen, struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *vmi = NULL;
  const char *p = "", *u = "";
  char path[512];
  int rc;

  snprintf (path, sizeof path, "/apis/kubevirt.io/v1/namespaces/%s/"
            "virtualmachineinstances/%s", o->p->target_namespace, r->vm.name);
  if ((rc = kube_get (o->o->kube, path, &vmi, err)) < 0)
    return rc;
  json_get_string (vmi, "status.phase", &p, NULL);
  json_get_string (vmi, "metadata.uid", &u, NULL);
  snprintf (phase, plen, "%s", p);
  snprintf (uid, ulen, "%s", u);
  return 0;
}

/* The guest-console-log of the VMI's virt-launcher Pod (KubeVirt labels
 * it kubevirt.io/created-by=<the VMI's uid>), into RESP: 0, or -EAGAIN
 * while there is no such Pod or the container has not started.
 */
static int
console_log (struct orch *o, const char *vmi_uid, struct http_response *resp,
             struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *pods = NULL;
  struct json_object *items;
  const char *sel[] = { "kubevirt.io/created-by", vmi_uid, NULL };
  CLEANUP_FREE char *ls = kube_label_selector (sel);
  const char *pod = NULL;
  char path[512];
  int rc;

  snprintf (path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=%s",
            o->p->target_namespace, ls);
  if ((rc = kube_get (o->o->kube, path, &pods, err)) < 0)
    return rc;
  if (!json_object_object_get_ex (pods, "items", &items) ||
      json_object_array_length (items) == 0 ||
      json_get_string (json_object_array_get_idx
                       (items, json_object_array_length (items) - 1),
                       "metadata.name", &pod, NULL) < 0)
    return -EAGAIN;
  snprintf (path, sizeof path, "/api/v1/namespaces/%s/pods/%s/log"
            "?container=guest-console-log", o->p->target_namespace, pod);
  if ((rc = kube_request (o->o->kube, "GET", path, NULL, NULL, 0, resp,
                          err)) < 0)
    return rc;
  if (resp->status == 401 || resp->status == 403) {
    char msg[256];
    kube_status_message (resp->body.data ? resp->body.data : "", msg,
                         sizeof msg);
    return v2v_error_set (err, -EACCES, "reading the console of Pod %s: %s",
                          pod, msg);
  }
  /* 400 while the container is waiting to start. */
  return resp->status == 200 ? 0 : -EAGAIN;
}

/* One look: 1 with R's verdict set, 0 for not yet, -1 failed. */
static int
look (struct orch *o, struct vm_run *r)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  CLEANUP_JSON struct json_object *report = NULL;
  struct v2v_error err = { 0 };
  char phase[32], uid[64];
  const char *text;
  size_t len;
  int rc;

  rc = vmi_state (o, r, phase, sizeof phase, uid, sizeof uid, &err);
  if (rc == -ENOENT)
    return 0;
  if (rc == 0 && strcmp (phase, "Running") != 0)
    return 0;
  if (rc == 0)
    rc = console_log (o, uid, &resp, &err);
  if (rc == -EAGAIN)
    return 0;
  if (rc < 0) {
    orch_kube_whose (o, &err);
    orch_fail_err (r, &err);
    return -1;
  }
  text = resp.body.data ? resp.body.data : "";
  len = resp.body.len;
  rc = health_line_find (text, len, &report, &err);
  if (rc == 0 || (rc < 0 && now_s () - r->verify_start <=
                  o->p->verify_timeout_s))
    /* No complete line yet, or only a broken one: a later copy of it
     * may parse (the kernel log's is cut short).
     */
    return 0;
  if (rc < 0) {
    snprintf (r->verdict, sizeof r->verdict, "unhealthy");
    snprintf (r->problems, sizeof r->problems, "no valid health line "
              "within %.0f s: %.160s", o->p->verify_timeout_s, err.msg);
  }
  else if (health_report_healthy (report))
    snprintf (r->verdict, sizeof r->verdict, "healthy");
  else {
    snprintf (r->verdict, sizeof r->verdict, "unhealthy");
    health_report_problems (report, r->problems, sizeof r->problems);
  }
  if (strcmp (r->verdict, "healthy") != 0)
    console_tail (text, len, r->console_tail, sizeof r->console_tail);
  return 1;
}

/* The console's last lines when no health line came. */
static void
timeout_tail (struct orch *o, struct vm_run *r)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  struct v2v_error err = { 0 };
  char phase[32], uid[64];

  if (vmi_state (o, r, phase, sizeof phase, uid, sizeof uid, &err) < 0) {
    snprintf (r->console_tail, sizeof r->console_tail,
              "(no VirtualMachineInstance)");
    return;
  }
  if (console_log (o, uid, &resp, &err) < 0 || resp.body.len == 0)
    snprintf (r->console_tail, sizeof r->console_tail,
              "(no console output; the VMI is %s)",
              phase[0] ? phase : "without a phase");
  else
    console_tail (resp.body.data, resp.body.len, r->console_tail,
                  sizeof r->console_tail);
}

/* A Warning Event on the VirtualMachine: what `kubectl describe vm`
 * shows.  Failing to post it is logged, not fatal.
 */
static void
post_event (struct orch *o, struct vm_run *r, const char *reason,
            const char *message)
{
  CLEANUP_JSON struct json_object *ev = json_object_new_object ();
  struct json_object *meta = json_object_new_object ();
  struct json_object *io = json_object_new_object ();
  struct json_object *src = json_object_new_object ();
  struct v2v_error err = { 0 };
  char now[RFC3339_MAX], name[128], path[512];
  int rc;

  time_format_rfc3339 (time (NULL), now, sizeof now);
  snprintf (name, sizeof name, "%s.v2v-%lx", r->vm.name,
            (unsigned long) o->run_id);
  json_object_object_add (ev, "apiVersion", json_object_new_string ("v1"));
  json_object_object_add (ev, "kind", json_object_new_string ("Event"));
  json_object_object_add (meta, "name", json_object_new_string (name));
  json_object_object_add (meta, "namespace",
                          json_object_new_string (o->p->target_namespace));
  json_object_object_add (ev, "metadata", meta);
  json_object_object_add (io, "apiVersion",
                          json_object_new_string ("kubevirt.io/v1"));
  json_object_object_add (io, "kind",
                          json_object_new_string ("VirtualMachine"));
  json_object_object_add (io, "name", json_object_new_string (r->vm.name));
  json_object_object_add (io, "namespace",
                          json_object_new_string (o->p->target_namespace));
  json_object_object_add (ev, "involvedObject", io);
  json_object_object_add (ev, "reason", json_object_new_string (reason));
  json_object_object_add (ev, "message", json_object_new_string (message));
  json_object_object_add (ev, "type", json_object_new_string ("Warning"));
  json_object_object_add (ev, "count", json_object_new_int (1));
  json_object_object_add (ev, "firstTimestamp", json_object_new_string (now));
  json_object_object_add (ev, "lastTimestamp", json_object_new_string (now));
  json_object_object_add (src, "component",
                          json_object_new_string ("v2v-orchestrator"));
  json_object_object_add (ev, "source", src);
  snprintf (path, sizeof path, "/api/v1/namespaces/%s/events",
            o->p->target_namespace);
  rc = kube_create (o->o->kube, path, ev, NULL, &err);
  if (rc < 0 && rc != -EEXIST)
    log_warn ("%s: could not post the Event %s: %s", r->vm.id, reason,
              err.msg);
}

/* onUnhealthy: rollback.  Each step is safe to repeat after a crash. */
static int
roll_back (struct orch *o, struct vm_run *r)
{
  CLEANUP_JSON struct json_object *patch = json_object_new_object ();
  struct json_object *spec = json_object_new_object ();
  struct v2v_error err = { 0 };
  char path[512];

  json_object_object_add (spec, "runStrategy",
                          json_object_new_string ("Halted"));
  json_object_object_add (patch, "spec", spec);
  snprintf (path, sizeof path, "/apis/kubevirt.io/v1/namespaces/%s/"
            "virtualmachines/%s", o->p->target_namespace, r->vm.name);
  if (kube_merge_patch (o->o->kube, path, patch, &err) < 0) {
    orch_kube_whose (o, &err);
    orch_fail (r, "halting VirtualMachine %s/%s: %s",
               o->p->target_namespace, r->vm.name, err.msg);
    return -1;
  }
  log_info ("%s: VirtualMachine %s/%s halted", r->vm.id,
            o->p->target_namespace, r->vm.name);
  /* Started again only if the migration stopped it, and only once: a
   * resumed run knows the instance's state from EC2.
   */
  if (strcmp (r->vm.prior_state, "running") == 0 &&
      strcmp (r->vm.state, "stopped") == 0 &&
      orch_phase_stop.undo (o, r) > 0) {
    orch_fail (r, "could not start the source instance %s again "
               "(see the log)", r->vm.id);
    return -1;
  }
  return 0;
}

static enum orch_step
verify_run (struct orch *o, struct vm_run *r)
{
  char msg[1024];

  if (r->verdict[0] == '\0') {
    if (o->p->skip_guest_conversion ||
        strcmp (r->vm.prior_state, "running") != 0) {
      snprintf (r->note, sizeof r->note, "not verified: %s",
                o->p->skip_guest_conversion
                ? "skipGuestConversion (no health probe in the guest)"
                : "the instance was not running, so the VM stays halted");
      orch_downtime_end (r, "VirtualMachine created, not verified");
      return STEP_DONE;
    }
    if (r->verify_start == 0)
      r->verify_start = now_s ();
    switch (look (o, r)) {
    case -1:
      return STEP_FAIL;
    case 0:
      if (now_s () - r->verify_start <= o->p->verify_timeout_s)
        return STEP_WAIT;
      snprintf (r->verdict, sizeof r->verdict, "unhealthy");
      snprintf (r->problems, sizeof r->problems,
                "no health line within %.0f s", o->p->verify_timeout_s);
      timeout_tail (o, r);
      break;
    }
    if (strcmp (r->verdict, "healthy") == 0)
      orch_downtime_end (r, "guest verified healthy");
    /* The verdict is kept before anything acts on it. */
    orch_record (o, r, "Running");
    orch_crash_point ("verify");
  }
  if (strcmp (r->verdict, "healthy") == 0) {
    log_info ("%s: the guest is healthy", r->vm.id);
    return STEP_DONE;
  }
  log_error ("%s: the guest is unhealthy: %s", r->vm.id, r->problems);
  if (o->p->keep_unhealthy) {
    snprintf (r->final, sizeof r->final, "Degraded");
    orch_fail (r, "unhealthy (onUnhealthy: keep, the VM runs): %s",
               r->problems);
    snprintf (msg, sizeof msg, "the guest is unhealthy after the migration "
              "of %s; kept running (onUnhealthy: keep): %s; console: %.200s",
              r->vm.id, r->problems, last_line (r->console_tail));
    post_event (o, r, "MigrationDegraded", msg);
    return STEP_DONE;
  }
  if (roll_back (o, r) < 0)
    return STEP_FAIL;
  snprintf (r->final, sizeof r->final, "RolledBack");
  orch_fail (r, "unhealthy, rolled back (VM halted%s): %s",
             strcmp (r->vm.prior_state, "running") == 0
             ? ", source started again" : "", r->problems);
  snprintf (msg, sizeof msg, "the guest is unhealthy after the migration "
            "of %s; rolled back: VM halted, source started again, volumes "
            "kept: %s; console: %.200s", r->vm.id, r->problems,
            last_line (r->console_tail));
  post_event (o, r, "MigrationRolledBack", msg);
  return STEP_DONE;
}

const struct orch_phase orch_phase_verify = {
  .name = "verify",
  .run = verify_run,
  .poll = POLL_KUBE,
};

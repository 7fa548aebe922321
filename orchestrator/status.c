/* `v2v-orchestrator status`: one line per VM from the plan's records,
 * and one for each of the plan's VirtualMachines whose record `cleanup`
 * deleted (those instances are migrated).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "orch-internal.h"

/* The plan's VirtualMachines with no record.  Returns how many. */
static size_t
print_unrecorded (struct orch *o, struct json_object *migrated,
                  struct json_object *data)
{
  struct json_object *items;
  size_t shown = 0;

  if (!json_object_object_get_ex (migrated, "items", &items))
    return 0;
  for (size_t i = 0; i < json_object_array_length (items); i++) {
    struct json_object *vm = json_object_array_get_idx (items, i);
    struct json_object *labels, *plan, *id, *rec;
    const char *name = "?";
    if (json_get_object (vm, "metadata.labels", &labels, NULL) < 0 ||
        !json_object_object_get_ex (labels, ORCH_LABEL_PLAN, &plan) ||
        strcmp (json_object_get_string (plan), o->p->name) != 0 ||
        !json_object_object_get_ex (labels, ORCH_LABEL_VM, &id) ||
        (data && json_object_object_get_ex (data, json_object_get_string (id),
                                            &rec)))
      continue;
    json_get_string (vm, "metadata.name", &name, NULL);
    printf ("%-22s %-10s %7d%%  %-10s VirtualMachine %s/%s exists\n",
            json_object_get_string (id), "done", 100, "Succeeded",
            o->p->target_namespace, name);
    shown++;
  }
  return shown;
}

/* TEXT's lines, each indented under its VM's line. */
static void
print_console (const char *text)
{
  printf ("    console's last lines:\n");
  while (*text) {
    size_t n = strcspn (text, "\n");
    printf ("    | %.*s\n", (int) n, text);
    text += n + (text[n] == '\n');
  }
}

int
orch_status (const struct orch_options *opts, struct v2v_error *err)
{
  struct orch o = { .o = opts, .p = opts->plan };
  CLEANUP_JSON struct json_object *cm = NULL, *migrated = NULL;
  struct json_object *data = NULL;
  char path[512];
  size_t shown;
  int r;

  snprintf (path, sizeof path, "/api/v1/namespaces/%s/configmaps/v2v-plan-%s",
            o.p->target_namespace, o.p->name);
  r = kube_get (opts->kube, path, &cm, err);
  orch_kube_whose (&o, err);
  if (r < 0 && r != -ENOENT)
    return r;
  if ((r = orch_list_migrated (&o, &migrated, err)) < 0)
    return r;
  if (cm)
    json_object_object_get_ex (cm, "data", &data);
  printf ("%-22s %-10s %8s  %-10s %s\n", "VM", "PHASE", "PROGRESS",
          "OUTCOME", "ERROR");
  shown = print_unrecorded (&o, migrated, data);
  if (data == NULL || json_object_object_length (data) == 0) {
    if (shown == 0)
      printf ("(plan %s has not started)\n", o.p->name);
    return 0;
  }
  json_object_object_foreach (data, id, v) {
    CLEANUP_JSON struct json_object *rec = NULL;
    const char *phase = "?", *outcome = "?", *error = "", *note = "";
    const char *tail;
    int64_t progress = -1, eta = 0;
    char extra[96] = "";
    size_t idx;
    if (json_parse (json_object_get_string (v), json_object_get_string_len (v),
                    0, &rec, NULL) < 0)
      continue;
    json_get_string (rec, "phase", &phase, NULL);
    json_get_string (rec, "outcome", &outcome, NULL);
    json_get_string (rec, "error", &error, NULL);
    json_get_string (rec, "note", &note, NULL);
    /* Waiting on snapshots: their progress is the VM's, with an ETA. */
    json_get_int64 (rec, "progress", &progress, NULL);
    json_get_int64 (rec, "etaSeconds", &eta, NULL);
    idx = orch_phase_index (phase);
    if (progress < 0)
      progress = strcmp (outcome, "Succeeded") == 0 ? 100
        : (int64_t) (idx * 100 / orch_nr_phases);
    if (eta > 0)
      snprintf (extra, sizeof extra, "snapshots %" PRId64 "%%, ETA %" PRId64
                " s", progress, eta);
    else if (orch_record_downtime (rec) > 0)
      snprintf (extra, sizeof extra, "downtime %.1f s",
                orch_record_downtime (rec));
    printf ("%-22s %-10s %7" PRId64 "%%  %-10s %s%s%s\n", id, phase, progress,
            outcome, error[0] ? error : note,
            extra[0] && (error[0] || note[0]) ? "; " : "", extra);
    /* An unhealthy guest (phase-verify.c): its console's last lines. */
    if (json_get_string (rec, "consoleTail", &tail, NULL) == 0)
      print_console (tail);
  }
  return 0;
}

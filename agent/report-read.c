/* The report read back into struct agent_report; see report-read.h.  The
 * keys are those of convert/report.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "report-read.h"
#include "result.h"
#include "utf8.h"

/* convert/report.h: the keys (names only, no code to link). */
#include "report.h"

/* Report text goes into the status, the termination message and XML:
 * bounded, and valid UTF-8 whatever the guest's files held.
 */
#define REPORT_TEXT_MAX 4096

/* *RET = a clean copy of the string at KEY of O, or NULL if absent.
 * -EINVAL (in ERR) if KEY holds something else; -ENOMEM.
 */
static int
get_text (struct json_object *o, const char *key, char **ret,
          struct v2v_error *err)
{
  const char *s;
  int r = json_get_string (o, key, &s, err);

  *ret = NULL;
  if (r == -ENOENT)
    return 0;
  if (r < 0)
    return r;
  if ((*ret = utf8_copy_valid (s, REPORT_TEXT_MAX)) == NULL)
    return v2v_error_set (err, -ENOMEM, "%s: out of memory", key);
  return 0;
}

/* *RET = a deep copy of the object at KEY of O, or NULL if absent. */
static int
get_object_copy (struct json_object *o, const char *key,
                 struct json_object **ret, struct v2v_error *err)
{
  struct json_object *v;
  int r = json_get_object (o, key, &v, err);

  *ret = NULL;
  if (r == -ENOENT)
    return 0;
  if (r < 0)
    return r;
  if (json_object_deep_copy (v, ret, NULL) != 0)
    return v2v_error_set (err, -ENOMEM, "%s: out of memory", key);
  return 0;
}

/* *RET = the array at KEY of O, or NULL if absent. */
static int
get_array (struct json_object *o, const char *key, struct json_object **ret,
           struct v2v_error *err)
{
  int r = json_get_array (o, key, ret, err);

  if (r == -ENOENT) {
    *ret = NULL;
    return 0;
  }
  return r;
}

static int
read_mounts (struct json_object *g, struct agent_report_guest *guest,
             struct v2v_error *err)
{
  struct json_object *fstab;
  size_t n;
  int r;

  if ((r = get_array (g, CONVERT_REPORT_GUEST_FSTAB, &fstab, err)) < 0 ||
      fstab == NULL)
    return r;
  n = json_object_array_length (fstab);
  if (n == 0)
    return 0;
  guest->mounts = calloc (n, sizeof *guest->mounts);
  if (guest->mounts == NULL)
    return v2v_error_set (err, -ENOMEM, "fstab: out of memory");
  for (size_t i = 0; i < n; i++) {
    struct json_object *e = json_object_array_get_idx (fstab, i);
    struct agent_report_mount m = { 0 };

    if (!json_object_is_type (e, json_type_object))
      return v2v_error_set (err, -EINVAL, "guest.fstab[%zu]: not an object",
                            i);
    /* Entries that did not resolve to a migrated disk (instance store)
     * are not mounted in the converted guest.
     */
    if ((r = get_text (e, CONVERT_REPORT_FSTAB_RESOLVED,
                       &m.device, err)) < 0 ||
        (r = get_text (e, CONVERT_REPORT_FSTAB_MOUNTPOINT,
                       &m.mountpoint, err)) < 0) {
      free (m.device);
      return r;
    }
    if (m.device == NULL || m.mountpoint == NULL) {
      free (m.device);
      free (m.mountpoint);
      continue;
    }
    guest->mounts[guest->nr_mounts++] = m;
  }
  return 0;
}

static int
read_guest (struct json_object *g, struct agent_report_guest *guest,
            struct v2v_error *err)
{
  static const struct {
    const char *key;
    size_t offset;
  } texts[] = {
#define T(k, f) { CONVERT_REPORT_GUEST_##k, \
                  offsetof (struct agent_report_guest, f) }
    T (ROOT, root), T (TYPE, type), T (DISTRO, distro), T (PRODUCT, product),
    T (OSINFO, osinfo), T (ARCH, arch), T (FIRMWARE, firmware),
    T (PACKAGE_FORMAT, package_format),
    T (PACKAGE_MANAGEMENT, package_management),
#undef T
  };
  struct json_object *win;
  int r;

  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if ((r = get_text (g, texts[i].key,
                       (char **) ((char *) guest + texts[i].offset), err)) < 0)
      return r;
  r = json_get_int64 (g, CONVERT_REPORT_GUEST_MAJOR, &guest->major, err);
  if (r < 0 && r != -ENOENT)
    return r;
  guest->has_version = r == 0;
  r = json_get_int64 (g, CONVERT_REPORT_GUEST_MINOR, &guest->minor, err);
  if (r < 0 && r != -ENOENT)
    return r;
  r = json_get_object (g, CONVERT_REPORT_GUEST_WINDOWS, &win, err);
  if (r < 0 && r != -ENOENT)
    return r;
  if (r == 0) {
    guest->windows = true;
    if ((r = get_text (win, CONVERT_REPORT_WINDOWS_VARIANT,
                       &guest->windows_variant, err)) < 0 ||
        (r = get_text (win, CONVERT_REPORT_WINDOWS_SYSTEMROOT,
                       &guest->windows_systemroot,
                       err)) < 0)
      return r;
  }
  return read_mounts (g, guest, err);
}

static int
read_warnings (struct json_object *report, struct agent_report *r,
               struct v2v_error *err)
{
  struct json_object *w;
  size_t n;
  int e;

  if ((e = get_array (report, CONVERT_REPORT_WARNINGS, &w, err)) < 0 ||
      w == NULL)
    return e;
  n = json_object_array_length (w);
  if (n == 0)
    return 0;
  if ((r->warnings = calloc (n, sizeof *r->warnings)) == NULL)
    return v2v_error_set (err, -ENOMEM, "warnings: out of memory");
  for (size_t i = 0; i < n; i++) {
    struct json_object *s = json_object_array_get_idx (w, i);

    if (!json_object_is_type (s, json_type_string))
      return v2v_error_set (err, -EINVAL, "warnings[%zu]: not a string", i);
    r->warnings[i] = utf8_copy_valid (json_object_get_string (s),
                                      REPORT_TEXT_MAX);
    if (r->warnings[i] == NULL)
      return v2v_error_set (err, -ENOMEM, "warnings: out of memory");
    r->nr_warnings++;
  }
  return 0;
}

static int
read_disks (struct json_object *report, struct agent_report *r,
            struct v2v_error *err)
{
  struct json_object *disks;
  size_t n;
  int e;

  if ((e = get_array (report, CONVERT_REPORT_DISKS, &disks, err)) < 0 ||
      disks == NULL)
    return e;
  n = json_object_array_length (disks);
  if (n == 0)
    return 0;
  if ((r->disks = calloc (n, sizeof *r->disks)) == NULL)
    return v2v_error_set (err, -ENOMEM, "disks: out of memory");
  for (size_t i = 0; i < n; i++) {
    struct json_object *d = json_object_array_get_idx (disks, i);
    struct agent_report_disk *rd = &r->disks[i];

    if (json_get_int64 (d, CONVERT_REPORT_DISK_INDEX, &rd->index, NULL) < 0)
      rd->index = (int64_t) i;
    rd->has_size = json_get_int64 (d, CONVERT_REPORT_DISK_SIZE,
                                   &rd->size, NULL) == 0;
    r->nr_disks++;
  }
  return 0;
}

static int
read_hints (struct json_object *report, struct agent_report_hints *h,
            struct v2v_error *err)
{
  struct json_object *o;
  int e = json_get_object (report, CONVERT_REPORT_KUBEVIRT_HINTS, &o, err);

  if (e == -ENOENT)
    return 0;
  if (e < 0)
    return e;
  if ((e = get_text (o, CONVERT_REPORT_HINT_FIRMWARE,
                     &h->firmware, err)) < 0 ||
      (e = get_text (o, CONVERT_REPORT_HINT_DISK_BUS,
                     &h->disk_bus, err)) < 0 ||
      (e = get_text (o, CONVERT_REPORT_HINT_NIC_MODEL,
                     &h->nic_model, err)) < 0 ||
      (e = get_text (o, CONVERT_REPORT_HINT_MACHINE_TYPE, &h->machine_type,
                     err)) < 0)
    goto fail;
  e = json_get_int64 (o, CONVERT_REPORT_HINT_BOOT_DISK, &h->boot_disk, err);
  if (e < 0 && e != -ENOENT)
    goto fail;
  h->has_boot_disk = e == 0;
  return 0;

 fail:
  v2v_error_prefix (err, "%s", CONVERT_REPORT_KUBEVIRT_HINTS);
  return e;
}

static int
read_steps (struct json_object *report, struct agent_report *r,
            struct v2v_error *err)
{
  struct json_object *steps;
  size_t n;
  int e;

  if ((e = get_array (report, CONVERT_REPORT_STEPS, &steps, err)) < 0 ||
      steps == NULL)
    return e;
  n = json_object_array_length (steps);
  if (n == 0)
    return 0;
  if ((r->steps = calloc (n, sizeof *r->steps)) == NULL)
    return v2v_error_set (err, -ENOMEM, "steps: out of memory");
  for (size_t i = 0; i < n; i++) {
    struct json_object *s = json_object_array_get_idx (steps, i);
    struct agent_report_step *st = &r->steps[r->nr_steps];

    if (!json_object_is_type (s, json_type_object))
      return v2v_error_set (err, -EINVAL, "steps[%zu]: not an object", i);
    r->nr_steps++;
    if ((e = get_text (s, CONVERT_REPORT_STEP_NAME, &st->name, err)) < 0 ||
        (e = get_text (s, CONVERT_REPORT_STEP_RESULT, &st->result, err)) < 0)
      return e;
  }
  return 0;
}

bool
agent_report_step_applied (const struct agent_report *r, const char *name)
{
  for (size_t i = 0; r && i < r->nr_steps; i++)
    if (r->steps[i].name && r->steps[i].result &&
        strcmp (r->steps[i].name, name) == 0 &&
        strcmp (r->steps[i].result, "applied") == 0)
      return true;
  return false;
}

int
agent_report_read (struct json_object *report,
                   struct agent_report **ret_report, struct v2v_error *err)
{
  struct agent_report *r = calloc (1, sizeof *r);
  struct json_object *g;
  int e;

  if (r == NULL)
    return v2v_error_set (err, -ENOMEM, "report: out of memory");
  if (!json_object_is_type (report, json_type_object)) {
    e = v2v_error_set (err, -EINVAL, "the report is not a JSON object");
    goto fail;
  }
  if ((e = get_text (report, CONVERT_REPORT_STATUS, &r->status, err)) < 0 ||
      (e = get_text (report, CONVERT_REPORT_ACCELERATOR, &r->accelerator,
                     err)) < 0 ||
      (e = get_object_copy (report, CONVERT_REPORT_GUEST, &r->guest_json,
                            err)) < 0 ||
      (e = get_object_copy (report, CONVERT_REPORT_KUBEVIRT_HINTS,
                            &r->hints_json, err)) < 0 ||
      (e = read_warnings (report, r, err)) < 0 ||
      (e = read_disks (report, r, err)) < 0 ||
      (e = read_hints (report, &r->hints, err)) < 0 ||
      (e = read_steps (report, r, err)) < 0)
    goto fail;
  if (json_get_object (report, CONVERT_REPORT_GUEST, &g, NULL) == 0) {
    r->has_guest = true;
    if ((e = read_guest (g, &r->guest, err)) < 0) {
      v2v_error_prefix (err, "report: %s", CONVERT_REPORT_GUEST);
      goto fail;
    }
  }
  *ret_report = r;
  return 0;

 fail:
  agent_report_free (r);
  return e;
}

int
agent_report_check_conversion (const struct agent_report *r,
                               struct v2v_error *err)
{
  const struct agent_report_hints *h = &r->hints;
  const struct { const char *key; bool present; } hints[] = {
    { CONVERT_REPORT_HINT_FIRMWARE, h->firmware != NULL },
    { CONVERT_REPORT_HINT_BOOT_DISK, h->has_boot_disk },
    { CONVERT_REPORT_HINT_DISK_BUS, h->disk_bus != NULL },
    { CONVERT_REPORT_HINT_NIC_MODEL, h->nic_model != NULL },
    { CONVERT_REPORT_HINT_MACHINE_TYPE, h->machine_type != NULL },
  };

  if (r->status == NULL)
    return v2v_error_set (err, -EINVAL, "%s is missing: not a conversion's "
                          "report (docs/report.md)", CONVERT_REPORT_STATUS);
  if (agent_result_from_name (r->status, AGENT_RESULT_CONVERT |
                                         AGENT_RESULT_RUN) < 0)
    return v2v_error_set (err, -EINVAL, "%s: '%s' is no status convert or "
                          "run ends with (docs/report.md)",
                          CONVERT_REPORT_STATUS, r->status);
  if (r->hints_json == NULL)
    return 0;
  for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
    if (!hints[i].present)
      return v2v_error_set (err, -EINVAL, "%s.%s is missing (docs/report.md)",
                            CONVERT_REPORT_KUBEVIRT_HINTS, hints[i].key);
  if (h->boot_disk < 0)
    return v2v_error_set (err, -EINVAL, "%s.%s is %lld, below 0",
                          CONVERT_REPORT_KUBEVIRT_HINTS,
                          CONVERT_REPORT_HINT_BOOT_DISK,
                          (long long) h->boot_disk);
  return 0;
}

void
agent_report_free (struct agent_report *r)
{
  struct agent_report_guest *g;

  if (r == NULL)
    return;
  g = &r->guest;
  free (g->root); free (g->type); free (g->distro); free (g->product);
  free (g->osinfo); free (g->arch); free (g->firmware);
  free (g->package_format); free (g->package_management);
  free (g->windows_variant); free (g->windows_systemroot);
  for (size_t i = 0; i < g->nr_mounts; i++) {
    free (g->mounts[i].device);
    free (g->mounts[i].mountpoint);
  }
  free (g->mounts);
  json_object_put (r->guest_json);
  json_object_put (r->hints_json);
  for (size_t i = 0; i < r->nr_warnings; i++)
    free (r->warnings[i]);
  free (r->warnings);
  free (r->disks);
  free (r->hints.firmware);
  free (r->hints.disk_bus);
  free (r->hints.nic_model);
  free (r->hints.machine_type);
  for (size_t i = 0; i < r->nr_steps; i++) {
    free (r->steps[i].name);
    free (r->steps[i].result);
  }
  free (r->steps);
  free (r->status);
  free (r->accelerator);
  free (r);
}

/* convert_run: one appliance launch for all disks; inspect -> plan ->
 * apply -> report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "blockdev.h"
#include "internal.h"
#include "report.h"
#include "timeutil.h"

/* Read a cgroup v2 limit; 0 if unlimited or unknown. */
static long long
cgroup_value (const char *file, int field)
{
  char path[256], buf[128];
  long long a = 0, b = 0;
  CLEANUP_FCLOSE FILE *fp = NULL;

  snprintf (path, sizeof path, "/sys/fs/cgroup/%s", file);
  fp = fopen (path, "re");
  if (fp == NULL || fgets (buf, sizeof buf, fp) == NULL ||
      strncmp (buf, "max", 3) == 0)
    return 0;
  if (sscanf (buf, "%lld %lld", &a, &b) < 1)
    return 0;
  return field == 0 ? a : (b > 0 ? a / b : 0);
}

/* Size the appliance from the pod's limits: half the memory limit (the
 * rest is qemu and us), 1 GiB at most, 768 MiB at least; one vCPU per
 * CPU of quota, up to 4.  1 GiB is plenty for the guest's initramfs tools
 * (they work in the guest's /var/tmp), and the appliance's RAM is most of
 * the pod's memory footprint.
 */
static void
size_appliance (guestfs_h *g, struct json_object *report)
{
  long long mem = cgroup_value ("memory.max", 0);
  long long cpus = cgroup_value ("cpu.max", 1);
  long online = sysconf (_SC_NPROCESSORS_ONLN);
  int memsize = 1024, smp;

  if (mem > 0) {
    memsize = (int) (mem / 2 / (1024 * 1024));
    if (memsize > 1024)
      memsize = 1024;
    if (memsize < 768)
      memsize = 768;
  }
  smp = (int) (cpus > 0 ? cpus : online);
  if (smp < 1)
    smp = 1;
  if (smp > 4)
    smp = 4;
  guestfs_set_memsize (g, memsize);
  guestfs_set_smp (g, smp);
  json_object_object_add (report, CONVERT_REPORT_APPLIANCE_MEMORY_MB,
                          json_object_new_int (memsize));
  json_object_object_add (report, CONVERT_REPORT_APPLIANCE_VCPUS,
                          json_object_new_int (smp));
}

static int
add_disk (guestfs_h *g, const struct blockdev_disk *d, bool readonly,
          struct v2v_error *err)
{
  const char *path = d->overlay ? d->overlay : d->path;
  const char *fmt = d->overlay ? "qcow2" : "raw";
  char name[32];
  int r;

  snprintf (name, sizeof name, "disk%u", d->index);
  if (d->is_nbd && d->overlay == NULL) {
    /* nbd+unix:///EXPORT?socket=PATH or nbd://HOST[:PORT][/EXPORT] */
    char server[512] = "", exportname[256] = "";
    const char *p;
    if (strncmp (path, "nbd+unix://", 11) == 0 &&
        (p = strstr (path, "socket=")) != NULL) {
      snprintf (server, sizeof server, "unix:%s", p + 7);
      const char *e = path + 11;
      if (*e == '/')
        e++;
      snprintf (exportname, sizeof exportname, "%.*s",
                (int) strcspn (e, "?"), e);
    }
    else if (strncmp (path, "nbd://", 6) == 0) {
      snprintf (server, sizeof server, "%.*s", (int) strcspn (path + 6, "/"),
                path + 6);
      p = path + 6 + strcspn (path + 6, "/");
      if (*p == '/')
        snprintf (exportname, sizeof exportname, "%s", p + 1);
    }
    else
      return v2v_error_set (err, -EINVAL, "%s: unsupported NBD URI", path);
    char *servers[] = { server, NULL };
    r = guestfs_add_drive_opts (g, exportname,
                                GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw",
                                GUESTFS_ADD_DRIVE_OPTS_PROTOCOL, "nbd",
                                GUESTFS_ADD_DRIVE_OPTS_SERVER, servers,
                                GUESTFS_ADD_DRIVE_OPTS_READONLY, readonly,
                                GUESTFS_ADD_DRIVE_OPTS_NAME, name,
                                -1);
  }
  else
    r = guestfs_add_drive_opts (g, path,
                                GUESTFS_ADD_DRIVE_OPTS_FORMAT, fmt,
                                GUESTFS_ADD_DRIVE_OPTS_READONLY, readonly,
                                GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe",
                                GUESTFS_ADD_DRIVE_OPTS_NAME, name,
                                -1);
  if (r == -1)
    return convert_internal_gerror (g, err, "add drive", d->path);
  return 0;
}

static void
progress (const struct convert_options *opts, const char *phase,
          const char *msg)
{
  if (opts->progress)
    opts->progress (phase, msg, opts->progress_opaque);
}

/* A new handle for DISKS, set up as every launch of ours wants it:
 * errors returned to us (the default handler prints to stderr), TCG
 * settings, the appliance sized to the pod, the disks added.  Returns
 * NULL with ERR set.  The caller closes the handle.
 */
static guestfs_h *
appliance_create (const struct blockdev_list *disks,
                  const struct accel_result *accel, bool readonly,
                  struct json_object *report, struct v2v_error *err)
{
  CLEANUP_GUESTFS guestfs_h *g = guestfs_create ();

  if (g == NULL) {
    v2v_error_set (err, -ENOMEM, "guestfs_create failed");
    return NULL;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  if (accel->kind == ACCEL_TCG) {
    char *settings[] = { (char *) "force_tcg", NULL };
    guestfs_set_backend_settings (g, settings);
    /* TCG caches a translation under its guest-virtual address too, so
     * with address-space randomisation every new process in the
     * appliance (update-initramfs runs hundreds) translates ld.so and
     * libc afresh: 32 ms per exec here, 7 ms without it.  This is the
     * throwaway appliance's kernel, never the guest's.
     */
    guestfs_set_append (g, "norandmaps");
  }
  size_appliance (g, report);
  for (size_t i = 0; i < disks->nr_disks; i++)
    if (add_disk (g, &disks->disks[i], readonly, err) < 0)
      return NULL;
  return TAKE_PTR (g);
}

/* Launch the appliance, with a fresh handle a second time if the
 * watchdog had to kill the first (launch.c): the hang is rare and a new
 * qemu starts normally.  Only a timeout is retried, at once and once:
 * no backoff, since nothing outside us is busy, and a launch that failed
 * by itself (a bad disk, no qemu) would only fail again.
 * Returns the launched handle (the caller closes it), or NULL with ERR
 * set.
 */
static guestfs_h *
appliance_launch (const struct blockdev_list *disks,
                  const struct convert_options *opts,
                  const struct accel_result *accel, bool readonly,
                  struct json_object *report, struct v2v_error *err)
{
  unsigned timeout = opts->launch_timeout ? opts->launch_timeout
                                          : CONVERT_LAUNCH_TIMEOUT;
  const int max_attempts = 2;

  json_object_object_add (report, CONVERT_REPORT_LAUNCH_TIMEOUT,
                          json_object_new_int64 (timeout));
  for (int attempt = 1; ; attempt++) {
    CLEANUP_GUESTFS guestfs_h *g = appliance_create (disks, accel, readonly,
                                                     report, err);
    char msg[V2V_ERROR_MAX + 64];
    int r;

    if (g == NULL)
      return NULL;
    json_object_object_add (report, CONVERT_REPORT_LAUNCH_ATTEMPTS,
                            json_object_new_int (attempt));
    r = convert_internal_launch (g, timeout, err);
    if (r == 0)
      return TAKE_PTR (g);
    if (r != -ETIMEDOUT) {
      if (attempt > 1)
        v2v_error_prefix (err, "second launch, after a timeout");
      return NULL;
    }
    if (attempt == max_attempts) {
      v2v_error_set (err, -ETIMEDOUT, "the libguestfs appliance did not "
                     "start within %u s (tried twice); see "
                     "docs/troubleshooting.md", timeout);
      return NULL;
    }
    /* The first attempt's error, before it is replaced by the second's. */
    snprintf (msg, sizeof msg, "%s; starting the appliance again "
              "(attempt %d of %d)", err->msg, attempt + 1, max_attempts);
    progress (opts, "launch", msg);
  }
}

static struct json_object *
hints_json (const struct guest *guest, const struct convert_options *opts)
{
  struct json_object *h = json_object_new_object ();
  bool compat = opts->compat != CONVERT_COMPAT_OFF;
  int boot_disk = 0;

  for (size_t i = 0; i < guest->nr_fs; i++)
    if (guest->root && strcmp (guest->fs[i].device, guest->root) == 0 &&
        guest->fs[i].disk_index >= 0)
      boot_disk = guest->fs[i].disk_index;
  json_object_object_add (h, CONVERT_REPORT_HINT_FIRMWARE,
                          json_object_new_string
                          (guest->firmware == FIRMWARE_UEFI ? "efi" : "bios"));
  json_object_object_add (h, CONVERT_REPORT_HINT_BOOT_DISK,
                          json_object_new_int (boot_disk));
  json_object_object_add (h, CONVERT_REPORT_HINT_DISK_BUS,
                          json_object_new_string
                          (compat ? "sata" : "virtio"));
  json_object_object_add (h, CONVERT_REPORT_HINT_NIC_MODEL,
                          json_object_new_string
                          (compat ? "e1000e" : "virtio"));
  json_object_object_add (h, CONVERT_REPORT_HINT_MACHINE_TYPE,
                          json_object_new_string ("q35"));
  json_object_object_add (h, "rng", json_object_new_boolean (true));
  json_object_object_add (h, "balloon", json_object_new_boolean (true));
  if (guest->os->hints)
    guest->os->hints (guest, opts, h);
  return h;
}

static int
write_marker (struct convert_ctx *ctx, struct v2v_error *err)
{
  CLEANUP_FREE char *m = NULL;
  CLEANUP_FREE char *path = NULL;
  time_t t = time (NULL);
  struct tm tm;
  char ts[64];

  gmtime_r (&t, &tm);
  strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (asprintf (&m, "{\"converted_by\":\"v2v-agent %s\",\"time\":\"%s\","
                "\"changes\":%zu}\n", V2V_VERSION, ts, ctx->log->nr) < 0)
    return v2v_error_set (err, -ENOMEM, "marker");
  if (asprintf (&path, "%s/converted.json",
                convert_internal_state_dir (ctx->guest)) < 0)
    return v2v_error_set (err, -ENOMEM, "marker");
  return convert_internal_write (ctx, path, m, strlen (m),
                                 "record the conversion, so a second run "
                                 "changes nothing", err);
}

/* Compatibility mode's verdict; adds it to REPORT under KEY. */
static enum preflight_verdict
preflight (struct convert_ctx *ctx, struct json_object *report,
           const char *key, struct v2v_error *err)
{
  struct preflight pf = { 0 };
  enum preflight_verdict v;

  convert_internal_preflight (ctx, &pf, err);
  json_object_object_add (report, key, convert_internal_preflight_json
                          (&pf, ctx->opts->compat == CONVERT_COMPAT_FIX));
  v = pf.verdict;
  convert_internal_preflight_free (&pf);
  return v;
}

enum convert_status
convert_run (const struct blockdev_list *disks,
             const struct convert_options *opts,
             struct json_object **ret_report, struct v2v_error *err)
{
  struct json_object *report = json_object_new_object ();
  struct json_object *timings = json_object_new_object ();
  struct json_object *steps = json_object_new_array ();
  struct guest guest = { 0 };
  struct changelog log = { 0 };
  struct convert_ctx ctx = { .guest = &guest, .opts = opts, .log = &log };
  struct accel_result accel;
  enum convert_status status = CONVERT_OK;
  bool fixed = false;           /* --compat=fix ran its steps */
  CLEANUP_GUESTFS guestfs_h *g = NULL;
  double t0 = now_s (), t;

  *ret_report = report;
  for (size_t i = 0; i < disks->nr_disks; i++)
    if (disks->disks[i].warning)
      convert_internal_warn (&ctx, "%s: %s", disks->disks[i].path,
                             disks->disks[i].warning);
  json_object_object_add (report, CONVERT_REPORT_TIMINGS, timings);
  json_object_object_add (report, CONVERT_REPORT_DRY_RUN,
                          json_object_new_boolean (opts->dry_run));

  /* Launch. */
  progress (opts, "launch", "starting the appliance");
  if (accel_detect (ACCEL_PROBE_TIMEOUT_MS, &accel, err) < 0) {
    status = CONVERT_ERR_INTERNAL;
    goto out;
  }
  json_object_object_add (report, CONVERT_REPORT_ACCELERATOR,
                          json_object_new_string (accel_kind_to_string (accel.kind)));
  json_object_object_add (report, CONVERT_REPORT_ACCELERATOR_REASON,
                          json_object_new_string (accel.reason));
  guest.devmap = opts->devmap;
  guest.readonly = opts->dry_run || opts->compat == CONVERT_COMPAT_CHECK;
  g = appliance_launch (disks, opts, &accel, guest.readonly, report, err);
  if (g == NULL) {
    status = CONVERT_ERR_INTERNAL;
    goto out;
  }
  guest.g = g;
  t = now_s ();
  json_object_object_add (timings, "launch", json_object_new_double (t - t0));

  /* Inspect. */
  progress (opts, "inspect", "inspecting the guest");
  /* 0, a refusal (CONVERT_ERR_LUKS_KEY, positive), or -errno. */
  int r = convert_internal_luks_open (&guest, opts->keys, err);
  if (r != 0) {
    status = r > 0 ? (enum convert_status) r : CONVERT_ERR_INTERNAL;
    goto out;
  }
  status = convert_internal_inspect (&guest, disks, opts->root, err);
  json_object_object_add (timings, "inspect",
                          json_object_new_double (now_s () - t));
  t = now_s ();
  if (guest.root)
    json_object_object_add (report, CONVERT_REPORT_GUEST,
                            convert_internal_guest_json (&guest));
  if (status != CONVERT_OK)
    goto out;
  json_object_object_add (report, CONVERT_REPORT_KUBEVIRT_HINTS,
                          hints_json (&guest, opts));
  /* The preflight's question stands for a converted guest too. */
  if (guest.converted && opts->compat == CONVERT_COMPAT_OFF &&
      !opts->probe_only) {
    status = CONVERT_ALREADY_DONE;
    goto out;
  }
  /* Windows finds its drivers before anything is written (compatibility
   * mode installs none). */
  if (guest.os->prepare && opts->compat == CONVERT_COMPAT_OFF &&
      !opts->probe_only) {
    status = guest.os->prepare (&ctx, err);
    if (status != CONVERT_OK)
      goto out;
  }

  /* Compatibility mode: a verdict instead of a conversion; with FIX, only
   * the fixes the verdict lists.  Nothing is written for will-not-boot.
   */
  const struct convert_step *const *sp = guest.os->steps;
  /* verify's injection: the probe alone (a Windows guest's probe is part
   * of its first boot script, which needs the drivers a conversion
   * copies: it has none). */
  if (opts->probe_only)
    sp = guest.os->probe_steps;
  if (opts->compat != CONVERT_COMPAT_OFF) {
    progress (opts, "preflight", "will it boot on SATA + e1000e?");
    enum preflight_verdict v = preflight (&ctx, report,
                                          CONVERT_REPORT_PREFLIGHT, err);
    if (v == PREFLIGHT_WONT_BOOT) {
      status = CONVERT_COMPAT_WONT_BOOT;
      goto out;
    }
    if (v == PREFLIGHT_BOOTABLE ||
        opts->compat == CONVERT_COMPAT_CHECK || opts->dry_run) {
      status = v == PREFLIGHT_BOOTABLE ? CONVERT_OK : CONVERT_COMPAT_NEEDS_FIXES;
      goto out;
    }
    sp = guest.os->compat_steps;
    fixed = true;
  }

  /* Plan, then apply. */
  progress (opts, "convert", opts->dry_run ? "planning" : "converting");
  for (; *sp; sp++) {
    const struct convert_step *step = *sp;
    struct json_object *sj = json_object_new_object ();
    char why[512] = "";
    double ts = now_s ();
    bool applies = step->applies (&ctx, why, sizeof why);

    json_object_object_add (sj, CONVERT_REPORT_STEP_NAME,
                            json_object_new_string (step->name));
    json_object_object_add (sj, CONVERT_REPORT_STEP_REASON,
                            json_object_new_string (why));
    json_object_array_add (steps, sj);
    if (!applies) {
      json_object_object_add (sj, CONVERT_REPORT_STEP_RESULT,
                              json_object_new_string ("skipped"));
      continue;
    }
    if (opts->dry_run) {
      json_object_object_add (sj, CONVERT_REPORT_STEP_RESULT,
                              json_object_new_string ("planned"));
      continue;
    }
    progress (opts, step->name, why);
    if (step->apply (&ctx, err) < 0) {
      json_object_object_add (sj, CONVERT_REPORT_STEP_RESULT,
                              json_object_new_string ("failed"));
      json_object_object_add (sj, "error", json_object_new_string (err->msg));
      v2v_error_prefix (err, "step %s", step->name);
      status = CONVERT_ERR_FAILED;
      break;
    }
    json_object_object_add (sj, CONVERT_REPORT_STEP_RESULT,
                            json_object_new_string ("applied"));
    json_object_object_add (sj, "seconds",
                            json_object_new_double (now_s () - ts));
  }
  /* compat fixes leave no marker: a later real conversion must still run.
   * They are checked instead: the verdict must now be "bootable".
   */
  if (status == CONVERT_OK && fixed &&
      preflight (&ctx, report, CONVERT_REPORT_PREFLIGHT_AFTER_FIXES, err)
      != PREFLIGHT_BOOTABLE) {
    v2v_error_set (err, -EIO, "the compatibility fixes were applied but the "
                   "preflight still finds problems; see "
                   "preflight_after_fixes in the report");
    status = CONVERT_ERR_FAILED;
  }
  if (status == CONVERT_OK && !opts->dry_run && !opts->probe_only &&
      opts->compat == CONVERT_COMPAT_OFF && write_marker (&ctx, err) < 0)
    status = CONVERT_ERR_FAILED;
  json_object_object_add (timings, opts->dry_run ? "plan" : "apply",
                          json_object_new_double (now_s () - t));
  t = now_s ();

  /* Flush everything to the disks (or overlays) before we say done. */
  if (status == CONVERT_OK && !opts->dry_run &&
      (guestfs_umount_all (g) == -1 || guestfs_shutdown (g) == -1)) {
    convert_internal_gerror (g, err, "shutdown", "appliance");
    status = CONVERT_ERR_FAILED;
  }
  json_object_object_add (timings, "shutdown",
                          json_object_new_double (now_s () - t));

out:
  json_object_object_add (report, CONVERT_REPORT_STEPS, steps);
  json_object_object_add (report, CONVERT_REPORT_CHANGES,
                          convert_internal_changelog_json (&log));
  if (guest.os && guest.os->report_json)
    guest.os->report_json (&guest, report);
  {
    struct json_object *w = json_object_new_array ();
    for (size_t i = 0; i < log.nr_warnings; i++)
      json_object_array_add (w, json_object_new_string (log.warnings[i]));
    json_object_object_add (report, CONVERT_REPORT_WARNINGS, w);
  }
  /* The outcome ("status", "error") is the agent's to write: only it
   * knows whether the commit went through (convert/report.h).
   */
  json_object_object_add (timings, "total", json_object_new_double (now_s () - t0));
  convert_internal_changelog_free (&log);
  convert_internal_guest_free (&guest);
  return status;
}

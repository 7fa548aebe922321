/* convert-step-dump: run rework steps one at a time, each alone on its
 * own copy of a phony guest, in ONE appliance launch, and dump what each
 * step changed, for the step-NAME tests (tests/guestfs/steps.cmake) to
 * assert on.  An appliance launch costs 30-60 s under TCG; a step costs
 * a second or two, so sharing the launch is what makes a test per step
 * affordable.
 *
 *   convert-step-dump OUTDIR STEP=IMAGE...
 *
 * Each IMAGE (a raw phony guest, never written) gets a qcow2 overlay in
 * OUTDIR; all overlays are added to one appliance.  For each STEP, the
 * guest is inspected on its own disk only (the other disks are hidden
 * from inspection), the step is looked up by name in the family's steps
 * (or compat steps), and run alone with the default options: applies(),
 * then apply() if it applies.  VIRTIO_WIN, if set, is the virtio-win tree
 * for Windows steps (the family's prepare() runs first, as in a
 * conversion).  OUTDIR/STEP/ then holds:
 *
 *   result.json   {"step", "os", "applies", "why", "result" (applied,
 *                 skipped or failed), "error", "changes", "warnings"}
 *   before.tar    the guest's tree (as inspection mounted it) before the
 *   after.tar     step, and after it
 *   esp-before.tar, esp-after.tar
 *                 the same of the ESP, when it is not in that tree
 *                 (Windows)
 *
 * tests/guestfs/step-lib.sh unpacks them and asserts with the vocabulary
 * of convert-phony-lib.sh (expect_changes, expect_diff, expect_file...).
 *
 * Exit status: 0 if every step was run (a step that fails is recorded,
 * not fatal), 1 on a usage or set-up error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <guestfs.h>

#include "blockdev.h"
#include "internal.h"

static void
die (const char *msg, const char *arg)
{
  fprintf (stderr, "convert-step-dump: %s%s%s\n", msg, arg ? ": " : "",
           arg ? arg : "");
  exit (1);
}

/* mkdir -p on the host. */
static void
mkdirs (const char *path)
{
  CLEANUP_FREE char *p = strdup (path);

  if (p == NULL)
    die ("out of memory", NULL);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir (p, 0755);
      *s = '/';
    }
  if (mkdir (p, 0755) == -1 && errno != EEXIST)
    die ("mkdir", p);
}

static const struct convert_step *
find_step (const struct convert_os *os, const char *name)
{
  for (const struct convert_step *const *sp = os->steps; *sp; sp++)
    if (strcmp ((*sp)->name, name) == 0)
      return *sp;
  for (const struct convert_step *const *sp = os->compat_steps; *sp; sp++)
    if (strcmp ((*sp)->name, name) == 0)
      return *sp;
  return NULL;
}

/* The guest's tree as mounted, into DIR/NAME.tar. */
static void
tar_out (guestfs_h *g, const char *dir, const char *name)
{
  CLEANUP_FREE char *path = NULL;

  if (asprintf (&path, "%s/%s.tar", dir, name) < 0)
    die ("out of memory", NULL);
  if (guestfs_tar_out_opts (g, "/", path,
                            GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1, -1) == -1)
    die ("tar-out", guestfs_last_error (g));
}

/* A Windows guest's ESP is not in its mounted tree: dump it on its own
 * (the mounts are dropped; the caller's next step starts with a fresh
 * inspection, and the step runs with the root mounted again). */
static void
tar_out_esp (struct guest *guest, const char *dir, const char *name)
{
  guestfs_h *g = guest->g;
  CLEANUP_STRV char **mps = NULL;
  bool mounted = false;

  if (guest->esp == NULL)
    return;
  mps = guestfs_mountpoints (g);
  for (size_t i = 0; mps && mps[i]; i += 2)
    mounted |= strcmp (mps[i], guest->esp->device) == 0;
  if (mounted)
    return;                     /* Linux: in the tree, at /boot/efi */
  if (guestfs_umount_all (g) == -1 ||
      guestfs_mount_ro (g, guest->esp->device, "/") == -1)
    die ("mount the ESP", guestfs_last_error (g));
  tar_out (g, dir, name);
  if (guestfs_umount_all (g) == -1 ||
      guestfs_mount (g, guest->root, "/") == -1)
    die ("mount the root again", guestfs_last_error (g));
}

static void
run_step (guestfs_h *g, const struct blockdev_list *all, size_t i,
          const char *name, const char *outdir)
{
  struct blockdev_disk *view = calloc (all->nr_disks, sizeof *view);
  struct blockdev_list one = { .nr_disks = all->nr_disks, .disks = view };
  struct convert_options opts = {
    .virtio_win = getenv ("VIRTIO_WIN"),
    .virtio_win_legacy = getenv ("VIRTIO_WIN_LEGACY"),
  };
  struct guest guest = { .g = g };
  struct changelog log = { 0 };
  struct convert_ctx ctx = { .guest = &guest, .opts = &opts, .log = &log };
  struct v2v_error err = { 0 };
  struct json_object *r = json_object_new_object ();
  CLEANUP_FREE char *dir = NULL, *path = NULL;
  const struct convert_step *step;
  char why[512] = "";
  bool applies = false;
  const char *result = "skipped";

  if (view == NULL || asprintf (&dir, "%s/%s", outdir, name) < 0)
    die ("out of memory", NULL);
  mkdirs (dir);
  /* Disk I alone, as the guest's first disk (index 0: the root volume
   * EC2 names /dev/xvda or /dev/sda, nvme0n1); the others are there, at
   * the indexes after it, but show inspection nothing.  The appliance's
   * device order stays that of ALL.
   */
  for (size_t d = 0; d < all->nr_disks; d++) {
    view[d] = all->disks[d];
    view[d].index = d == i ? 0 : (unsigned) (d < i ? d + 1 : d);
    if (d != i) {
      view[d].nr_partitions = 0;
      view[d].fstype = NULL;
    }
  }
  if (convert_internal_inspect (&guest, &one, NULL, &err) != CONVERT_OK)
    die ("inspection failed", err.msg);
  step = find_step (guest.os, name);
  if (step == NULL)
    die ("no such step in the guest's family", name);
  tar_out (g, dir, "before");
  tar_out_esp (&guest, dir, "esp-before");
  if (guest.os->prepare && guest.os->prepare (&ctx, &err) != CONVERT_OK) {
    result = "failed";
    goto out;
  }
  applies = step->applies (&ctx, why, sizeof why);
  if (applies)
    result = step->apply (&ctx, &err) < 0 ? "failed" : "applied";

out:
  json_object_object_add (r, "step", json_object_new_string (name));
  json_object_object_add (r, "os", json_object_new_string (guest.os->name));
  json_object_object_add (r, "applies", json_object_new_boolean (applies));
  json_object_object_add (r, "why", json_object_new_string (why));
  json_object_object_add (r, "result", json_object_new_string (result));
  if (strcmp (result, "failed") == 0)
    json_object_object_add (r, "error", json_object_new_string (err.msg));
  json_object_object_add (r, "changes",
                          convert_internal_changelog_json (&log));
  {
    struct json_object *w = json_object_new_array ();
    for (size_t k = 0; k < log.nr_warnings; k++)
      json_object_array_add (w, json_object_new_string (log.warnings[k]));
    json_object_object_add (r, "warnings", w);
  }
  if (asprintf (&path, "%s/result.json", dir) < 0)
    die ("out of memory", NULL);
  if (json_object_to_file_ext (path, r, JSON_C_TO_STRING_PRETTY) < 0)
    die ("cannot write", path);
  tar_out (g, dir, "after");
  tar_out_esp (&guest, dir, "esp-after");
  printf ("%s: %s (%s)\n", name, result, why);
  json_object_put (r);
  convert_internal_changelog_free (&log);
  if (guestfs_umount_all (g) == -1)
    die ("umount", guestfs_last_error (g));
  convert_internal_guest_free (&guest);
  free (view);
}

int
main (int argc, char *argv[])
{
  const char *outdir;
  size_t n;
  char **images, **names;
  struct blockdev_options bopts = { 0 };
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  guestfs_h *g;

  if (argc < 3)
    die ("usage: convert-step-dump OUTDIR STEP=IMAGE...", NULL);
  outdir = argv[1];
  n = (size_t) argc - 2;
  images = calloc (n + 1, sizeof *images);
  names = calloc (n + 1, sizeof *names);
  if (images == NULL || names == NULL)
    die ("out of memory", NULL);
  for (size_t i = 0; i < n; i++) {
    char *eq = strchr (argv[i + 2], '=');
    if (eq == NULL)
      die ("not STEP=IMAGE", argv[i + 2]);
    *eq = '\0';
    names[i] = argv[i + 2];
    images[i] = eq + 1;
  }
  mkdirs (outdir);

  /* The host-side probe reads the raw images; the appliance gets one
   * overlay per step. */
  bopts.explicit_disks = images;
  if (blockdev_discover (&bopts, &list, &err) < 0 ||
      blockdev_probe (list, &err) < 0)
    die ("blockdev", err.msg);
  g = guestfs_create ();
  if (g == NULL)
    die ("guestfs_create failed", NULL);
  guestfs_set_error_handler (g, NULL, NULL);
  for (size_t i = 0; i < list->nr_disks; i++) {
    struct blockdev_disk *d = &list->disks[i];
    if (asprintf (&d->overlay, "%s/%s.qcow2", outdir, names[i]) < 0)
      die ("out of memory", NULL);
    unlink (d->overlay);
    if (guestfs_disk_create (g, d->overlay, "qcow2", -1,
                             GUESTFS_DISK_CREATE_BACKINGFILE, d->path,
                             GUESTFS_DISK_CREATE_BACKINGFORMAT, "raw",
                             -1) == -1 ||
        guestfs_add_drive_opts (g, d->overlay,
                                GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
                                GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe",
                                -1) == -1)
      die (d->overlay, guestfs_last_error (g));
  }
  if (guestfs_launch (g) == -1)
    die ("launch", guestfs_last_error (g));
  for (size_t i = 0; i < n; i++)
    run_step (g, list, i, names[i], outdir);
  guestfs_shutdown (g);
  guestfs_close (g);
  for (size_t i = 0; i < list->nr_disks; i++)
    unlink (list->disks[i].overlay);
  blockdev_list_free (list);
  free (images);
  free (names);
  return 0;
}

/* The virtio-win drivers: where they come from on the host, and the step
 * that copies them into %SystemRoot%\Drivers\VirtIO (and the boot
 * storage driver into system32\drivers).
 *
 * A virtio-win tree is found in either of the layouts virtio-win ships:
 *   DIR/drivers/by-os/ARCH/OS/   or DIR/by-os/ARCH/OS/   (the RPM's tree,
 *                                  ARCH amd64 or i386)
 *   DIR/DRIVER/OS/ARCH/           (the ISO's root, ARCH amd64 or x86)
 * with OS one of 2k25 2k22 2k19 2k16 2k12R2 2k12 2k8R2 2k8 2k3 w11 w10
 * w8.1 w8 w7 wlh xp, and qemu-ga in DIR/guest-agent/qemu-ga-ARCH.msi.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "windows.h"

static bool
is_dir (const char *p)
{
  struct stat st;

  return stat (p, &st) == 0 && S_ISDIR (st.st_mode);
}

static bool
is_file (const char *p)
{
  struct stat st;

  return stat (p, &st) == 0 && S_ISREG (st.st_mode);
}

/* Driver files only, with names that are safe in the guest and in the
 * first boot script's loop: no debug symbols or read-me files. */
static bool
wanted_file (const char *name)
{
  const char *dot = strrchr (name, '.');

  if (name[0] == '.' || dot == NULL || strlen (name) > 64)
    return false;
  for (const char *p = name; *p; p++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789._-", *p))
      return false;
  return strcasecmp (dot, ".pdb") != 0 && strcasecmp (dot, ".md") != 0 &&
    strcasecmp (dot, ".doc") != 0 && strcasecmp (dot, ".txt") != 0;
}

/* Add the wanted files of DIR to *FILES.  Sorted, so the copy order
 * (and the report) is stable. */
static int
add_dir_files (const char *dir, char ***files, size_t *n)
{
  struct dirent **ents = NULL;
  int nr = scandir (dir, &ents, NULL, alphasort);
  int r = 0;

  if (nr < 0)
    return -errno;
  for (int i = 0; i < nr; i++) {
    char path[4096];
    if (r == 0 && wanted_file (ents[i]->d_name)) {
      snprintf (path, sizeof path, "%s/%s", dir, ents[i]->d_name);
      if (is_file (path) && (r = strv_add (files, path)) == 0)
        (*n)++;
    }
    free (ents[i]);
  }
  free (ents);
  return r;
}

/* Collect the driver files for OSDIR from ROOT, in the first layout that
 * has them.  Returns the number of files (0 if none). */
static size_t
collect (const char *root, const char *osdir, const char *varch,
         char ***ret_files, char **ret_where)
{
  const char *rpm_arch = strcmp (varch, "amd64") == 0 ? "amd64" : "i386";
  static const char *const by_os[] = { "drivers/by-os", "by-os", NULL };
  char **files = NULL;
  size_t n = 0;
  char path[4096];

  for (size_t i = 0; by_os[i]; i++) {
    snprintf (path, sizeof path, "%s/%s/%s/%s", root, by_os[i], rpm_arch,
              osdir);
    if (is_dir (path) && add_dir_files (path, &files, &n) == 0 && n > 0) {
      *ret_files = files;
      *ret_where = strdup (path);
      return n;
    }
  }

  /* The ISO layout: every DRIVER/OS/ARCH directory. */
  struct dirent **ents = NULL;
  int nr = scandir (root, &ents, NULL, alphasort);
  for (int i = 0; i < nr; i++) {
    if (ents[i]->d_name[0] != '.') {
      snprintf (path, sizeof path, "%s/%s/%s/%s", root, ents[i]->d_name,
                osdir, varch);
      if (is_dir (path))
        add_dir_files (path, &files, &n);
    }
    free (ents[i]);
  }
  free (ents);
  if (n > 0) {
    snprintf (path, sizeof path, "%s/*/%s/%s", root, osdir, varch);
    *ret_where = strdup (path);
  }
  *ret_files = files;
  return n;
}

/* Newer releases of virtio-win drop old directories, and a new Windows
 * may come before its directory: the nearest one of the same family. */
static const char *
fallback_osdir (const char *osdir)
{
  static const char *const chain[][2] = {
    { "2k25", "2k22" }, { "2k22", "2k19" }, { "2k19", "2k16" },
    { "w11", "w10" }, { "w8.1", "w8" }, { "2k12R2", "2k12" },
  };

  for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++)
    if (strcmp (osdir, chain[i][0]) == 0)
      return chain[i][1];
  return NULL;
}

/* Remove an unpacked ISO tree (no symlinks are followed). */
static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st; (void) flag; (void) ftw;
  return remove (path);
}

void
convert_internal_windows_rm_unpacked (char *dir)
{
  if (dir) {
    nftw (dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
  }
}

/* Any regular file under DIR? */
static bool
has_files (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  bool found = false;

  if (d == NULL)
    return false;
  while (!found && (e = readdir (d)) != NULL) {
    char p[4096];
    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    snprintf (p, sizeof p, "%s/%s", dir, e->d_name);
    found = is_file (p) || (is_dir (p) && has_files (p));
  }
  closedir (d);
  return found;
}

/* Is PATH, an entry of the ISO, one of PATS (fnmatch, where "*" also
 * matches "/")?
 */
static bool
iso_wanted (const char *path, char pats[][32], size_t np)
{
  if (strncmp (path, "./", 2) == 0)
    path += 2;
  for (size_t i = 0; i < np; i++)
    if (fnmatch (pats[i], path, 0) == 0)
      return true;
  return false;
}

/* Copy ISO's entries that match PATS into DIR with libarchive: regular
 * files and directories only, never outside DIR, not owned as recorded.
 * Each entry's path is DIR/NAME, absolute (so not
 * ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS, which refuses every absolute
 * path); an absolute NAME only lands deeper in DIR, a ".." in it is
 * refused (SECURE_NODOTDOT), and no symlink is followed (SECURE_SYMLINKS).
 * Returns 0, or -1 with MSG set.
 */
static int
iso_extract (const char *iso, const char *dir, char pats[][32], size_t np,
             char *msg, size_t msglen)
{
  struct archive *in = archive_read_new (), *out = archive_write_disk_new ();
  struct archive_entry *e;
  int r = -1, ar;

  if (in == NULL || out == NULL) {
    snprintf (msg, msglen, "out of memory");
    goto done;
  }
  archive_read_support_format_iso9660 (in);
  archive_write_disk_set_options (out, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  if (archive_read_open_filename (in, iso, 65536) != ARCHIVE_OK) {
    snprintf (msg, msglen, "%s", archive_error_string (in));
    goto done;
  }
  while ((ar = archive_read_next_header (in, &e)) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname (e);
    mode_t type = archive_entry_filetype (e);
    char *dest = NULL;

    if (name == NULL || (type != AE_IFREG && type != AE_IFDIR) ||
        !iso_wanted (name, pats, np))
      continue;
    if (asprintf (&dest, "%s/%s", dir, name) < 0) {
      snprintf (msg, msglen, "out of memory");
      goto done;
    }
    /* NAME points into E: it is not used once E has its new path. */
    archive_entry_set_pathname (e, dest);
    if (archive_read_extract2 (in, e, out) != ARCHIVE_OK) {
      snprintf (msg, msglen, "%s: %s", dest + strlen (dir) + 1,
                archive_error_string (in));
      free (dest);
      goto done;
    }
    free (dest);
  }
  if (ar != ARCHIVE_EOF) {
    snprintf (msg, msglen, "%s", archive_error_string (in));
    goto done;
  }
  r = 0;
 done:
  if (out)
    archive_write_free (out);
  if (in)
    archive_read_free (in);
  return r;
}

/* A virtio-win ISO image: unpack only what this guest can use (its OS
 * directory and the fallbacks, in every layout, and guest-agent/) into
 * a private directory, removed with the guest model.  Most patterns
 * match nothing, so the test is whether anything came out.  Returns the
 * directory, or NULL with ERR set.
 */
static char *
unpack_iso (const char *iso, const char *osdir, const char *var,
            struct v2v_error *err)
{
  const char *tmp = getenv ("TMPDIR");
  char *dir = NULL, pats[8][32], msg[512] = "";
  size_t np = 0;

  if (asprintf (&dir, "%s/v2v-virtio-win-XXXXXX",
                tmp && *tmp ? tmp : "/var/tmp") < 0 || mkdtemp (dir) == NULL) {
    v2v_error_set (err, CONVERT_ERR_VIRTIO_WIN, "%s=%s: cannot make a "
                   "directory to unpack it in: %m", var, iso);
    free (dir);
    return NULL;
  }
  for (const char *d = osdir; d && np < 7; d = fallback_osdir (d))
    snprintf (pats[np++], sizeof pats[0], "*/%s/*", d);
  snprintf (pats[np++], sizeof pats[0], "guest-agent/*");

  if (iso_extract (iso, dir, pats, np, msg, sizeof msg) < 0) {
    v2v_error_set (err, CONVERT_ERR_VIRTIO_WIN, "%s=%s: cannot unpack it: "
                   "%s; is it a virtio-win ISO image? (or point %s at an "
                   "unpacked tree)", var, iso, msg, var);
    convert_internal_windows_rm_unpacked (dir);
    return NULL;
  }
  if (!has_files (dir)) {
    v2v_error_set (err, CONVERT_ERR_VIRTIO_WIN, "%s=%s: nothing for this "
                   "Windows could be unpacked from it; is it a virtio-win "
                   "ISO image? (or point %s at an unpacked tree)", var, iso,
                   var);
    convert_internal_windows_rm_unpacked (dir);
    return NULL;
  }
  return dir;
}

static const char *
basename_of (const char *p)
{
  const char *s = strrchr (p, '/');

  return s ? s + 1 : p;
}

enum convert_status
win_prepare (struct convert_ctx *ctx, struct v2v_error *err)
{
  struct guest *guest = ctx->guest;
  struct guest_windows *w = win_guest (guest);
  const struct convert_options *opts = ctx->opts;
  const char *var, *root;
  const char *osdir = w->osdir;
  CLEANUP_FREE char *where = NULL;
  char **files = NULL;
  size_t n = 0;

  for (size_t i = 0; w->warnings && w->warnings[i]; i++)
    convert_internal_warn (ctx, "%s", w->warnings[i]);
  for (size_t i = 0; w->kept_drivers && w->kept_drivers[i]; i++)
    convert_internal_warn (ctx, "AWS driver %s left installed (unused on "
                           "KubeVirt, harmless)", w->kept_drivers[i]);

  /* XP to Vista/2008, and 7/2008 R2 before SP1, cannot check the SHA-256
   * signatures of current virtio-win drivers (docs/windows.md). */
  bool old = w->major < 6 || (w->major == 6 && w->minor == 0) ||
    (w->major == 6 && w->minor == 1 && !w->service_pack);
  w->legacy = opts->legacy_drivers == CONVERT_LEGACY_YES ||
    (opts->legacy_drivers == CONVERT_LEGACY_AUTO && old);
  var = w->legacy ? "VIRTIO_WIN_LEGACY" : "VIRTIO_WIN";
  root = w->legacy ? opts->virtio_win_legacy : opts->virtio_win;
  if (root == NULL || *root == '\0') {
    v2v_error_set (err, CONVERT_ERR_VIRTIO_WIN,
                   "%s is a Windows guest (%s) and %s is not set: point %s "
                   "(or --virtio-win%s PATH) at a virtio-win directory (the "
                   "unpacked virtio-win ISO, or /usr/share/virtio-win)%s",
                   guest->root, guest->product ? guest->product : "?", var,
                   var, w->legacy ? "-legacy" : "",
                   w->legacy ? "; this Windows needs the legacy, SHA-1 "
                   "signed drivers (--legacy-drivers no to override)" : "");
    return CONVERT_ERR_VIRTIO_WIN;
  }
  if (is_file (root)) {
    convert_internal_windows_rm_unpacked (w->unpacked);
    if ((w->unpacked = unpack_iso (root, osdir, var, err)) == NULL)
      return CONVERT_ERR_VIRTIO_WIN;
    root = w->unpacked;
  }
  else if (!is_dir (root)) {
    v2v_error_set (err, CONVERT_ERR_VIRTIO_WIN,
                   "%s=%s is neither a directory nor an ISO image", var,
                   root);
    return CONVERT_ERR_VIRTIO_WIN;
  }
  for (const char *d = osdir; d && n == 0; d = fallback_osdir (d)) {
    free (where);
    where = NULL;
    strv_free (files);
    files = NULL;
    n = collect (root, d, w->varch, &files, &where);
  }
  w->block_driver = opts->block_driver == CONVERT_BLOCK_VIRTIO_SCSI
    ? "vioscsi" : "viostor";
  for (size_t i = 0; i < n; i++) {
    const char *b = basename_of (files[i]);
    size_t l = strlen (w->block_driver);
    if (strncasecmp (b, w->block_driver, l) == 0) {
      if (strcasecmp (b + l, ".sys") == 0 && w->block_sys == NULL)
        w->block_sys = strdup (files[i]);
      else if (strcasecmp (b + l, ".inf") == 0 && w->block_inf == NULL)
        w->block_inf = strdup (files[i]);
    }
  }
  if (w->block_sys == NULL || w->block_inf == NULL) {
    strv_free (files);
    v2v_error_set (err, CONVERT_ERR_VIRTIO_WIN,
                   "%s=%s has no %s driver (.sys and .inf) for %s %s "
                   "(virtio-win directory '%s')", var, root,
                   w->block_driver, guest->product ? guest->product : "?",
                   w->varch, osdir);
    return CONVERT_ERR_VIRTIO_WIN;
  }
  w->driver_files = files;
  w->driver_dir = TAKE_PTR (where);

  char msi[4096];
  snprintf (msi, sizeof msi, "%s/guest-agent/qemu-ga-%s.msi", root,
            strcmp (w->varch, "amd64") == 0 ? "x86_64" : "i386");
  if (is_file (msi))
    w->qemu_ga_msi = strdup (msi);
  else
    convert_internal_warn (ctx, "no qemu-ga MSI in %s (guest-agent/): the "
                           "guest agent will not be installed", root);
  return CONVERT_OK;
}

/* The step: copy the drivers. */

static bool
drivers_applies (struct convert_ctx *ctx, char *why, size_t len)
{
  const struct guest_windows *w = win_guest (ctx->guest);
  size_t n = 0;

  for (; w->driver_files && w->driver_files[n]; n++)
    ;
  snprintf (why, len, "%zu files from %s to %%SystemRoot%%\\Drivers\\VirtIO"
            "%s; %s.sys to system32\\drivers", n, w->driver_dir,
            w->qemu_ga_msi ? " with qemu-ga" : "", w->block_driver);
  return true;
}

static int
drivers_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  const struct guest_windows *w = win_guest (ctx->guest);
  CLEANUP_FREE char *vdir = NULL, *sysdrv = NULL, *sdp = NULL;
  char dst[4096];
  int r;

  if (asprintf (&sdp, "%s/system32/drivers", w->systemroot) < 0)
    return v2v_error_set (err, -ENOMEM, "drivers");
  sysdrv = guestfs_case_sensitive_path (g, sdp);
  vdir = guestfs_case_sensitive_path (g, w->systemroot);
  if (sysdrv == NULL || vdir == NULL)
    return convert_internal_gerror (g, err, "case_sensitive_path", sdp);

  for (size_t i = 0; w->driver_files[i]; i++) {
    snprintf (dst, sizeof dst, "%s/" WIN_VIRTIO_DIR "/%s", vdir,
              basename_of (w->driver_files[i]));
    r = convert_internal_upload (ctx, w->driver_files[i], dst,
                                 "virtio-win driver for first boot "
                                 "(pnputil)", err);
    if (r < 0)
      return r;
  }
  if (w->qemu_ga_msi) {
    snprintf (dst, sizeof dst, "%s/" WIN_VIRTIO_DIR "/%s", vdir,
              basename_of (w->qemu_ga_msi));
    r = convert_internal_upload (ctx, w->qemu_ga_msi, dst,
                                 "qemu guest agent, installed at first boot",
                                 err);
    if (r < 0)
      return r;
  }
  snprintf (dst, sizeof dst, "%s/%s.sys", sysdrv, w->block_driver);
  return convert_internal_upload (ctx, w->block_sys, dst,
                                  "boot storage driver, loaded at boot "
                                  "before Plug and Play", err);
}

const struct convert_step convert_step_win_drivers = {
  .name = "virtio-drivers",
  .applies = drivers_applies,
  .apply = drivers_apply,
};

/* Bootloader: the kernel command line must not name EC2 devices or the
 * Xen console, and a UEFI guest must boot without EC2's NVRAM entries.
 *
 * grub.cfg is edited in place rather than regenerated: it is the same
 * change grub-mkconfig would make, it keeps whatever the guest's own
 * config produced, and it saves a slow run under emulation.  The inputs
 * of grub-mkconfig (/etc/default/grub, grubenv, BLS entries) get the same
 * edits, so the next regeneration in the guest agrees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

/* The facts: which grub the guest boots with, and its files. */
struct boot_facts {
  bool grub2, bls, legacy;
  const char *cfg;              /* grub.cfg in the guest, or NULL */
  const char *mkconfig;         /* update-grub / grub2-mkconfig, or NULL */
  char *esp;                    /* where fstab mounts the ESP, or NULL */
};

static void *
boot_gather (struct convert_ctx *ctx)
{
  static const char *const cfgs[] = {
    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", NULL
  };
  static const char *const mkconfigs[] = {
    "/usr/sbin/update-grub", "/usr/sbin/grub2-mkconfig",
    "/usr/sbin/grub-mkconfig", NULL
  };
  struct boot_facts *f = calloc (1, sizeof *f);
  CLEANUP_STRV char **entries = NULL;

  if (f == NULL)
    return NULL;
  for (size_t i = 0; cfgs[i] && !f->cfg; i++)
    if (convert_internal_is_regular (ctx, cfgs[i])) {
      f->cfg = cfgs[i];
      f->grub2 = true;
    }
  for (size_t i = 0; mkconfigs[i] && !f->mkconfig; i++)
    if (convert_internal_exists (ctx, mkconfigs[i]))
      f->mkconfig = mkconfigs[i];
  entries = convert_internal_list_dir (ctx, "/boot/loader/entries", "*");
  f->bls = entries != NULL;
  f->legacy = !f->grub2 &&
    (convert_internal_is_regular (ctx, "/boot/grub/menu.lst") ||
     convert_internal_is_regular (ctx, "/boot/grub/grub.conf"));
  for (size_t i = 0; ctx->guest->esp && i < ctx->guest->nr_fstab; i++)
    if (ctx->guest->fstab[i].fs == ctx->guest->esp && f->esp == NULL)
      f->esp = strdup (ctx->guest->fstab[i].file);
  return f;
}

static void
boot_free (void *facts)
{
  struct boot_facts *f = facts;

  if (f)
    free (f->esp);
  free (f);
}

static void
boot_json (const void *facts, struct json_object *o)
{
  const struct boot_facts *f = facts;

  json_object_object_add (o, "bootloader", json_object_new_string
                          (f && f->grub2 ? (f->bls ? "grub2-bls" : "grub2")
                           : f && f->legacy ? "grub-legacy" : "unknown"));
}

const struct convert_facts linux_boot_facts = {
  .gather = boot_gather,
  .json = boot_json,
  .free = boot_free,
};

/* This guest's boot facts; a guest without any has no grub at all. */
static const struct boot_facts *
grub (const struct convert_ctx *ctx)
{
  static const struct boot_facts none;
  const struct boot_facts *f = convert_internal_facts (ctx->guest,
                                                       &linux_boot_facts);

  return f ? f : &none;
}

static bool
is_sep (char c)
{
  return c == '\0' || c == ' ' || c == '\t' || c == '"' || c == '\'';
}

static bool
token_at (const char *line, const char *p, const char *prefix)
{
  return (p == line || is_sep (p[-1])) && strncmp (p, prefix, strlen (prefix)) == 0;
}

/* Make room in *OUT (*CAP bytes, N used) for LEN more and the NUL.  The
 * output can be several times longer than the line: each root=/dev/xvdb
 * (14 bytes) becomes root=UUID=<36>, and a guest's grub.cfg line may hold
 * any number of them.
 */
static bool
out_reserve (char **out, size_t *cap, size_t n, size_t len)
{
  size_t ncap;
  char *nout;

  if (n + len < *cap)
    return true;
  ncap = (n + len + 1) * 2;
  nout = realloc (*out, ncap);
  if (nout == NULL)
    return false;
  *out = nout;
  *cap = ncap;
  return true;
}

/* Rewrite one command line (or a line holding one): root= and resume=
 * device paths become stable specs, console=hvc0/xvc0 becomes ttyS0.
 * Returns a new string, or NULL if nothing changed (or memory ran out).
 */
char *
convert_internal_fix_cmdline (struct convert_ctx *ctx, const char *line)
{
  bool has_ttys0 = strstr (line, "console=ttyS0") != NULL;
  size_t cap = strlen (line) * 2 + 256, n = 0;
  CLEANUP_FREE char *out = malloc (cap);
  bool changed = false;

  if (out == NULL)
    return NULL;
  for (const char *p = line; *p;) {
    const char *val = NULL;
    size_t keylen = 0;

    if (token_at (line, p, "root=/dev/"))
      keylen = 5;
    else if (token_at (line, p, "resume=/dev/"))
      keylen = 7;
    if (keylen) {
      size_t tlen = 0;
      char dev[256];
      val = p + keylen;
      while (!is_sep (val[tlen]))
        tlen++;
      if (tlen < sizeof dev) {
        memcpy (dev, val, tlen);
        dev[tlen] = '\0';
        const struct guest_fs *fs = convert_internal_is_device_path (dev)
          ? convert_internal_resolve_spec (ctx->guest, dev) : NULL;
        CLEANUP_FREE char *stable = fs ? convert_internal_stable_spec (fs)
                                       : NULL;
        if (stable &&
            out_reserve (&out, &cap, n, keylen + strlen (stable))) {
          memcpy (out + n, p, keylen);
          n += keylen;
          memcpy (out + n, stable, strlen (stable));
          n += strlen (stable);
          p = val + tlen;
          changed = true;
          continue;
        }
      }
    }
    if (token_at (line, p, "console=hvc") || token_at (line, p, "console=xvc")) {
      size_t tlen = 0;
      while (!is_sep (p[tlen]))
        tlen++;
      changed = true;
      if (has_ttys0) {
        /* Drop it, and one blank next to it. */
        p += tlen;
        if (*p == ' ')
          p++;
        else if (n > 0 && out[n - 1] == ' ')
          n--;
      }
      else {
        static const char ttys0[] = "console=ttyS0,115200";
        if (!out_reserve (&out, &cap, n, sizeof ttys0 - 1))
          return NULL;
        memcpy (out + n, ttys0, sizeof ttys0 - 1);
        n += sizeof ttys0 - 1;
        p += tlen;
        has_ttys0 = true;
      }
      continue;
    }
    if (!out_reserve (&out, &cap, n, 1))
      return NULL;
    out[n++] = *p++;
  }
  out[n] = '\0';
  return changed ? TAKE_PTR (out) : NULL;
}

static char *
cmdline_line (const char *line, void *opaque)
{
  return convert_internal_fix_cmdline (opaque, line);
}

static char *
default_grub_line (const char *line, void *opaque)
{
  char *out = NULL;

  /* Let the guest's next grub-mkconfig write root=UUID= again. */
  if (strncmp (line, "GRUB_DISABLE_LINUX_UUID=true", 28) == 0)
    return asprintf (&out, "#%s  # v2v-kubevirt: device names differ on "
                     "KubeVirt", line) < 0 ? NULL : out;
  if (strncmp (line, "GRUB_CMDLINE_LINUX", 18) == 0)
    return convert_internal_fix_cmdline (opaque, line);
  /* SUSE's perl-Bootloader writes grub's defaults from these on every
   * kernel update. */
  if (strncmp (line, "DEFAULT_APPEND=", 15) == 0 ||
      strncmp (line, "FAILSAFE_APPEND=", 16) == 0)
    return convert_internal_fix_cmdline (opaque, line);
  return NULL;
}

/* The files grub's defaults come from: /etc/default/grub, its grub.d
 * drop-ins (Ubuntu and Debian cloud images put the console there), and
 * SUSE's /etc/sysconfig/bootloader.  Those that exist; caller frees.
 */
static char **
defaults_files (struct convert_ctx *ctx)
{
  static const char *const fixed[] = { "/etc/default/grub",
                                       "/etc/sysconfig/bootloader", NULL };
  CLEANUP_STRV char **dropins = NULL;
  char **v = NULL;

  for (size_t i = 0; fixed[i]; i++)
    if (convert_internal_is_regular (ctx, fixed[i]))
      (void) strv_add (&v, fixed[i]);
  dropins = convert_internal_list_dir (ctx, "/etc/default/grub.d", "*.cfg");
  for (size_t i = 0; dropins && dropins[i]; i++)
    if (convert_internal_is_regular (ctx, dropins[i]))
      (void) strv_add (&v, dropins[i]);
  return v;
}

static bool needs_fix (struct convert_ctx *ctx, const char *path);

static bool
defaults_need_fix (struct convert_ctx *ctx)
{
  CLEANUP_STRV char **files = defaults_files (ctx);

  for (size_t i = 0; files && files[i]; i++)
    if (needs_fix (ctx, files[i]))
      return true;
  return false;
}

static bool
needs_fix (struct convert_ctx *ctx, const char *path)
{
  CLEANUP_FREE char *data = NULL;
  struct v2v_error ignored;

  if (!convert_internal_is_regular (ctx, path) ||
      convert_internal_read (ctx, path, &data, NULL, &ignored) < 0)
    return false;
  CLEANUP_STRV char **lines = convert_internal_split_lines (data,
                                                           strlen (data));
  for (size_t i = 0; lines && lines[i]; i++) {
    const char *l = lines[i];
    /* grubenv: the command line is the value; "kernelopts=root=..." has
     * no blank before root= for the rewriter to see a word start. */
    if (strncmp (l, "kernelopts=", 11) == 0)
      l += 11;
    CLEANUP_FREE char *f = convert_internal_fix_cmdline (ctx, l);
    if (f)
      return true;
    if (strncmp (lines[i], "GRUB_DISABLE_LINUX_UUID=true", 28) == 0)
      return true;
  }
  return false;
}

static bool
uefi_fallback_missing (struct convert_ctx *ctx, char *path, size_t len)
{
  const char *esp = grub (ctx)->esp;

  if (ctx->guest->firmware != FIRMWARE_UEFI || esp == NULL)
    return false;
  snprintf (path, len, "%s/EFI/BOOT/BOOTX64.EFI", esp);
  if (convert_internal_exists (ctx, path))
    return false;
  /* FAT is case-insensitive but libguestfs paths are not: look both ways. */
  snprintf (path, len, "%s/EFI/BOOT/bootx64.efi", esp);
  if (convert_internal_exists (ctx, path))
    return false;
  return true;
}

/* Ubuntu cloud images set GRUB_FORCE_PARTUUID (in /etc/default/grub.d/
 * 40-force-partuuid.cfg): grub.cfg then boots the kernel without its
 * initramfs, root=PARTUUID=, and loads the initramfs only after such a
 * boot has failed (grub's "initrdfail": a panic and a reboot first).
 * On KubeVirt that first boot works only if virtio_blk and virtio_pci are
 * built into the default kernel.  When they are modules, turn the option
 * off and let the guest's own grub-mkconfig write a grub.cfg that always
 * loads the initramfs, which the initramfs step gives virtio drivers.
 */
static bool
sets_force_partuuid (struct convert_ctx *ctx, const char *path)
{
  CLEANUP_FREE char *data = NULL;
  struct v2v_error ignored;

  if (!convert_internal_is_regular (ctx, path) ||
      convert_internal_read (ctx, path, &data, NULL, &ignored) < 0)
    return false;
  return strncmp (data, "GRUB_FORCE_PARTUUID=", 20) == 0 ||
    strstr (data, "\nGRUB_FORCE_PARTUUID=") != NULL;
}

/* The grub defaults files that set GRUB_FORCE_PARTUUID, if the default
 * kernel cannot boot on virtio without its initramfs; else NULL.
 * Caller frees (strv).
 */
static char **
force_partuuid_files (struct convert_ctx *ctx)
{
  const struct guest_kernel *k = linux_default_kernel (ctx->guest);
  CLEANUP_STRV char **files = NULL;
  char **v = NULL;

  if (k == NULL)
    return NULL;
  if (linux_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_BLK",
                            "virtio_blk") &&
      linux_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_PCI",
                            "virtio_pci"))
    return NULL;
  files = defaults_files (ctx);
  for (size_t i = 0; files && files[i]; i++)
    if (sets_force_partuuid (ctx, files[i]))
      (void) strv_add (&v, files[i]);
  return v;
}

static char *
force_partuuid_line (const char *line, void *opaque)
{
  char *out = NULL;

  (void) opaque;
  if (strncmp (line, "GRUB_FORCE_PARTUUID=", 20) != 0)
    return NULL;
  return asprintf (&out, "#%s  # v2v-kubevirt: virtio drivers are in the "
                   "initramfs", line) < 0 ? NULL : out;
}

static int
drop_force_partuuid (struct convert_ctx *ctx, struct v2v_error *err)
{
  static const char reason[] = "GRUB_FORCE_PARTUUID boots without the "
    "initramfs, and this kernel has virtio_blk/virtio_pci only as modules";
  const struct boot_facts *f = grub (ctx);
  CLEANUP_STRV char **files = force_partuuid_files (ctx);
  int r;

  if (files == NULL)
    return 0;
  for (size_t i = 0; files[i]; i++)
    if ((r = convert_internal_edit_lines (ctx, files[i], force_partuuid_line,
                                          NULL, reason, NULL, err)) < 0)
      return r;
  if (f->cfg == NULL || f->mkconfig == NULL)
    return v2v_error_set (err, -ENOENT, "GRUB_FORCE_PARTUUID is set, and "
                          "there is no grub.cfg or grub-mkconfig to write "
                          "one without it");
  /* update-grub takes no arguments; grub(2)-mkconfig needs -o. */
  const char *tool = strrchr (f->mkconfig, '/') + 1;
  const char *update_grub[] = { tool, NULL };
  const char *mkconfig[] = { tool, "-o", f->cfg, NULL };
  return convert_internal_run_rewrite (ctx, strcmp (tool, "update-grub") == 0
                                       ? update_grub : mkconfig,
                                       f->cfg, reason, err);
}

/* Does any BLS entry name an EC2 device or the Xen console? */
static bool
bls_needs_fix (struct convert_ctx *ctx)
{
  CLEANUP_STRV char **entries = NULL;

  if (!grub (ctx)->bls)
    return false;
  entries = convert_internal_list_dir (ctx, "/boot/loader/entries", "*.conf");
  for (size_t i = 0; entries && entries[i]; i++)
    if (needs_fix (ctx, entries[i]))
      return true;
  return false;
}

static bool
bootloader_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const struct boot_facts *f = grub (ctx);
  char fallback[512];
  bool cfg = f->cfg && needs_fix (ctx, f->cfg);
  bool def = defaults_need_fix (ctx);
  bool env = needs_fix (ctx, "/boot/grub2/grubenv");
  bool bls = bls_needs_fix (ctx);
  bool uefi = uefi_fallback_missing (ctx, fallback, sizeof fallback);
  CLEANUP_STRV char **partuuid = force_partuuid_files (ctx);

  if (!f->grub2) {
    snprintf (why, whylen, "no grub2 configuration found");
    return false;
  }
  if (!cfg && !def && !env && !uefi && !partuuid && !bls) {
    snprintf (why, whylen, "kernel command line already free of EC2 "
              "device and console names");
    return false;
  }
  snprintf (why, whylen, "%s%s%s%s%s%s", cfg ? "grub.cfg names EC2 devices "
            "or the Xen console; " : "", def ? "grub's defaults too; " : "",
            env ? "grubenv kernelopts too; " : "",
            bls ? "BLS entries too; " : "",
            partuuid ? "GRUB_FORCE_PARTUUID skips the initramfs, which "
            "virtio needs; " : "",
            uefi ? "no removable-media UEFI loader (EFI/BOOT/BOOTX64.EFI)"
            : "");
  /* No dangling separator after the last reason. */
  size_t n = strlen (why);
  while (n > 0 && (why[n - 1] == ' ' || why[n - 1] == ';'))
    why[--n] = '\0';
  return true;
}

/* grubenv is a fixed 1024-byte block padded with '#'. */
static int
fix_grubenv (struct convert_ctx *ctx, struct v2v_error *err)
{
  static const char path[] = "/boot/grub2/grubenv";
  CLEANUP_FREE char *data = NULL;
  CLEANUP_STRV char **lines = NULL;
  size_t len;
  char out[1024];
  size_t n = 0;
  bool changed = false;

  if (!convert_internal_is_regular (ctx, path) ||
      convert_internal_read (ctx, path, &data, &len, err) < 0 || len != 1024)
    return 0;
  lines = convert_internal_split_lines (data, len);
  for (size_t i = 0; lines && lines[i]; i++) {
    CLEANUP_FREE char *f = NULL, *kl = NULL;
    const char *l = lines[i];
    /* Drop the '#' padding, but keep the first line: it is the
     * signature "# GRUB Environment Block", without which grub's
     * load_env rejects the whole block (and kernelopts with it). */
    if (l[0] == '#' && i > 0)
      continue;
    /* Rewrite the value: in "kernelopts=root=/dev/xvda1" root= does not
     * start a word, so the line as a whole would keep its device path. */
    if (strncmp (l, "kernelopts=", 11) == 0 &&
        (f = convert_internal_fix_cmdline (ctx, l + 11)) != NULL) {
      if (asprintf (&kl, "kernelopts=%s", f) < 0)
        return v2v_error_set (err, -ENOMEM, "%s", path);
      l = kl;
      changed = true;
    }
    size_t ll = strlen (l);
    if (n + ll + 1 > sizeof out)
      return v2v_error_set (err, -E2BIG, "%s: too long after edit", path);
    /* OUT is a block of bytes, not a string: no NUL goes in. */
    memcpy (out + n, l, ll); /* NOLINT(bugprone-not-null-terminated-result) */
    n += ll;
    out[n++] = '\n';
  }
  if (!changed)
    return 0;
  memset (out + n, '#', sizeof out - n);
  return convert_internal_write (ctx, path, out, sizeof out,
                                 "kernelopts named EC2 devices or the Xen "
                                 "console", err);
}

static int
fix_bls (struct convert_ctx *ctx, struct v2v_error *err)
{
  CLEANUP_STRV char **entries = NULL;

  if (!grub (ctx)->bls)
    return 0;
  entries = convert_internal_list_dir (ctx, "/boot/loader/entries", "*.conf");
  for (size_t i = 0; entries && entries[i]; i++) {
    if (!convert_internal_is_regular (ctx, entries[i]))
      continue;
    int r = convert_internal_edit_lines (ctx, entries[i], cmdline_line, ctx,
                                         "BLS options named EC2 devices or "
                                         "the Xen console", NULL, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* Every root=UUID= left in grub.cfg must name a filesystem we can see,
 * and every kernel it boots must exist: otherwise we would ship a guest
 * that cannot boot.
 */
static int
verify_grub_cfg (struct convert_ctx *ctx, struct v2v_error *err)
{
  const char *cfg = grub (ctx)->cfg;
  CLEANUP_FREE char *data = NULL;
  int r;

  if (cfg == NULL)
    return 0;
  r = convert_internal_read (ctx, cfg, &data, NULL, err);
  if (r < 0)
    return r;
  for (const char *p = strstr (data, "root=UUID="); p;
       p = strstr (p + 1, "root=UUID=")) {
    char uuid[64], spec[80];
    if (sscanf (p + 10, "%63[0-9A-Fa-f-]", uuid) != 1)
      continue;
    snprintf (spec, sizeof spec, "UUID=%s", uuid);
    if (convert_internal_resolve_spec (ctx->guest, spec) == NULL)
      return v2v_error_set (err, -ENOENT, "%s: root=UUID=%s matches no "
                            "filesystem on the migrated disks", cfg, uuid);
  }
  if (strstr (data, "root=/dev/nvme") || strstr (data, "root=/dev/xvd"))
    return v2v_error_set (err, -EINVAL, "%s still names an EC2 root device "
                          "after the edit", cfg);
  return 0;
}

/* KubeVirt's firmware has none of EC2's NVRAM boot entries; UEFI then
 * boots the removable-media path.  Put the guest's own loader there:
 * shim (with grub beside it, where shim looks) or grub alone.
 */
static int
ensure_uefi_fallback (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  const char *esp = grub (ctx)->esp;
  char fallback[512], dir[512], src[1024], dst[1024];
  CLEANUP_STRV char **vendors = NULL;
  const char *shim = NULL, *grub = NULL;
  static char vendor[256];

  if (!uefi_fallback_missing (ctx, fallback, sizeof fallback))
    return 0;
  snprintf (dir, sizeof dir, "%s/EFI", esp);
  vendors = guestfs_ls (g, dir);
  for (size_t i = 0; vendors && vendors[i] && !grub; i++) {
    if (strcasecmp (vendors[i], "BOOT") == 0)
      continue;
    snprintf (src, sizeof src, "%s/%s/grubx64.efi", dir, vendors[i]);
    if (guestfs_is_file (g, src) > 0) {
      snprintf (vendor, sizeof vendor, "%s", vendors[i]);
      grub = "grubx64.efi";
      snprintf (src, sizeof src, "%s/%s/shimx64.efi", dir, vendors[i]);
      if (guestfs_is_file (g, src) > 0)
        shim = "shimx64.efi";
    }
  }
  if (grub == NULL)
    return v2v_error_set (err, -ENOENT, "%s: no grubx64.efi under any "
                          "EFI/<vendor>/ directory to use as the UEFI "
                          "fallback loader", dir);

  snprintf (src, sizeof src, "%s/%s/%s", dir, vendor, shim ? shim : grub);
  snprintf (dst, sizeof dst, "%s/BOOT/BOOTX64.EFI", dir);
  int r = convert_internal_copy (ctx, src, dst,
                                 "KubeVirt firmware has no EC2 NVRAM boot "
                                 "entry; UEFI boots EFI/BOOT/BOOTX64.EFI",
                                 err);
  if (r < 0 || shim == NULL)
    return r;
  snprintf (src, sizeof src, "%s/%s/%s", dir, vendor, grub);
  snprintf (dst, sizeof dst, "%s/BOOT/%s", dir, grub);
  return convert_internal_copy (ctx, src, dst,
                                "shim loads grub from its own directory",
                                err);
}

static int
bootloader_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  const struct boot_facts *f = grub (ctx);
  int r;

  {
    CLEANUP_STRV char **files = defaults_files (ctx);
    for (size_t i = 0; files && files[i]; i++) {
      r = convert_internal_edit_lines (ctx, files[i], default_grub_line, ctx,
                                       "the kernel command line named EC2 "
                                       "devices or the Xen console", NULL,
                                       err);
      if (r < 0)
        return r;
    }
  }
  /* Before the grub.cfg edit: it may write a new grub.cfg. */
  if ((r = drop_force_partuuid (ctx, err)) < 0)
    return r;
  if (f->cfg) {
    r = convert_internal_edit_lines (ctx, f->cfg, cmdline_line, ctx,
                                     "root= named an EC2 device or the "
                                     "console was Xen's hvc0", NULL, err);
    if (r < 0)
      return r;
  }
  if ((r = fix_grubenv (ctx, err)) < 0 || (r = fix_bls (ctx, err)) < 0 ||
      (r = verify_grub_cfg (ctx, err)) < 0)
    return r;
  return ensure_uefi_fallback (ctx, err);
}

const struct convert_step convert_step_bootloader = {
  .name = "bootloader",
  .compat_fix = true,
  .applies = bootloader_applies,
  .apply = bootloader_apply,
};

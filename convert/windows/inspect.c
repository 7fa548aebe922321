/* The Windows guest model.  Unlike the Linux side, this uses libguestfs's
 * inspect_os: it reads the hives for the version, product variant and
 * %SystemRoot%, and doing that again would be reimplementing it.  The
 * rest is read from the hives with the hivex calls, read-only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "report.h"
#include "windows.h"

/* AWS PV storage, network and bus drivers (Citrix-derived): disabled. */
static const char *const pv_drivers[] = {
  "xenvbd", "xenfilt", "xenbus", "xeniface", "xennet", "xenvif",
  "xenbusmonitor", "xendisk", "xenstor", "xenpci", "xenhide", NULL
};
/* EC2 agents: disabled (they would look for the metadata service). */
static const char *const agents[] = {
  "EC2Launch", "Amazon EC2Launch", "Ec2Config", "AmazonSSMAgent",
  "AmazonCloudWatchAgent", NULL
};
/* Native AWS drivers that do no harm on KubeVirt: kept and reported. */
static const char *const kept[] = { "ena", "AWSNVMe", NULL };

/* Third-party antivirus that can block unsigned-looking driver
 * installation at first boot (matched in Uninstall DisplayName). */
static const char *const antivirus[] = {
  "Symantec", "McAfee", "Trend Micro", "Sophos", "CrowdStrike", "ESET",
  "Kaspersky", "Bitdefender", "Carbon Black", "SentinelOne", "Trellix",
  "Cylance", "Webroot", "Malwarebytes", NULL
};

static bool
in_list (const char *name, const char *const *list)
{
  for (size_t i = 0; list[i]; i++)
    if (win_name_eq (name, list[i]))
      return true;
  return false;
}

/* "{8A3E5E6B-1E47-4DA2-9C0B-5C1B3E0F2A11}" and nothing else: this goes
 * into the first boot script, so it is checked character by character. */
static bool
valid_guid (const char *s)
{
  static const char shape[] = "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}";

  if (strlen (s) != sizeof shape - 1)
    return false;
  for (size_t i = 0; shape[i]; i++)
    if (shape[i] == 'X' ? !isxdigit ((unsigned char) s[i]) : s[i] != shape[i])
      return false;
  return true;
}

static bool
contains_ci (const char *hay, const char *needle)
{
  size_t n = strlen (needle);

  for (; *hay; hay++)
    if (strncasecmp (hay, needle, n) == 0)
      return true;
  return false;
}

/* The virtio-win directory name for this Windows (see docs/windows.md). */
static const char *
virtio_osdir (const struct guest_windows *w)
{
  bool client = w->variant == NULL || strcasecmp (w->variant, "Client") == 0;
  int v = w->major * 10 + w->minor;

  switch (v) {
  case 51: return "xp";
  case 52: return client ? "xp" : "2k3";
  case 60: return client ? "wlh" : "2k8";
  case 61: return client ? "w7" : "2k8R2";
  case 62: return client ? "w8" : "2k12";
  case 63: return client ? "w8.1" : "2k12R2";
  case 100:
    if (client)
      return w->build >= 22000 ? "w11" : "w10";
    return w->build >= 26100 ? "2k25" : w->build >= 20348 ? "2k22"
      : w->build >= 17763 ? "2k19" : "2k16";
  default:
    return NULL;
  }
}

static void
read_software (struct guest *guest)
{
  guestfs_h *g = guest->g;
  struct guest_windows *w = win_guest (guest);
  struct v2v_error ignored;
  int64_t n;

  if (win_reg_open_ro (g, w->software_hive, &ignored) < 0)
    return;
  n = win_reg_lookup (g, "Microsoft\\Windows NT\\CurrentVersion");
  if (n > 0) {
    CLEANUP_FREE char *build = win_reg_get_string (g, n, "CurrentBuildNumber");
    CLEANUP_FREE char *csd = win_reg_get_string (g, n, "CSDVersion");
    w->build = build ? atoi (build) : 0;
    w->service_pack = csd && *csd;
  }

  /* The PV drivers' uninstaller, and antivirus products. */
  n = win_reg_lookup (g, "Microsoft\\Windows\\CurrentVersion\\Uninstall");
  guestfs_push_error_handler (g, NULL, NULL);
  struct guestfs_hivex_node_list *kids = n > 0
    ? guestfs_hivex_node_children (g, n) : NULL;
  for (size_t i = 0; kids && i < kids->len && i < 4096; i++) {
    int64_t k = kids->val[i].hivex_node_h;
    CLEANUP_FREE char *key = guestfs_hivex_node_name (g, k);
    CLEANUP_FREE char *dn = win_reg_get_string (g, k, "DisplayName");
    if (key == NULL || dn == NULL)
      continue;
    if ((contains_ci (dn, "AWS PV") || contains_ci (dn, "Citrix PV") ||
         contains_ci (dn, "Citrix Xen") || contains_ci (dn, "XenServer PV")) &&
        valid_guid (key) && w->pv_uninstall_guid == NULL) {
      w->pv_uninstall_guid = strdup (key);
      w->pv_uninstall_name = strdup (dn);
    }
    for (size_t a = 0; antivirus[a]; a++)
      if (contains_ci (dn, antivirus[a])) {
        char msg[512];
        snprintf (msg, sizeof msg, "antivirus installed (%.200s): it may "
                  "block or quarantine the VirtIO drivers at first boot; "
                  "check it after the first boot on KubeVirt", dn);
        (void) strv_add (&w->warnings, msg);
        break;
      }
  }
  if (kids)
    guestfs_free_hivex_node_list (kids);
  guestfs_pop_error_handler (g);

  /* Group policy that restricts device installation. */
  n = win_reg_lookup (g, "Policies\\Microsoft\\Windows\\DeviceInstall\\"
                      "Restrictions");
  if (n > 0) {
    uint32_t v = 0;
    static const char *const deny[] = {
      "DenyUnspecified", "DenyDeviceIDs", "DenyDeviceClasses",
      "DenyRemovableDevices", NULL
    };
    for (size_t i = 0; deny[i]; i++)
      if (win_reg_get_dword (g, n, deny[i], &v) == 0 && v != 0) {
        char msg[256];
        snprintf (msg, sizeof msg, "group policy restricts device "
                  "installation (SOFTWARE\\Policies\\Microsoft\\Windows\\"
                  "DeviceInstall\\Restrictions %s=%u): the VirtIO devices "
                  "may stay without drivers", deny[i], v);
        (void) strv_add (&w->warnings, msg);
      }
  }
  guestfs_hivex_close (g);
}

static void
read_system (struct guest *guest)
{
  guestfs_h *g = guest->g;
  struct guest_windows *w = win_guest (guest);
  struct v2v_error ignored;
  char cs[32], path[128];
  uint32_t v;
  int64_t n;

  w->control_set = 1;
  if (win_reg_open_ro (g, w->system_hive, &ignored) < 0)
    return;
  n = win_reg_lookup (g, "Select");
  if (n > 0 && win_reg_get_dword (g, n, "Current", &v) == 0 && v >= 1 &&
      v <= 999)
    w->control_set = v;
  win_control_set (w, cs, sizeof cs);

  snprintf (path, sizeof path, "%s\\Control\\TimeZoneInformation", cs);
  n = win_reg_lookup (g, path);
  w->rtc_utc = n > 0 && win_reg_get_dword (g, n, "RealTimeIsUniversal",
                                           &v) == 0 && v == 1;

  snprintf (path, sizeof path, "%s\\Services", cs);
  n = win_reg_lookup (g, path);
  guestfs_push_error_handler (g, NULL, NULL);
  struct guestfs_hivex_node_list *kids = n > 0
    ? guestfs_hivex_node_children (g, n) : NULL;
  for (size_t i = 0; kids && i < kids->len && i < 65536; i++) {
    CLEANUP_FREE char *name = guestfs_hivex_node_name (g, kids->val[i].hivex_node_h);
    if (name == NULL || strlen (name) > 200)
      continue;
    if (in_list (name, pv_drivers) || strncasecmp (name, "AWSPV", 5) == 0)
      (void) strv_add (&w->pv_services, name);
    else if (in_list (name, agents))
      (void) strv_add (&w->agent_services, name);
    else if (in_list (name, kept))
      (void) strv_add (&w->kept_drivers, name);
  }
  if (kids)
    guestfs_free_hivex_node_list (kids);
  guestfs_pop_error_handler (g);
  guestfs_hivex_close (g);
}

/* ntfs-3g will not mount a hibernated volume, or one that Fast Startup
 * left with metadata in Windows's cache, read-write: it refuses, or
 * falls back to read-only.  Either way we refuse, with one message. */
static enum convert_status
refuse_hibernated (struct guest *guest, const char *why,
                   struct v2v_error *err)
{
  v2v_error_set (err, CONVERT_ERR_FS_STATE,
                 "%s: Windows is hibernated or was shut down with Fast "
                 "Startup (%s): boot it on EC2, turn Fast Startup off "
                 "(powercfg /h off), shut it down fully, and migrate again",
                 guest->root, why);
  return CONVERT_ERR_FS_STATE;
}

static enum convert_status
mount_root (struct guest *guest, struct v2v_error *err)
{
  guestfs_h *g = guest->g;

  if (guestfs_mount_options (g, guest->readonly ? "ro" : "", guest->root,
                             "/") == -1) {
    const char *msg = guestfs_last_error (g);
    if (msg && (contains_ci (msg, "hibernat") ||
                contains_ci (msg, "unsafe state") ||
                contains_ci (msg, "Windows cache")))
      return refuse_hibernated (guest, "NTFS refuses a read-write mount",
                                err);
    convert_internal_gerror (g, err, "mount", guest->root);
    return CONVERT_ERR_FS_STATE;
  }

  /* A hiberfil.sys that starts with "hibr" or "wake" holds a resume
   * image (Windows zeroes the header after resuming). */
  CLEANUP_FREE char *hib = guestfs_case_sensitive_path (g, "/hiberfil.sys");
  if (hib && guestfs_is_file (g, hib) > 0) {
    size_t len = 0;
    CLEANUP_FREE char *hdr = guestfs_pread (g, hib, 4, 0, &len);
    if (hdr && len == 4 &&
        (strncasecmp (hdr, "hibr", 4) == 0 || strncasecmp (hdr, "wake", 4) == 0))
      return refuse_hibernated (guest, "hiberfil.sys holds a resume image",
                                err);
  }
  if (!guest->readonly) {
    struct guestfs_statvfs *st = guestfs_statvfs (g, "/");
    if (st) {
      bool ro = (st->flag & ST_RDONLY) != 0;
      int64_t avail = st->bavail * st->bsize;
      guestfs_free_statvfs (st);
      if (ro)
        return refuse_hibernated (guest, "NTFS fell back to a read-only "
                                  "mount", err);
      if (avail < 50 * 1024 * 1024) {
        v2v_error_set (err, CONVERT_ERR_NO_SPACE,
                       "%s (C:) has %lld MB free; conversion needs 50 MB: "
                       "free some space and migrate again", guest->root,
                       (long long) (avail / (1024 * 1024)));
        return CONVERT_ERR_NO_SPACE;
      }
    }
  }
  return CONVERT_OK;
}

enum convert_status
win_inspect (struct guest *guest, const char *os_release,
             struct v2v_error *err)
{
  guestfs_h *g = guest->g;
  struct guest_windows *w;
  CLEANUP_STRV char **roots = NULL;
  bool found = false;
  enum convert_status st;

  (void) os_release;
  guest->type = strdup ("windows");
  w = guest->os_data = calloc (1, sizeof *w);
  if (w == NULL || guest->type == NULL) {
    v2v_error_set (err, -ENOMEM, "windows");
    return CONVERT_ERR_INTERNAL;
  }
  guestfs_umount_all (g);
  /* inspect_os reads every filesystem and every root's hives: about 10 s
   * a disk under TCG.  Its results stay in the handle, so a handle that
   * was inspected already (a second guest model on the same disks, as
   * tests/tools/convert-step-dump.c builds one a step) reuses them. */
  roots = guestfs_inspect_get_roots (g);
  if (roots == NULL || roots[0] == NULL) {
    strv_free (roots);
    roots = guestfs_inspect_os (g);
  }
  if (roots == NULL) {
    convert_internal_gerror (g, err, "inspect_os", guest->root);
    return CONVERT_ERR_INTERNAL;
  }
  for (size_t i = 0; roots[i]; i++)
    found |= strcmp (roots[i], guest->root) == 0;
  if (!found) {
    v2v_error_set (err, CONVERT_ERR_NO_OS,
                   "%s has \\Windows\\System32\\config, but libguestfs "
                   "inspection does not recognise a Windows installation "
                   "there (its registry may be damaged)", guest->root);
    return CONVERT_ERR_NO_OS;
  }
  guest->distro = guestfs_inspect_get_distro (g, guest->root);
  guest->product = guestfs_inspect_get_product_name (g, guest->root);
  guest->arch = guestfs_inspect_get_arch (g, guest->root);
  guest->major = guestfs_inspect_get_major_version (g, guest->root);
  guest->minor = guestfs_inspect_get_minor_version (g, guest->root);
  w->major = guest->major;
  w->minor = guest->minor;
  w->variant = guestfs_inspect_get_product_variant (g, guest->root);
  w->systemroot = guestfs_inspect_get_windows_systemroot (g, guest->root);
  w->system_hive = guestfs_inspect_get_windows_system_hive (g, guest->root);
  w->software_hive = guestfs_inspect_get_windows_software_hive (g, guest->root);
  guest->pkgfmt = strdup ("msi");
  guest->firmware = guest->esp ? FIRMWARE_UEFI : FIRMWARE_BIOS;
  if (w->systemroot == NULL || w->system_hive == NULL ||
      w->software_hive == NULL) {
    convert_internal_gerror (g, err, "inspect", guest->root);
    return CONVERT_ERR_INTERNAL;
  }
  if (guest->arch == NULL ||
      (strcmp (guest->arch, "x86_64") != 0 && strcmp (guest->arch, "i386") != 0)) {
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: unsupported Windows architecture '%s' (x86_64 and "
                   "i386 only)", guest->root, guest->arch ? guest->arch : "?");
    return CONVERT_ERR_UNSUPPORTED;
  }
  w->varch = strcmp (guest->arch, "x86_64") == 0 ? "amd64" : "x86";

  st = mount_root (guest, err);
  if (st != CONVERT_OK)
    return st;

  read_software (guest);
  read_system (guest);
  w->osdir = virtio_osdir (w);
  if (w->osdir == NULL) {
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: unsupported Windows version %d.%d (%s)", guest->root,
                   w->major, w->minor, guest->product ? guest->product : "?");
    return CONVERT_ERR_UNSUPPORTED;
  }

  CLEANUP_FREE char *pd = guestfs_case_sensitive_path (g, "/ProgramData");
  if (pd == NULL || asprintf (&w->state_dir, "%s/v2v-kubevirt", pd) < 0) {
    w->state_dir = NULL;
    convert_internal_gerror (g, err, "case_sensitive_path", "/ProgramData");
    return CONVERT_ERR_INTERNAL;
  }
  guest->state_dir = w->state_dir;
  CLEANUP_FREE char *marker = NULL;
  if (asprintf (&marker, "%s/converted.json", w->state_dir) < 0) {
    v2v_error_set (err, -ENOMEM, "marker");
    return CONVERT_ERR_INTERNAL;
  }
  guest->converted = guestfs_exists (g, marker) > 0;
  return CONVERT_OK;
}

void
win_free (struct guest *guest)
{
  struct guest_windows *w = win_guest (guest);

  if (w == NULL)
    return;
  free (w->systemroot);
  free (w->system_hive);
  free (w->software_hive);
  free (w->variant);
  free (w->state_dir);
  strv_free (w->pv_services);
  strv_free (w->agent_services);
  strv_free (w->kept_drivers);
  strv_free (w->warnings);
  free (w->pv_uninstall_guid);
  free (w->pv_uninstall_name);
  free (w->driver_dir);
  strv_free (w->driver_files);
  free (w->block_sys);
  free (w->block_inf);
  free (w->qemu_ga_msi);
  convert_internal_windows_rm_unpacked (w->unpacked);
  json_object_put (w->registry);
  free (w);
}

static struct json_object *
strv_json (char **v)
{
  struct json_object *a = json_object_new_array ();

  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  return a;
}

void
win_guest_json (const struct guest *guest, struct json_object *o)
{
  const struct guest_windows *w = win_guest (guest);
  struct json_object *j;

  if (w == NULL)
    return;
  j = json_object_new_object ();
  json_object_object_add (j, CONVERT_REPORT_WINDOWS_SYSTEMROOT,
                          json_object_new_string (w->systemroot ? w->systemroot : ""));
  if (w->variant)
    json_object_object_add (j, CONVERT_REPORT_WINDOWS_VARIANT,
                            json_object_new_string (w->variant));
  json_object_object_add (j, "build", json_object_new_int (w->build));
  json_object_object_add (j, "service_pack",
                          json_object_new_boolean (w->service_pack));
  json_object_object_add (j, "control_set",
                          json_object_new_int ((int) w->control_set));
  json_object_object_add (j, "real_time_is_universal",
                          json_object_new_boolean (w->rtc_utc));
  if (w->osdir)
    json_object_object_add (j, "virtio_win_os", json_object_new_string (w->osdir));
  json_object_object_add (j, "aws_pv_drivers", strv_json (w->pv_services));
  json_object_object_add (j, "aws_agents", strv_json (w->agent_services));
  json_object_object_add (j, "aws_drivers_kept", strv_json (w->kept_drivers));
  if (w->pv_uninstall_guid)
    json_object_object_add (j, "pv_uninstaller",
                            json_object_new_string (w->pv_uninstall_guid));
  json_object_object_add (o, CONVERT_REPORT_GUEST_WINDOWS, j);
}

void
win_report_json (const struct guest *guest, struct json_object *report)
{
  const struct guest_windows *w = win_guest (guest);

  json_object_object_add (report, CONVERT_REPORT_REGISTRY, w && w->registry
                          ? json_object_get (w->registry)
                          : json_object_new_array ());
}

void
win_hints (const struct guest *guest, const struct convert_options *opts,
           struct json_object *hints)
{
  /* Windows keeps the RTC in local time unless RealTimeIsUniversal=1;
   * KubeVirt's clock must match, or the guest's time is off by the
   * time zone until it syncs. */
  json_object_object_add (hints, "clock", json_object_new_string
                          (win_guest (guest)->rtc_utc ? "utc" : "localtime"));
  if (opts->block_driver == CONVERT_BLOCK_VIRTIO_SCSI &&
      opts->compat == CONVERT_COMPAT_OFF)
    json_object_object_add (hints, CONVERT_REPORT_HINT_DISK_BUS,
                            json_object_new_string ("scsi"));
}

/* convert/ internals shared across its files.  Not a public header. */
#ifndef V2V_CONVERT_INTERNAL_H
#define V2V_CONVERT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <guestfs.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "convert.h"
#include "error.h"
#include "strv.h"

DEFINE_CLEANUP_FUNC (guestfs_h *, guestfs_close)
#define CLEANUP_GUESTFS __attribute__ ((cleanup (guestfs_close_cleanup)))

/* Guest files are read with a size limit: a hostile guest can make any
 * path a huge file, a FIFO or a symlink to /dev/zero.
 */
#define GUEST_FILE_MAX (4 * 1024 * 1024)

/* Where backups of everything we change are kept, inside the guest.
 * A central place, because a backup beside the original would be read
 * by tools that include whole directories (interfaces.d, sources.d).
 */
#define GUEST_STATE_DIR  "/var/lib/v2v-kubevirt"
#define GUEST_BACKUP_DIR GUEST_STATE_DIR "/backup"
#define GUEST_MARKER     GUEST_STATE_DIR "/converted.json"

enum guest_family { FAMILY_UNKNOWN, FAMILY_DEBIAN, FAMILY_UBUNTU,
                    FAMILY_RHEL, FAMILY_AMZN, FAMILY_SUSE };
enum guest_firmware { FIRMWARE_BIOS, FIRMWARE_UEFI };
enum guest_initramfs_tool { INITRAMFS_NONE, INITRAMFS_TOOLS, INITRAMFS_DRACUT,
                            INITRAMFS_MKINITRD };

/* Network configuration systems found in the guest (a bit set). */
enum {
  NET_IFUPDOWN = 1 << 0, NET_NETPLAN = 1 << 1, NET_NETWORKD = 1 << 2,
  NET_NM_KEYFILE = 1 << 3, NET_IFCFG = 1 << 4, NET_WICKED = 1 << 5,
};

/* One filesystem the appliance can see, as probed there. */
struct guest_fs {
  char *device;                 /* appliance name: /dev/sda1 */
  int disk_index;               /* 0-based, in the order disks were added */
  int partnum;                  /* 0 for a whole-disk filesystem */
  char *fstype, *uuid, *label, *partuuid;
};

struct fstab_entry {
  char *spec, *file, *vfstype, *opts;
  char *rest;                   /* dump and pass fields, as written */
  size_t line;                  /* 0-based line in /etc/fstab */
  const struct guest_fs *fs;    /* what SPEC resolves to, or NULL */
};

struct guest_kernel {
  char *version;                /* validated: [A-Za-z0-9._+~-] only */
  char *vmlinuz;                /* /boot/vmlinuz-VERSION */
  char *initrd;                 /* path, or NULL if missing */
  bool virtio_capable;          /* virtio_blk + virtio_pci modules or =y */
  bool xen_pv_only;
  bool initrd_has_virtio;       /* virtio_blk and virtio_pci in the initrd */
  bool initrd_checked;
  char *initrd_listing;         /* the lister's output, cached; NULL until
                                 * read, and again after a rebuild */
};

struct guest {
  guestfs_h *g;
  bool readonly;
  char *root;                   /* appliance device of / */
  char *type, *distro, *product, *arch, *pkgfmt;
  int major, minor;
  enum guest_family family;
  enum guest_firmware firmware;
  const struct guest_fs *esp;
  char *esp_mountpoint;         /* e.g. /boot/efi, when mounted */

  size_t nr_fs;
  struct guest_fs *fs;
  size_t nr_fstab;
  struct fstab_entry *fstab;
  size_t nr_disks;

  size_t nr_kernels;
  struct guest_kernel *kernels;
  ssize_t default_kernel;       /* index in kernels, -1 if none */

  enum guest_initramfs_tool initramfs_tool;
  bool grub2, grub_bls, grub_legacy;
  const char *grub_cfg;         /* path of grub.cfg in the guest, or NULL */
  const char *grub_mkconfig;    /* update-grub / grub2-mkconfig, or NULL */

  unsigned net_systems;
  char **nic_names;             /* old NIC names from the config, strv */

  bool cloud_init;
  char *cloud_init_datasources; /* as configured, or NULL */
  char *instance_id;            /* /var/lib/cloud/data/instance-id */

  char **agents;                /* AWS agent units present, strv */
  bool selinux;
  bool converted;               /* our marker is present */

  /* Where backups and the marker go in the guest; NULL means
   * GUEST_STATE_DIR.  Windows guests use \ProgramData\v2v-kubevirt. */
  const char *state_dir;
  struct guest_windows *win;    /* Windows only (windows/windows.h) */
};

static inline const char *
convert_internal_state_dir (const struct guest *guest)
{
  return guest->state_dir ? guest->state_dir : GUEST_STATE_DIR;
}

/* The change log: every file touched, command run, and warning. */
struct change {
  char *path, *action, *reason;
  char sha_before[65], sha_after[65];   /* "" where not applicable */
  char *backup;                          /* path in the guest, or NULL */
};

struct changelog {
  size_t nr, cap;
  struct change *v;
  char **warnings;
  size_t nr_warnings;
  char **changed_paths;         /* for SELinux relabelling */
  size_t nr_changed;
};

/* The context every step gets. */
struct convert_ctx {
  struct guest *guest;
  const struct convert_options *opts;
  struct changelog *log;
};

/* A rework step: one file in convert/linux/, registered in steps.c. */
struct convert_step {
  const char *name;
  /* Return true if the step has anything to do; set *why either way. */
  bool (*applies) (struct convert_ctx *ctx, char *why, size_t whylen);
  int (*apply) (struct convert_ctx *ctx, struct v2v_error *err);
};

extern const struct convert_step *const convert_internal_linux_steps[];
extern const struct convert_step *const convert_internal_windows_steps[];
extern const struct convert_step *const convert_internal_probe_steps[];

/* guestfile.c: bounded reads, backed-up writes, commands with argv. */
extern int convert_internal_read (struct convert_ctx *ctx, const char *path,
                                  char **ret, size_t *ret_len,
                                  struct v2v_error *err);
extern bool convert_internal_is_regular (struct convert_ctx *ctx,
                                         const char *path);
extern bool convert_internal_exists (struct convert_ctx *ctx,
                                     const char *path);
extern int convert_internal_write (struct convert_ctx *ctx, const char *path,
                                   const char *content, size_t len,
                                   const char *reason, struct v2v_error *err);
extern int convert_internal_remove (struct convert_ctx *ctx, const char *path,
                                    const char *reason,
                                    struct v2v_error *err);
extern int convert_internal_symlink (struct convert_ctx *ctx,
                                     const char *target, const char *path,
                                     const char *reason,
                                     struct v2v_error *err);
extern int convert_internal_run (struct convert_ctx *ctx,
                                 const char *const *argv, const char *reason,
                                 char **ret_output, struct v2v_error *err);
extern int convert_internal_copy (struct convert_ctx *ctx, const char *src,
                                  const char *dst, const char *reason,
                                  struct v2v_error *err);
/* Run ARGV, which rewrites the (possibly large) file PATH: back PATH up
 * first and log the change with checksums before and after. */
extern int convert_internal_run_rewrite (struct convert_ctx *ctx,
                                         const char *const *argv,
                                         const char *path, const char *reason,
                                         struct v2v_error *err);
/* Apply F to each line of the file at PATH; write it back (with backup
 * and log) if any line changed.  F returns a new line (malloc'd) to
 * replace it, or NULL to keep it.  *RET_CHANGED says whether it wrote. */
extern int convert_internal_edit_lines (struct convert_ctx *ctx,
                                        const char *path,
                                        char *(*f) (const char *line,
                                                    void *opaque),
                                        void *opaque, const char *reason,
                                        bool *ret_changed,
                                        struct v2v_error *err);
/* Back PATH up and record its checksum in BEFORE before something else
 * (hivex) rewrites it in place; *RET_BACKUP is the backup path (caller
 * frees, or hands it to convert_internal_log_rewrite, which takes it). */
extern int convert_internal_backup_begin (struct convert_ctx *ctx,
                                          const char *path, char before[65],
                                          char **ret_backup,
                                          struct v2v_error *err);
extern int convert_internal_log_rewrite (struct convert_ctx *ctx,
                                         const char *path,
                                         const char before[65],
                                         char *backup_path,
                                         const char *reason,
                                         struct v2v_error *err);
/* Upload the host file SRC to DST in the guest (backed up first if DST
 * exists), and log it with its checksums. */
extern int convert_internal_upload (struct convert_ctx *ctx, const char *src,
                                    const char *dst, const char *reason,
                                    struct v2v_error *err);
extern void convert_internal_warn (struct convert_ctx *ctx,
                                   const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
extern void convert_internal_changelog_free (struct changelog *log);
extern struct json_object *
  convert_internal_changelog_json (const struct changelog *log);

/* Translate the libguestfs error of the last call into ERR. */
extern int convert_internal_gerror (guestfs_h *g, struct v2v_error *err,
                                    const char *op, const char *arg);

/* launch.c: guestfs_launch (G), killing the appliance's qemu if it has
 * not started within TIMEOUT_S seconds.  Returns 0; -ETIMEDOUT if it was
 * killed (G is then useless: close it); or another -errno for a launch
 * that failed by itself.
 */
extern int convert_internal_launch (guestfs_h *g, unsigned timeout_s,
                                    struct v2v_error *err);

/* inspect.c */
struct blockdev_list;
extern enum convert_status convert_internal_inspect (struct guest *guest,
                                                     const struct blockdev_list *disks,
                                                     const char *root_opt,
                                                     struct v2v_error *err);
extern int convert_internal_luks_open (struct guest *guest, char *const *keys,
                                       struct v2v_error *err);
extern void convert_internal_guest_free (struct guest *guest);
extern struct json_object *convert_internal_guest_json (const struct guest *);
extern bool convert_internal_valid_kernel_version (const char *v);
/* Is MODULE (CONFIG its config symbol) built into kernel VER: =y in
 * /boot/config-VER or listed in modules.builtin? */
extern bool convert_internal_kernel_builtin (struct convert_ctx *ctx,
                                             const char *ver,
                                             const char *config,
                                             const char *module);

/* windows/: the guest model of a Windows root (inspect.c), the
 * virtio-win driver source (drivers.c), and what the report shows. */
struct guest_windows;
extern enum convert_status
  convert_internal_windows_inspect (struct guest *guest,
                                    struct v2v_error *err);
extern enum convert_status
  convert_internal_windows_prepare (struct convert_ctx *ctx,
                                    struct v2v_error *err);
extern void convert_internal_windows_free (struct guest_windows *win);
extern void convert_internal_windows_guest_json (const struct guest *guest,
                                                 struct json_object *o);
extern struct json_object *
  convert_internal_windows_registry_json (const struct guest *guest);
extern void convert_internal_windows_hints (const struct guest *guest,
                                            const struct convert_options *opts,
                                            struct json_object *hints);

/* fsmap.c: fstab parsing, resolution of EC2 device names, mounting. */
/* Compatibility mode (preflight.c). */
enum preflight_verdict { PREFLIGHT_BOOTABLE, PREFLIGHT_WITH_FIXES,
                         PREFLIGHT_WONT_BOOT };
struct preflight {
  enum preflight_verdict verdict;
  bool wont_boot;
  struct json_object *reasons, *fixes, *warnings;   /* arrays of strings */
};
extern const struct convert_step *const convert_internal_compat_steps[];
extern const struct convert_step *const
  convert_internal_windows_compat_steps[];
/* windows/compat.c: the Windows half of the preflight. */
extern void convert_internal_windows_preflight (struct convert_ctx *ctx,
                                                struct json_object *reasons,
                                                struct json_object *warnings,
                                                bool *wont_boot);
extern int convert_internal_preflight (struct convert_ctx *ctx,
                                       struct preflight *pf,
                                       struct v2v_error *err);
extern struct json_object *
  convert_internal_preflight_json (const struct preflight *pf, bool fix);
extern void convert_internal_preflight_free (struct preflight *pf);
extern const char *convert_internal_verdict_name (enum preflight_verdict v);

/* How kernel VER provides a driver. */
enum kernel_driver { KDRV_NONE, KDRV_BUILTIN, KDRV_MODULE };
extern enum kernel_driver convert_internal_kernel_driver
  (struct convert_ctx *ctx, const char *ver, const char *config,
   const char *module);

/* initramfs (linux/initramfs.c): the initrd's file list by the guest's own
 * lister (NULL if it cannot tell; read once and kept in K until a rebuild,
 * not to be freed), a module in such a list, and adding
 * modules persistently then rebuilding the default kernel's initrd.
 */
extern const char *convert_internal_initrd_listing (struct convert_ctx *ctx,
                                                    struct guest_kernel *k);
extern bool convert_internal_listing_has (const char *listing,
                                          const char *module);
extern int convert_internal_initramfs_add (struct convert_ctx *ctx,
                                           const char *const *modules,
                                           const char *conf_name,
                                           const char *why,
                                           struct v2v_error *err);

extern int convert_internal_fstab_parse (struct guest *guest, const char *text,
                                         struct v2v_error *err);
extern void convert_internal_fstab_free (struct guest *guest);
extern const struct guest_fs *
  convert_internal_resolve_spec (const struct guest *guest, const char *spec);
extern bool convert_internal_is_device_path (const char *spec);
extern int convert_internal_mount_all (struct guest *guest,
                                       struct v2v_error *err);
extern char *convert_internal_stable_spec (const struct guest_fs *fs);

/* linux/bootloader.c: rewrite a kernel command line (or a line holding
 * one): root=/resume= EC2 device paths to stable specs, console=hvc0/xvc0
 * to ttyS0.  Returns a new string (caller frees), or NULL if unchanged. */
extern char *convert_internal_fix_cmdline (struct convert_ctx *ctx,
                                           const char *line);

/* text.c: line-oriented text editing helpers. */
extern char **convert_internal_split_lines (const char *text, size_t len);
extern char *convert_internal_join_lines (char *const *lines);
/* The cloud-init datasource_list a config file sets ("Ec2,None"; "" for
 * an empty list), the last one in TEXT; NULL if it sets none.  Caller
 * frees.
 */
extern char *convert_internal_datasource_list (const char *text);
extern char *convert_internal_replace_word (const char *s, const char *from,
                                            const char *to);

/* netconf.c: network and time-source config, as text. */
/* Could S be a NIC name (not "lo", at most 15 safe characters)? */
extern bool convert_internal_ifname_ok (const char *s);
/* Add to *NAMES the interface names that LINES (one file of syntax KIND,
 * one of NET_*) configure. */
extern void convert_internal_nic_names (char *const *lines, unsigned kind,
                                        char ***names);
/* convert_internal_edit_lines callbacks: comment out HWADDR=/MACADDR=
 * (ifcfg) and mac-address= (NetworkManager keyfile) lines. */
extern char *convert_internal_unpin_ifcfg_line (const char *line,
                                                void *opaque);
extern char *convert_internal_unpin_nm_line (const char *line, void *opaque);
/* Set DROP[i] (N entries, false on entry) for each line of a netplan
 * "match:" block holding a macaddress, and its set-name siblings; true
 * if there were any. */
extern bool convert_internal_netplan_mac_lines (char *const *lines, size_t n,
                                                bool *drop);
/* The edit_lines callback that comments out the lines DROP marks. */
struct convert_netplan_edit { const bool *drop; size_t i; };
extern char *convert_internal_netplan_line (const char *line, void *opaque);
/* chrony/ntp: a server, pool or peer line; one naming the Amazon Time
 * Sync Service. */
extern bool convert_internal_time_source (const char *line);
extern bool convert_internal_ec2_time_source (const char *line);

#endif /* V2V_CONVERT_INTERNAL_H */

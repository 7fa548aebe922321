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
#include "string-table.h"
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

/* Network configuration systems found in the guest (a bit set). */
enum {
  NET_IFUPDOWN = 1 << 0, NET_NETPLAN = 1 << 1, NET_NETWORKD = 1 << 2,
  NET_NM_KEYFILE = 1 << 3, NET_IFCFG = 1 << 4, NET_WICKED = 1 << 5,
};

/* One filesystem the appliance can see, as probed there. */
struct guest_fs {
  char *device;                 /* appliance name: /dev/sda1 */
  int disk_index;               /* the disk's index (blockN, diskN, or
                                 * position): the device map's numbering */
  int partnum;                  /* 0 for a whole-disk filesystem */
  char *fstype, *uuid, *label, *partuuid;
};

struct fstab_entry {
  char *spec, *file, *vfstype, *opts;
  char *rest;                   /* dump and pass fields, as written */
  size_t line;                  /* 0-based line in /etc/fstab */
  const struct guest_fs *fs;    /* what SPEC resolves to, or NULL */
};

struct convert_os;

/* The guest model every OS family shares.  What only one family knows is
 * in os_data (struct guest_linux in linux/linux.h, struct guest_windows
 * in windows/windows.h); what only one rework step needs is gathered by
 * that step's facts (struct convert_facts) into facts[].
 */
struct guest {
  guestfs_h *g;
  bool readonly;
  char *root;                   /* appliance device of / */
  char *type, *distro, *product, *arch, *pkgfmt;
  int major, minor;
  enum guest_family family;
  enum guest_firmware firmware;
  const struct guest_fs *esp;

  size_t nr_fs;
  struct guest_fs *fs;
  size_t nr_fstab;
  struct fstab_entry *fstab;
  size_t nr_disks;
  const struct convert_devmap *devmap;  /* opts->devmap; may be NULL */

  bool converted;               /* our marker is present */

  /* Where backups and the marker go in the guest; NULL means
   * GUEST_STATE_DIR.  Windows guests use \ProgramData\v2v-kubevirt. */
  const char *state_dir;

  /* The OS family, chosen once by inspection (inspect.c) when it has
   * found the root; NULL before.  Everything family-specific is reached
   * through it. */
  const struct convert_os *os;
  void *os_data;                /* the family's own model; os->free frees */
#define CONVERT_FACTS_MAX 8
  void *facts[CONVERT_FACTS_MAX];   /* what os->facts[i] gathered */
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

/* A rework step: one file in convert/linux/ or convert/windows/,
 * registered in its family's table (linux/family.c, windows/steps.c).
 * What the engine and the preflight need to know about a step is a field
 * here, never a comparison with a particular step.
 */
struct convert_step {
  const char *name;
  /* --compat=fix may run it, and the preflight lists it as a fix when it
   * applies.  (A step in a compat table without this flag runs after the
   * fixes but is not one by itself.) */
  bool compat_fix;
  /* It labels what the steps before it wrote, so it runs after them and
   * has nothing of its own to do when run alone (selinux). */
  bool relabels;
  /* Return true if the step has anything to do; set *why either way. */
  bool (*applies) (struct convert_ctx *ctx, char *why, size_t whylen);
  int (*apply) (struct convert_ctx *ctx, struct v2v_error *err);
};

/* What a step (or a small area of steps) learns about the guest for
 * itself at inspection: NIC names, cloud-init datasources, agent units,
 * the grub flavour.  The family lists them (os->facts); the step reads
 * its own with convert_internal_facts.
 */
struct convert_facts {
  /* Read from the mounted guest; never writes.  Returns the facts (freed
   * with free), or NULL when there are none or memory ran out: the step
   * must then treat the guest as having none. */
  void *(*gather) (struct convert_ctx *ctx);
  /* Add them to the report's guest section; FACTS may be NULL. */
  void (*json) (const void *facts, struct json_object *guest);
  /* --compat: what to know before choosing it (not boot blockers); may
   * be NULL. */
  void (*compat_warnings) (const void *facts, struct json_object *warnings);
  void (*free) (void *facts);
};

/* inspect.c: gather every fact of the guest's family (its inspect calls
 * this once the guest is mounted), and the facts F gathered, or NULL. */
extern void convert_internal_facts_gather (struct convert_ctx *ctx);
extern const void *convert_internal_facts (const struct guest *guest,
                                           const struct convert_facts *f);

/* Compatibility mode (preflight.c). */
enum preflight_verdict { PREFLIGHT_BOOTABLE, PREFLIGHT_WITH_FIXES,
                         PREFLIGHT_WONT_BOOT };
struct preflight {
  enum preflight_verdict verdict;
  bool wont_boot;
  struct json_object *reasons, *fixes, *warnings;   /* arrays of strings */
};

/* One OS family: chosen once, after the root is found, in the manner of
 * curl's TLS backends and virt-v2v's conversion modules.  Its fact
 * gathering, steps, compat steps, preflight and report section are here,
 * so nothing else asks "is this Windows?".
 */
struct convert_os {
  const char *name;             /* "linux", "windows" */
  /* The rest of the guest model, from the root inspect.c chose (nothing
   * mounted); OS_RELEASE is its os-release text (Linux) or NULL. */
  enum convert_status (*inspect) (struct guest *guest, const char *os_release,
                                  struct v2v_error *err);
  /* Before anything is written (not in compatibility mode); may be NULL. */
  enum convert_status (*prepare) (struct convert_ctx *ctx,
                                  struct v2v_error *err);
  const struct convert_step *const *steps;          /* in order, NULL-ended */
  const struct convert_step *const *compat_steps;   /* --compat=fix */
  /* v2v-agent verify on a disk without the health probe: the probe
   * alone (and what must follow it). */
  const struct convert_step *const *probe_steps;
  const struct convert_facts *const *facts;         /* NULL-ended, or NULL */
  /* --compat: will it boot on SATA + e1000e?  Adds to pf->reasons and
   * pf->warnings, sets pf->wont_boot. */
  void (*preflight) (struct convert_ctx *ctx, struct preflight *pf);
  /* The family's keys in the report's guest section. */
  void (*guest_json) (const struct guest *guest, struct json_object *o);
  /* The family's keys in the report itself; may be NULL. */
  void (*report_json) (const struct guest *guest, struct json_object *report);
  /* The family's KubeVirt hints; may be NULL. */
  void (*hints) (const struct guest *guest, const struct convert_options *opts,
                 struct json_object *hints);
  /* Free os_data (which may be NULL or half-built). */
  void (*free) (struct guest *guest);
};

extern const struct convert_os convert_internal_os_linux;
extern const struct convert_os convert_internal_os_windows;

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
/* One change to the guest file PATH that something other than the
 * functions above makes (hivex, a guest tool, an upload): begin refuses
 * anything but a regular file (or, with MAY_BE_NEW, an absent one),
 * records its checksum and backs it up; end logs the change with the
 * checksums before and after.  Every writer in guestfile.c is built on
 * this pair too, so each change is backed up and logged the same way.
 */
struct convert_change {
  const char *path;
  char before[65];              /* "" if the file did not exist */
  char *backup;                 /* backup path in the guest, or NULL */
};
extern int convert_internal_change_begin (struct convert_ctx *ctx,
                                          struct convert_change *c,
                                          const char *path, bool may_be_new,
                                          struct v2v_error *err);
/* ACTION is NULL for "edit" (or "create" if it was new); the checksum
 * after is that of CONTENT (LEN bytes) if CONTENT is set, else read back.
 * Frees what begin allocated, on success or failure.  A change begun
 * but not made is ended with abandon (the backup copy stays, harmless). */
extern void convert_internal_change_abandon (struct convert_change *c);
extern int convert_internal_change_end (struct convert_ctx *ctx,
                                        struct convert_change *c,
                                        const char *action,
                                        const char *content, size_t len,
                                        const char *reason,
                                        struct v2v_error *err);
/* The entries of the guest directory DIR matching the glob PATTERN
 * ("*.cfg", "ifcfg-*"), as full paths in name order (NULL-terminated,
 * caller frees); NULL if there are none or DIR is missing. */
extern char **convert_internal_list_dir (struct convert_ctx *ctx,
                                         const char *dir,
                                         const char *pattern);
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

/* inspect.c: the filesystems, the root, the OS family (which inspects
 * the rest); the guest model's JSON and destructor. */
struct blockdev_list;
extern enum convert_status convert_internal_inspect (struct guest *guest,
                                                     const struct blockdev_list *disks,
                                                     const char *root_opt,
                                                     struct v2v_error *err);
extern int convert_internal_luks_open (struct guest *guest, char *const *keys,
                                       struct v2v_error *err);
extern void convert_internal_guest_free (struct guest *guest);
extern struct json_object *convert_internal_guest_json (const struct guest *);

/* preflight.c: compatibility mode's verdict, from the family's checks
 * and the fixes its compat steps would make. */
extern int convert_internal_preflight (struct convert_ctx *ctx,
                                       struct preflight *pf,
                                       struct v2v_error *err);
extern struct json_object *
  convert_internal_preflight_json (const struct preflight *pf, bool fix);
extern void convert_internal_preflight_free (struct preflight *pf);
DECLARE_STRING_TABLE_LOOKUP (preflight_verdict, enum preflight_verdict);
/* Add a printf-formatted string to the JSON array ARR. */
extern void convert_internal_json_addf (struct json_object *arr,
                                        const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* devmap.c: the device map (which EC2 device each disk and NIC was;
 * docs/architecture.md "Device map") and the placing of a guest's device
 * names through it.  Pure functions, no appliance.
 */
struct devmap_disk {
  int index;                    /* the disk as the agent sees it */
  int letter;                   /* sdX/xvdX: 0 for a, 26 for aa; -1 */
  int nvme;                     /* /dev/nvmeNn1: N; -1 */
  char volume[32];              /* "vol-0abc...", or "" */
  int ephemeral;                /* ephemeralN: N; -1 */
};
struct devmap_nic {
  int index;                    /* the ENI's device index */
  char mac[18];                 /* lower case, colon separated */
};
struct convert_devmap {
  size_t nr_disks, nr_nics;
  struct devmap_disk *disks;
  struct devmap_nic *nics;      /* in device-index order */
};

/* What a device name says by itself. */
enum devmap_form {
  IDENT_NONE,                   /* not an EC2 device name */
  IDENT_LETTER,                 /* /dev/sdX, /dev/xvdX (hd, vd), xen-vbd */
  IDENT_NVME,                   /* /dev/nvmeNn1 */
  IDENT_VOLUME,                 /* by-id nvme-Amazon_Elastic_Block_Store_vol */
  IDENT_POSITION,               /* another by-path name: an attach slot */
};
struct devmap_ident {
  enum devmap_form form;
  int letter, nvme;             /* -1 where not that form */
  char volume[32];              /* "vol-0abc" for IDENT_VOLUME */
  int part;                     /* 0: the whole disk */
};
extern int convert_internal_devmap_ident (const char *spec,
                                          struct devmap_ident *ret);

/* Where a device name is, through MAP (may be NULL). */
enum convert_place {
  PLACE_NOT_EC2,                /* not an EC2 device name: UUID=, LV... */
  PLACE_DISK,                   /* disk DISK, partition PART (0: whole) */
  PLACE_EPHEMERAL,              /* instance store ephemeralN */
  PLACE_UNPLACED,               /* an EC2 name no map entry places */
};
struct convert_placement {
  enum convert_place kind;
  int disk, part, ephemeral;
};
/* ROOT_DISK is the disk holding the root volume (named xvda/sda/nvme0n1
 * on EC2 without any map), or -1. */
extern enum convert_place
  convert_internal_devmap_place (const struct convert_devmap *map,
                                 int root_disk, const char *spec,
                                 struct convert_placement *ret);
/* "0A-1B-..." or "0a:1b:..." as "0a:1b:2c:3d:4e:5f" in RET. */
extern bool convert_internal_mac_normalize (const char *s, char ret[18]);

/* fsmap.c: fstab parsing, resolution of EC2 device names, mounting. */
extern int convert_internal_fstab_parse (struct guest *guest, const char *text,
                                         struct v2v_error *err);
extern void convert_internal_fstab_free (struct guest *guest);
extern const struct guest_fs *
  convert_internal_resolve_spec (const struct guest *guest, const char *spec);
/* Is SPEC an EC2 device name (devmap.c's forms)? */
extern bool convert_internal_is_device_path (const char *spec);
/* The filesystem the EC2 device name SPEC is on, through the guest's
 * device map; NULL if it is on none, *RET says why. */
extern const struct guest_fs *
  convert_internal_place_spec (const struct guest *guest, const char *spec,
                               struct convert_placement *ret);
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
/* KEY=value or KEY="value" from os-release text.  Caller frees. */
extern char *convert_internal_os_release_get (const char *text,
                                              const char *key);
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
 * (ifcfg) and mac-address= (NetworkManager keyfile) lines.  OPAQUE: the
 * MACs the VM keeps (char *const *, normalized, NULL-terminated), whose
 * pins stay; or NULL. */
extern char *convert_internal_unpin_ifcfg_line (const char *line,
                                                void *opaque);
extern char *convert_internal_unpin_nm_line (const char *line, void *opaque);
/* Set DROP[i] (N entries, false on entry) for each line of a netplan
 * "match:" block holding a macaddress, and its set-name siblings; true
 * if there were any. */
extern bool convert_internal_netplan_mac_lines (char *const *lines, size_t n,
                                                bool *drop);
/* The same, leaving the match blocks whose macaddress is in KEEP (as
 * above) and their set-name. */
extern bool convert_internal_netplan_mac_lines_keep (char *const *lines,
                                                     size_t n, bool *drop,
                                                     char *const *keep);
/* The edit_lines callback that comments out the lines DROP marks. */
struct convert_netplan_edit { const bool *drop; size_t i; };
extern char *convert_internal_netplan_line (const char *line, void *opaque);
/* nicmap.c: MAC pins, static addresses, EC2 NIC names, DHCP edits. */
struct nic_pin { char name[16]; char mac[18]; };
/* Add to *PINS (*N of them) the (name, MAC) pairs LINES (one file of
 * syntax KIND) pin: netplan match macaddress with set-name, ifcfg
 * HWADDR, keyfile mac-address, networkd MACAddress.  NAME_HINT: the
 * interface the file is for by its name (ifcfg-eth0), or NULL. */
extern void convert_internal_nic_pins (char *const *lines, unsigned kind,
                                       const char *name_hint,
                                       struct nic_pin **pins, size_t *n);
/* Add to *NAMES the interfaces LINES give a static IPv4 address. */
extern void convert_internal_nic_static (char *const *lines, unsigned kind,
                                         const char *name_hint,
                                         char ***names);
/* The name EC2 gave the NIC of device index INDEX, by the guest's scheme
 * (CONFIGURED: the names its config uses): ethN, or ens(5+N) on Nitro.
 * BUF, or NULL if the scheme is unknown. */
extern const char *convert_internal_ec2_nic_name (char *const *configured,
                                                  int index, char *buf,
                                                  size_t len);
/* An ifupdown "auto NAME..." LINE with the names PRESENT says the VM
 * will not have moved to "allow-hotplug" (auto fails the boot for a NIC
 * that never comes); those names, space-led, in MISSING.  NULL if
 * unchanged.  Caller frees. */
extern char *convert_internal_ifupdown_auto (const char *line,
                                             bool (*present) (const char *,
                                                              void *),
                                             void *opaque, char *missing,
                                             size_t len);
/* LINES (syntax KIND) with NAME's static IPv4 config switched to DHCP,
 * the addresses commented out; NULL if unchanged.  Caller frees. */
extern char *convert_internal_dhcp_text (char *const *lines, unsigned kind,
                                         const char *name);
/* chrony/ntp: a server, pool or peer line; one naming the Amazon Time
 * Sync Service. */
extern bool convert_internal_time_source (const char *line);
extern bool convert_internal_ec2_time_source (const char *line);

#endif /* V2V_CONVERT_INTERNAL_H */

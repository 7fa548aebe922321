/* convert/windows/ internals: the Windows guest model, registry editing
 * through the libguestfs hivex calls, and the virtio-win driver source.
 * Not a public header.
 */
#ifndef V2V_CONVERT_WINDOWS_H
#define V2V_CONVERT_WINDOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "../internal.h"

/* Registry value types (winnt.h). */
enum { REG_SZ_T = 1, REG_EXPAND_SZ_T = 2, REG_BINARY_T = 3, REG_DWORD_T = 4,
       REG_MULTI_SZ_T = 7 };

/* The services and drivers EC2 installs, and what we do with them. */
enum win_aws_kind { AWS_PV_DRIVER, AWS_AGENT, AWS_KEEP_DRIVER };

struct guest_windows {
  char *systemroot;             /* "/Windows", as the filesystem spells it */
  char *system_hive, *software_hive;
  char *variant;                /* Client, Server, Server Core */
  char *state_dir;              /* /ProgramData/v2v-kubevirt */
  int major, minor, build;
  bool service_pack;            /* CSDVersion is set: SP1 or later */
  unsigned control_set;         /* SYSTEM\Select\Current */
  bool rtc_utc;                 /* RealTimeIsUniversal=1 */
  bool legacy;                  /* drivers come from the legacy tree */
  const char *osdir;            /* virtio-win name: 2k22, w10, w7... */
  const char *varch;            /* virtio-win arch: amd64, x86 */

  /* What inspection found (names as the registry spells them). */
  char **pv_services;           /* AWS PV drivers: Start=4 */
  char **agent_services;        /* EC2Launch, EC2Config, SSM: Start=4 */
  char **kept_drivers;          /* ena, AWSNVMe: left alone, reported */
  char *pv_uninstall_guid;      /* "{GUID}" of the PV drivers' MSI */
  char *pv_uninstall_name;
  char **warnings;              /* group policy, antivirus: for the report */

  /* From convert_internal_windows_prepare: host paths. */
  char *driver_dir;             /* the chosen virtio-win directory */
  char **driver_files;          /* every file to copy (host paths) */
  char *block_sys, *block_inf;  /* viostor.sys/.inf or vioscsi's */
  const char *block_driver;     /* "viostor" or "vioscsi" */
  char *qemu_ga_msi;            /* host path, or NULL */
  char *unpacked;               /* VIRTIO_WIN was an ISO: where it is
                                 * unpacked (removed with the model) */

  /* Every registry value we set, for the report. */
  struct json_object *registry;
};

/* guest->os_data of a Windows guest. */
static inline struct guest_windows *
win_guest (const struct guest *guest)
{
  return guest->os_data;
}

/* inspect.c, drivers.c and compat.c: the family's callbacks
 * (steps.c registers them). */
extern enum convert_status win_inspect (struct guest *guest,
                                        const char *os_release,
                                        struct v2v_error *err);
extern enum convert_status win_prepare (struct convert_ctx *ctx,
                                        struct v2v_error *err);
extern void win_preflight (struct convert_ctx *ctx, struct preflight *pf);
extern void win_guest_json (const struct guest *guest, struct json_object *o);
extern void win_report_json (const struct guest *guest,
                             struct json_object *report);
extern void win_hints (const struct guest *guest,
                       const struct convert_options *opts,
                       struct json_object *hints);
extern void win_free (struct guest *guest);

/* The VirtIO directory under %SystemRoot%, in the guest. */
#define WIN_VIRTIO_DIR "Drivers/VirtIO"
/* The name of the first boot service and its script. */
#define WIN_FIRSTBOOT_SERVICE "v2v-firstboot"

/* registry.c
 *
 * Edit one hive in one transaction: back the file up, open it for
 * writing with guestfs_hivex_open, call F, commit, close, and log the
 * hive as changed with its checksums.  Only one hive is open at a time
 * (one per guestfs handle).
 */
struct win_reg {
  struct convert_ctx *ctx;
  const char *hive_name;        /* SYSTEM or SOFTWARE, for the report */
};
extern int win_reg_edit (struct convert_ctx *ctx, const char *hive_path,
                         const char *hive_name, const char *reason,
                         int (*f) (struct win_reg *reg, void *opaque,
                                   struct v2v_error *err),
                         void *opaque, struct v2v_error *err);
/* Open a hive read-only (for inspection); close with guestfs_hivex_close. */
extern int win_reg_open_ro (guestfs_h *g, const char *hive_path,
                            struct v2v_error *err);

/* Look PATH ("ControlSet001\\Services\\viostor") up from the root of the
 * open hive, case-insensitively as Windows does.  Returns the node, 0 if
 * absent, -1 on error. */
extern int64_t win_reg_lookup (guestfs_h *g, const char *path);
/* The same, creating the missing keys. */
extern int64_t win_reg_ensure (struct win_reg *reg, const char *path,
                               struct v2v_error *err);

/* Setters record "HIVE\\KEYPATH" NAME = value in the report. */
extern int win_reg_set_dword (struct win_reg *reg, const char *keypath,
                              const char *name, uint32_t v,
                              struct v2v_error *err);
extern int win_reg_set_string (struct win_reg *reg, const char *keypath,
                               const char *name, int type, const char *ascii,
                               struct v2v_error *err);
/* VALUES is a NULL-terminated list of ASCII strings. */
extern int win_reg_set_multi_sz (struct win_reg *reg, const char *keypath,
                                 const char *name, const char *const *values,
                                 struct v2v_error *err);
extern int win_reg_set_raw (struct win_reg *reg, const char *keypath,
                            const char *name, int type, const char *data,
                            size_t len, const char *shown,
                            struct v2v_error *err);

/* Getters on the open hive.  0, or -ENOENT if the value is absent or has
 * another type. */
extern int win_reg_get_dword (guestfs_h *g, int64_t node, const char *name,
                              uint32_t *ret_v);
/* A string value as UTF-8 (caller frees), or NULL. */
extern char *win_reg_get_string (guestfs_h *g, int64_t node,
                                 const char *name);

/* "ControlSet%03u" of the current control set. */
extern void win_control_set (const struct guest_windows *w, char *buf,
                             size_t len);

/* ASCII case-insensitive equality, as registry names compare. */
extern bool win_name_eq (const char *a, const char *b);

/* drivers.c: remove (and free) a directory an ISO was unpacked into. */
extern void convert_internal_windows_rm_unpacked (char *dir);

#endif /* V2V_CONVERT_WINDOWS_H */

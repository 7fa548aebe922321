/* convert: inspect the guest on a set of disks and rework it in place so
 * that it boots on KubeVirt (virtio devices, no EC2 metadata service).
 *
 * Data path: blockdev list -> appliance -> guest model (inspect) -> plan
 * (the rework steps that apply) -> apply -> report.
 */
#ifndef V2V_CONVERT_H
#define V2V_CONVERT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "error.h"

struct blockdev_list;

enum convert_cloud_init { CONVERT_CI_REWORK, CONVERT_CI_KEEP,
                          CONVERT_CI_DISABLE, CONVERT_CI_RESET };
enum convert_agents { CONVERT_AGENTS_DISABLE, CONVERT_AGENTS_REMOVE,
                      CONVERT_AGENTS_KEEP };
enum convert_network { CONVERT_NET_REWORK, CONVERT_NET_KEEP };
enum convert_relabel { CONVERT_RELABEL_CHANGED, CONVERT_RELABEL_FULL,
                       CONVERT_RELABEL_BOOT };
/* Compatibility mode: no rework, a preflight for SATA + e1000e instead;
 * FIX applies only the fixes the preflight lists.
 */
enum convert_compat { CONVERT_COMPAT_OFF, CONVERT_COMPAT_CHECK,
                      CONVERT_COMPAT_FIX };
/* Windows: which virtio-win tree, and which boot storage driver. */
enum convert_legacy { CONVERT_LEGACY_AUTO, CONVERT_LEGACY_YES,
                      CONVERT_LEGACY_NO };
enum convert_block_driver { CONVERT_BLOCK_VIRTIO_BLK,
                            CONVERT_BLOCK_VIRTIO_SCSI };
/* The first-boot health probe (docs/agent-run.md): installed and removed
 * by itself after its first healthy report, not installed, or kept. */
enum convert_health_probe { CONVERT_PROBE_ONCE, CONVERT_PROBE_NO,
                            CONVERT_PROBE_ALWAYS };

/* How long the appliance may take to start, in seconds.  It takes 7 to
 * 12 s under TCG on 2 cores; a launch that hangs is seen only rarely and
 * would otherwise wait for libguestfs's own 20 minute timeout.
 */
#define CONVERT_LAUNCH_TIMEOUT 240

struct convert_options {
  bool dry_run;                 /* open read-only, print the plan */
  const char *root;             /* NULL or "first", or an appliance device */
  char *const *keys;            /* --key values, NULL-terminated, may be NULL */
  enum convert_cloud_init cloud_init;
  enum convert_agents agents;
  enum convert_network network;
  enum convert_relabel relabel;
  enum convert_compat compat;
  /* Windows guests: the virtio-win tree (a directory laid out like the
   * virtio-win ISO or RPM), and the legacy (SHA-1 signed) one for XP to
   * 7/2008 R2 before SP1.  NULL when not given. */
  const char *virtio_win;
  const char *virtio_win_legacy;
  enum convert_legacy legacy_drivers;
  enum convert_block_driver block_driver;
  enum convert_health_probe health_probe;
  /* v2v-agent verify: run the health-probe step alone (when the guest
   * does not carry the probe), on a throwaway overlay; no marker, and a
   * converted guest is not "already converted". */
  bool probe_only;
  /* Seconds the appliance may take to start before it is killed and
   * started once more (docs/troubleshooting.md); 0 means
   * CONVERT_LAUNCH_TIMEOUT. */
  unsigned launch_timeout;
  /* Progress callback for the human summary; may be NULL. */
  void (*progress) (const char *phase, const char *msg, void *opaque);
  void *progress_opaque;
};

/* Why a conversion was refused.  Each maps to its own agent exit code. */
enum convert_status {
  CONVERT_OK = 0,
  CONVERT_ALREADY_DONE,         /* marker found; nothing changed */
  CONVERT_ERR_INTERNAL,
  CONVERT_ERR_NO_OS,
  CONVERT_ERR_MULTI_OS,
  CONVERT_ERR_UNSUPPORTED,      /* distro, arch, or no initramfs tool */
  CONVERT_ERR_XEN_PV_ONLY,
  CONVERT_ERR_NO_SPACE,
  CONVERT_ERR_FS_STATE,         /* hibernated or read-only filesystem */
  CONVERT_ERR_LUKS_KEY,
  CONVERT_ERR_FAILED,           /* a rework step failed */
  CONVERT_ERR_VIRTIO_WIN,       /* Windows: no usable virtio-win drivers */
  CONVERT_ERR_BITLOCKER,        /* a BitLocker volume and no key */
  CONVERT_COMPAT_NEEDS_FIXES,   /* --compat: bootable once fixed */
  CONVERT_COMPAT_WONT_BOOT,     /* --compat: will not boot on SATA/e1000e */
};

/* Run the conversion on DISKS (already discovered and probed by blockdev;
 * each disk's overlay is used if set).  On return *RET_REPORT (always set,
 * even on failure) holds the JSON report; the caller puts it.
 * Returns a convert_status; ERR says why for anything but OK/ALREADY_DONE.
 */
extern enum convert_status convert_run (const struct blockdev_list *disks,
                                        const struct convert_options *opts,
                                        struct json_object **ret_report,
                                        struct v2v_error *err);

#endif /* V2V_CONVERT_H */

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
/* DHCP: rework, and switch a NIC with a static IPv4 address to DHCP (the
 * pod network, where the EC2 address cannot work). */
enum convert_network { CONVERT_NET_REWORK, CONVERT_NET_KEEP,
                       CONVERT_NET_DHCP };
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

/* The device map: which EC2 device each disk and NIC was (the
 * orchestrator's V2V_DEVICE_MAP, --device-map FILE, --disk-name,
 * --nic).  See docs/architecture.md.  Errors name the entry.
 */
struct convert_devmap;
/* At most this many NICs are mapped (KubeVirt and EC2 allow fewer). */
#define CONVERT_MAX_NICS 32
extern struct convert_devmap *convert_devmap_new (void);
extern void convert_devmap_free (struct convert_devmap *map);
/* "INDEX=NAME[,NAME...]": disk INDEX (the order the agent gets its disks
 * in) was the EC2 device NAME (/dev/sdf, /dev/xvdf, xvdba, /dev/nvme0n1),
 * the volume vol-0abc..., or the instance-store volume ephemeralN. */
extern int convert_devmap_add_disk (struct convert_devmap *map,
                                    const char *arg, struct v2v_error *err);
/* "INDEX=MAC": the ENI of device index INDEX had MAC, and the VM's NIC
 * keeps it. */
extern int convert_devmap_add_nic (struct convert_devmap *map,
                                   const char *arg, struct v2v_error *err);
/* Entries "disk INDEX=NAME[,NAME...]" and "nic INDEX=MAC", one a line or
 * separated by ';', '#' comments; ORIGIN names TEXT in errors. */
extern int convert_devmap_parse (struct convert_devmap *map,
                                 const char *text, const char *origin,
                                 struct v2v_error *err);

/* The map against the NR_DISKS disks given: every EBS entry names one of
 * them, and no ephemeralN entry does. */
extern int convert_devmap_check (const struct convert_devmap *map,
                                 size_t nr_disks, struct v2v_error *err);

struct convert_options {
  bool dry_run;                 /* open read-only, print the plan */
  const char *root;             /* NULL or "first", or an appliance device */
  char *const *keys;            /* --key values, NULL-terminated, may be NULL */
  enum convert_cloud_init cloud_init;
  enum convert_agents agents;
  enum convert_network network;
  const struct convert_devmap *devmap;  /* may be NULL: no map */
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

/* v2v-agent verify: boot converted disks the way KubeVirt would and read
 * the health probe's line (docs/standalone.md).  verify-cmd.c is the
 * command (options, report hints, overlays, probe injection, output);
 * verify-boot.c builds qemu's command line, runs it and watches the
 * serial console.  Internal to agent/.
 */
#ifndef V2V_AGENT_VERIFY_H
#define V2V_AGENT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "accel.h"
#include "error.h"
#include "string-table.h"

struct json_object;

enum verify_firmware { VERIFY_BIOS, VERIFY_EFI };
enum verify_bus { VERIFY_BUS_VIRTIO, VERIFY_BUS_SATA, VERIFY_BUS_SCSI };
enum verify_nic_model { VERIFY_NIC_VIRTIO, VERIFY_NIC_E1000E };

/* Debian's OVMF (package ovmf). */
#define VERIFY_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define VERIFY_OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"

#define VERIFY_MAX_DISKS 26
#define VERIFY_MAX_NICS 8

/* How to boot: everything qemu's command line is made of. */
struct verify_machine {
  enum accel_kind accel;
  enum verify_firmware firmware;
  const char *vars;             /* EFI: a private copy of OVMF_VARS */
  enum verify_bus bus;
  enum verify_nic_model nic_model;
  unsigned cpus, memory_mib;
  size_t nr_disks;              /* qcow2 overlays, then blank scratch disks */
  const char *disks[VERIFY_MAX_DISKS];
  int boot_disk;                /* index in disks; bootindex 1 */
  size_t nr_nics;
  const char *macs[VERIFY_MAX_NICS];  /* NULL: qemu's default */
};

/* The qemu command line for M, NULL-terminated; the caller frees it with
 * strv_free.  NULL if memory runs out. */
extern char **verify_qemu_argv (const struct verify_machine *m);

enum verify_verdict { VERIFY_HEALTHY, VERIFY_UNHEALTHY, VERIFY_NO_BOOT,
                      VERIFY_TIMEOUT };
DECLARE_STRING_TABLE_LOOKUP (verify_verdict, enum verify_verdict);

/* The stage at which the console TEXT shows a boot that will not reach
 * the health line ("no-bootable-device", "initramfs-shell", "panic",
 * "emergency-mode"), with what was seen in *RET_SEEN; NULL if none. */
extern const char *verify_stage_of (const char *text, size_t len,
                                    const char **ret_seen);

/* One boot's outcome. */
struct verify_outcome {
  enum verify_verdict verdict;
  const char *stage;            /* no-boot: static string */
  char reason[1024];
  struct json_object *health;   /* the probe's report, or NULL; owned */
  char console_tail[2048];      /* the last lines, printable characters */
  double seconds;
  int crash_signal;             /* qemu died of this signal (not ours) */
};

/* Run ARGV (qemu), its serial console on its stdout, copied to LOG_FD
 * if >= 0, until the health line, a stage of no-boot, qemu's exit or
 * TIMEOUT_S.  qemu is always killed and reaped before it returns.
 * Returns 0 with *OUT set, or -errno (qemu could not be started) with
 * ERR set.  The caller puts OUT->health.
 */
extern int verify_boot_run (char *const *argv, unsigned timeout_s, int log_fd,
                            struct verify_outcome *out,
                            struct v2v_error *err);

extern int agent_cmd_verify (int argc, char **argv);

#endif /* V2V_AGENT_VERIFY_H */

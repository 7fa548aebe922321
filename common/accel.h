/* Which accelerator qemu (and so the libguestfs appliance) can use here.
 *
 * /dev/kvm existing is not enough: on some hosts qemu aborts with
 * "failed to set MSR 0x10a" under -cpu host, and on others the guest
 * kernel hangs as soon as it starts.  So we boot a kernel under KVM for a
 * few seconds and check that it printed its banner; otherwise use TCG.
 */
#ifndef V2V_COMMON_ACCEL_H
#define V2V_COMMON_ACCEL_H

#include <stddef.h>

#include "error.h"
#include "string-table.h"

enum accel_kind { ACCEL_KVM, ACCEL_TCG };

/* Long enough for a kernel to print its banner under working KVM (well
 * under a second), short enough not to delay a pod much when KVM is broken.
 */
#define ACCEL_PROBE_TIMEOUT_MS 6000

struct accel_result {
  enum accel_kind kind;
  char reason[512];             /* why this one was chosen */
};

/* Detect the accelerator.  V2V_ACCEL=kvm|tcg forces the answer without a
 * probe.  The probe kernel is V2V_PROBE_KERNEL, else $LIBGUESTFS_PATH/kernel,
 * else the newest /boot/vmlinuz-*.  TIMEOUT_MS bounds the probe.  The
 * verdict is cached (V2V_ACCEL_CACHE, default /run/v2v-kubevirt/accel for
 * root) until the host reboots or /dev/kvm is re-created.
 * Returns 0, or -errno with ERR set if nothing can be probed at all.
 */
extern int accel_detect (int timeout_ms, struct accel_result *ret,
                         struct v2v_error *err);

/* The cache key of this boot and this /dev/kvm node; -1 if there is none. */
extern int accel_cache_key (char *out, size_t outlen);

/* "kvm" or "tcg"; accel_kind_from_string gives the kind or -EINVAL. */
DECLARE_STRING_TABLE_LOOKUP (accel_kind, enum accel_kind);

#endif /* V2V_COMMON_ACCEL_H */

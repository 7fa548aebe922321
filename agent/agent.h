#ifndef V2V_AGENT_H
#define V2V_AGENT_H

/* Exit codes of v2v-agent; documented in docs/operations.md.  Each
 * refusal has its own code so a controller can tell them apart without
 * parsing messages.
 */
enum agent_exit {
  AGENT_EXIT_OK = 0,            /* converted, or already converted */
  AGENT_EXIT_INTERNAL = 1,
  AGENT_EXIT_USAGE = 2,
  AGENT_EXIT_DEVICE = 3,        /* a disk is missing, unreadable, read-only */
  AGENT_EXIT_NO_OS = 4,
  AGENT_EXIT_MULTI_OS = 5,
  AGENT_EXIT_UNSUPPORTED = 6,   /* distro, arch, Windows version, no initramfs tool */
  AGENT_EXIT_XEN_PV_ONLY = 7,
  AGENT_EXIT_NO_SPACE = 8,
  AGENT_EXIT_FS_STATE = 9,      /* hibernated or read-only filesystem */
  AGENT_EXIT_LUKS_KEY = 10,
  AGENT_EXIT_STEP_FAILED = 11,  /* a rework step failed; disks untouched */
  AGENT_EXIT_COMMIT = 12,       /* writing the overlays back failed */
  AGENT_EXIT_VIRTIO_WIN = 13,   /* Windows: VIRTIO_WIN unset or unusable */
  AGENT_EXIT_BITLOCKER = 14,    /* a BitLocker volume and no (working) key */
  /* 15-19: reserved */
  AGENT_EXIT_COMPAT_FIXES = 20, /* --compat=check: bootable once fixed */
  AGENT_EXIT_COMPAT_WONT_BOOT = 21, /* --compat: will not boot on SATA */
};

extern int agent_cmd_convert (int argc, char **argv);
extern int agent_cmd_devices (int argc, char **argv);

#endif /* V2V_AGENT_H */

/* The names of the conversion options' values, as the command line and
 * the docs spell them; see convert.h.
 */
#include "convert.h"

static const char *const convert_cloud_init_table[] = {
  [CONVERT_CI_REWORK] = "rework", [CONVERT_CI_KEEP] = "keep",
  [CONVERT_CI_DISABLE] = "disable", [CONVERT_CI_RESET] = "reset",
};
DEFINE_STRING_TABLE_LOOKUP (convert_cloud_init, enum convert_cloud_init,
                            "unknown")

static const char *const convert_agents_table[] = {
  [CONVERT_AGENTS_DISABLE] = "disable", [CONVERT_AGENTS_REMOVE] = "remove",
  [CONVERT_AGENTS_KEEP] = "keep",
};
DEFINE_STRING_TABLE_LOOKUP (convert_agents, enum convert_agents, "unknown")

static const char *const convert_network_table[] = {
  [CONVERT_NET_REWORK] = "rework", [CONVERT_NET_KEEP] = "keep",
};
DEFINE_STRING_TABLE_LOOKUP (convert_network, enum convert_network, "unknown")

static const char *const convert_relabel_table[] = {
  [CONVERT_RELABEL_CHANGED] = "changed", [CONVERT_RELABEL_FULL] = "full",
  [CONVERT_RELABEL_BOOT] = "boot",
};
DEFINE_STRING_TABLE_LOOKUP (convert_relabel, enum convert_relabel, "unknown")

static const char *const convert_compat_table[] = {
  [CONVERT_COMPAT_OFF] = "off", [CONVERT_COMPAT_CHECK] = "check",
  [CONVERT_COMPAT_FIX] = "fix",
};
DEFINE_STRING_TABLE_LOOKUP (convert_compat, enum convert_compat, "unknown")

static const char *const convert_legacy_table[] = {
  [CONVERT_LEGACY_AUTO] = "auto", [CONVERT_LEGACY_YES] = "yes",
  [CONVERT_LEGACY_NO] = "no",
};
DEFINE_STRING_TABLE_LOOKUP (convert_legacy, enum convert_legacy, "unknown")

static const char *const convert_block_driver_table[] = {
  [CONVERT_BLOCK_VIRTIO_BLK] = "virtio-blk",
  [CONVERT_BLOCK_VIRTIO_SCSI] = "virtio-scsi",
};
DEFINE_STRING_TABLE_LOOKUP (convert_block_driver, enum convert_block_driver,
                            "unknown")

static const char *const convert_health_probe_table[] = {
  [CONVERT_PROBE_ONCE] = "yes", [CONVERT_PROBE_NO] = "no",
  [CONVERT_PROBE_ALWAYS] = "always",
};
DEFINE_STRING_TABLE_LOOKUP (convert_health_probe, enum convert_health_probe,
                            "unknown")

/* The conversion report's contract: every key of the JSON report that
 * "v2v-agent convert --report FILE" and "v2v-agent run --report FILE"
 * write, and that the agent reads back (agent/report.c).  The report
 * is described field by field in docs/report.md, and
 * docs/report.schema.json (JSON Schema, draft 2020-12) holds every test's
 * reports to it.
 *
 * convert_run writes the keys below up to CONVERT_REPORT_WARNINGS; the
 * agent's pipeline (agent/pipeline.c) adds the outcome (status, error)
 * and the disks, since only it knows whether the commit went through.
 * A new key is added here, to the schema and to docs/report.md in the
 * same commit.
 */
#ifndef V2V_CONVERT_REPORT_H
#define V2V_CONVERT_REPORT_H

/* Top level, written by convert_run. */
#define CONVERT_REPORT_DRY_RUN             "dry_run"
#define CONVERT_REPORT_TIMINGS             "timings"
#define CONVERT_REPORT_ACCELERATOR         "accelerator"
#define CONVERT_REPORT_ACCELERATOR_REASON  "accelerator_reason"
#define CONVERT_REPORT_APPLIANCE_MEMORY_MB "appliance_memory_mb"
#define CONVERT_REPORT_APPLIANCE_VCPUS     "appliance_vcpus"
#define CONVERT_REPORT_LAUNCH_TIMEOUT      "launch_timeout"
#define CONVERT_REPORT_LAUNCH_ATTEMPTS     "launch_attempts"
#define CONVERT_REPORT_GUEST               "guest"
#define CONVERT_REPORT_KUBEVIRT_HINTS      "kubevirt_hints"
#define CONVERT_REPORT_PREFLIGHT           "preflight"
#define CONVERT_REPORT_PREFLIGHT_AFTER_FIXES "preflight_after_fixes"
#define CONVERT_REPORT_STEPS               "steps"
#define CONVERT_REPORT_CHANGES             "changes"
#define CONVERT_REPORT_REGISTRY            "registry"
#define CONVERT_REPORT_WARNINGS            "warnings"

/* Top level, written by the agent's pipeline. */
#define CONVERT_REPORT_STATUS              "status"
#define CONVERT_REPORT_ERROR               "error"
#define CONVERT_REPORT_DISKS               "disks"

/* In each of "disks" (blockdev_list_to_json), added by the pipeline:
 * what became of the disk (agent_disk_write_name).
 */
#define CONVERT_REPORT_DISK_WRITE          "write"

/* In "guest": what the agent reads back for the status, the
 * termination message and /inspection.
 */
#define CONVERT_REPORT_GUEST_TYPE          "type"
#define CONVERT_REPORT_GUEST_DISTRO        "distro"
#define CONVERT_REPORT_GUEST_PRODUCT       "product"
#define CONVERT_REPORT_GUEST_OSINFO        "osinfo"
#define CONVERT_REPORT_GUEST_ARCH          "arch"
#define CONVERT_REPORT_GUEST_FIRMWARE      "firmware"
#define CONVERT_REPORT_GUEST_ROOT          "root"
#define CONVERT_REPORT_GUEST_MAJOR         "major_version"
#define CONVERT_REPORT_GUEST_MINOR         "minor_version"
#define CONVERT_REPORT_GUEST_PACKAGE_FORMAT "package_format"
#define CONVERT_REPORT_GUEST_PACKAGE_MANAGEMENT "package_management"
#define CONVERT_REPORT_GUEST_WINDOWS       "windows"
#define CONVERT_REPORT_GUEST_FSTAB         "fstab"
/* In each of guest.fstab, and in guest.windows. */
#define CONVERT_REPORT_FSTAB_MOUNTPOINT    "mountpoint"
#define CONVERT_REPORT_FSTAB_RESOLVED      "resolved"
#define CONVERT_REPORT_WINDOWS_VARIANT     "variant"
#define CONVERT_REPORT_WINDOWS_SYSTEMROOT  "systemroot"

/* In "kubevirt_hints": how the VM is to be built (and verify boots).
 * The schema requires the first five.
 */
#define CONVERT_REPORT_HINT_FIRMWARE       "firmware"
#define CONVERT_REPORT_HINT_BOOT_DISK      "bootDiskIndex"
#define CONVERT_REPORT_HINT_DISK_BUS       "diskBus"
#define CONVERT_REPORT_HINT_NIC_MODEL      "nicModel"
#define CONVERT_REPORT_HINT_MACHINE_TYPE   "machineType"

/* In each of "steps". */
#define CONVERT_REPORT_STEP_NAME           "step"
#define CONVERT_REPORT_STEP_RESULT         "result"
#define CONVERT_REPORT_STEP_REASON         "reason"

/* In each of "changes". */
#define CONVERT_REPORT_CHANGE_PATH         "path"
#define CONVERT_REPORT_CHANGE_ACTION       "action"

/* In "preflight" (and "preflight_after_fixes"). */
#define CONVERT_REPORT_PREFLIGHT_VERDICT   "verdict"

/* In each of "disks". */
#define CONVERT_REPORT_DISK_INDEX          "index"
#define CONVERT_REPORT_DISK_SIZE           "size"

#endif /* V2V_CONVERT_REPORT_H */

/* v2v-agent verify [OPTIONS] DISK...
 *
 * Boot converted disks the way the report's KubeVirt hints say, on
 * throwaway qcow2 overlays (the disks are opened read-only and never
 * written), and read the health probe's line from the serial console:
 * healthy, unhealthy (the probe's problems), no-boot (the stage) or
 * timeout.  A disk that does not carry the probe gets it in its overlay
 * (the convert engine's health-probe step alone).  See
 * docs/standalone.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent.h"
#include "report-read.h"
#include "blockdev.h"
#include "cleanup.h"
#include "convert.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "spawn.h"
#include "strv.h"
#include "verify.h"

#define VERIFY_DEFAULT_TIMEOUT 600

static void
usage (FILE *fp)
{
  fprintf (fp,
"usage: v2v-agent verify [OPTIONS] DISK...\n"
"\n"
"Boot the converted DISK... as KubeVirt would, on throwaway overlays (the\n"
"disks are never written), and report what the guest's health probe says.\n"
"\n"
"  --report FILE             the conversion's report: its KubeVirt hints\n"
"                            (firmware, disk bus, NIC model, boot disk)\n"
"  --firmware bios|efi       (default: the hint, else efi for a GPT disk\n"
"                            with an ESP and no BIOS boot partition)\n"
"  --bus virtio|sata|scsi    (default: the hint, else virtio)\n"
"  --nic-model virtio|e1000e (default: the hint, else virtio)\n"
"  --nic MAC                 one NIC per option, in order (default: one)\n"
"  --scratch SIZE            an extra blank disk (qemu-img size: 1G), with\n"
"                            the serial ephemeralN (instance store)\n"
"  --cpus N                  (default 2)\n"
"  --memory MIB              (default 1024)\n"
"  --timeout SECONDS         (default %d)\n"
"  --no-inject               boot the disks as they are, probe or not\n"
"  --log FILE                copy the serial console to FILE\n"
"  --json                    print the verdict as JSON\n"
"\n"
"Exit status: 0 healthy, 22 unhealthy, 23 no-boot, 24 timeout; 2 usage,\n"
"3 a disk cannot be read, 1 anything else (qemu would not start).\n",
           VERIFY_DEFAULT_TIMEOUT);
}

struct verify_args {
  const char *report_file, *log_file;
  int firmware, bus, nic_model;         /* -1: from the hints */
  size_t nr_nics;
  const char *macs[VERIFY_MAX_NICS];
  size_t nr_scratch;
  const char *scratch[VERIFY_MAX_DISKS];
  unsigned cpus, memory_mib, timeout_s;
  bool json, inject;
};

static int
parse_uint (const char *opt, const char *arg, unsigned min, unsigned max,
            unsigned *ret)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul (arg, &end, 10);
  if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
    log_error ("--%s %s: expected a number from %u to %u", opt, arg, min, max);
    return -1;
  }
  *ret = (unsigned) v;
  return 0;
}

static bool
mac_ok (const char *s)
{
  if (strlen (s) != 17)
    return false;
  for (int i = 0; i < 17; i++)
    if (i % 3 == 2 ? s[i] != ':' : !strchr ("0123456789abcdefABCDEF", s[i]))
      return false;
  return true;
}

static bool
size_ok (const char *s)
{
  size_t n = strspn (s, "0123456789");
  return n > 0 && (s[n] == '\0' ||
                   (strchr ("KMGT", s[n]) && s[n + 1] == '\0'));
}

/* The names the options, the report's kubevirt_hints and the verdict
 * use.
 */
static const char *const verify_firmware_table[] = {
  [VERIFY_BIOS] = "bios", [VERIFY_EFI] = "efi",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (verify_firmware, enum verify_firmware,
                                    "unknown")
static const char *const verify_bus_table[] = {
  [VERIFY_BUS_VIRTIO] = "virtio", [VERIFY_BUS_SATA] = "sata",
  [VERIFY_BUS_SCSI] = "scsi",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (verify_bus, enum verify_bus, "unknown")
static const char *const verify_nic_model_table[] = {
  [VERIFY_NIC_VIRTIO] = "virtio", [VERIFY_NIC_E1000E] = "e1000e",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (verify_nic_model, enum verify_nic_model,
                                    "unknown")

/* The hints of the report (read typed, report-read.h), where the
 * options left them open, and whether the conversion installed the
 * probe. */
static int
apply_report (struct verify_args *a, bool *ret_has_probe, int *ret_boot_disk)
{
  CLEANUP_JSON struct json_object *json = NULL;
  struct agent_report *report = NULL;
  struct v2v_error err = { 0 };

  *ret_has_probe = false;
  *ret_boot_disk = 0;
  json = json_object_from_file (a->report_file);
  if (json == NULL || !json_object_is_type (json, json_type_object)) {
    log_error ("--report %s: cannot read it as JSON: %s", a->report_file,
               json_util_get_last_err ());
    return -1;
  }
  if (agent_report_read (json, &report, &err) < 0 ||
      agent_report_check_conversion (report, &err) < 0) {
    log_error ("--report %s: %s", a->report_file, err.msg);
    agent_report_free (report);
    return -1;
  }
  struct { const char *key; const char *value; int *field;
           int (*from_string) (const char *s); } h[] = {
    { CONVERT_REPORT_HINT_FIRMWARE, report->hints.firmware, &a->firmware,
      verify_firmware_from_string },
    { CONVERT_REPORT_HINT_DISK_BUS, report->hints.disk_bus, &a->bus,
      verify_bus_from_string },
    { CONVERT_REPORT_HINT_NIC_MODEL, report->hints.nic_model, &a->nic_model,
      verify_nic_model_from_string },
  };
  for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
    if (*h[i].field >= 0 || h[i].value == NULL)
      continue;
    int k = agent_parse_enum (h[i].key, h[i].value, h[i].from_string);
    if (k < 0) {
      log_error ("--report %s: %s.%s is not one verify can boot",
                 a->report_file, CONVERT_REPORT_KUBEVIRT_HINTS, h[i].key);
      agent_report_free (report);
      return -1;
    }
    *h[i].field = k;
  }
  if (report->hints.has_boot_disk)
    *ret_boot_disk = (int) report->hints.boot_disk;
  *ret_has_probe = agent_report_step_applied (report, "health-probe");
  agent_report_free (report);
  return 0;
}

/* No hint: EFI for a GPT boot disk with an ESP and no BIOS boot
 * partition, as the conversion's own guess would say. */
static enum verify_firmware
guess_firmware (const struct blockdev_disk *d)
{
  bool esp = false, bios_boot = false;

  for (size_t i = 0; i < d->nr_partitions; i++) {
    esp |= d->partitions[i].esp;
    bios_boot |= d->partitions[i].bios_boot;
  }
  return d->pttype && strcmp (d->pttype, "gpt") == 0 && esp && !bios_boot
    ? VERIFY_EFI : VERIFY_BIOS;
}

static int
copy_file (const char *src, const char *dst, struct v2v_error *err)
{
  char buf[65536];
  ssize_t n;
  CLEANUP_CLOSE int in = open (src, O_RDONLY | O_CLOEXEC);
  CLEANUP_CLOSE int out = -1;

  if (in < 0)
    return v2v_error_errno (err, -errno, "open %s (install the ovmf "
                            "package)", src);
  out = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    return v2v_error_errno (err, -errno, "create %s", dst);
  while ((n = read (in, buf, sizeof buf)) > 0)
    if (write (out, buf, (size_t) n) != n)
      return v2v_error_errno (err, -errno, "write %s", dst);
  return n < 0 ? v2v_error_errno (err, -errno, "read %s", src) : 0;
}

static void
on_progress (const char *phase, const char *msg, void *opaque)
{
  (void) opaque;
  log_set_phase (phase);
  log_info ("%s", msg);
}

/* Put the probe into the overlays unless the disks carry it: the
 * convert engine's health-probe step alone.  Returns a JSON string
 * saying what happened ("injected", or why not). */
static const char *
inject_probe (const struct blockdev_list *list, char *why, size_t whylen)
{
  struct convert_options opts = {
    .probe_only = true, .progress = on_progress,
  };
  CLEANUP_JSON struct json_object *report = NULL;
  struct json_object *steps;
  struct v2v_error err = { 0 };
  enum convert_status s;

  if (agent_launch_timeout_from_env (&opts.launch_timeout) < 0)
    opts.launch_timeout = 0;
  log_set_phase ("inject");
  log_info ("looking for the health probe in the guest");
  s = convert_run (list, &opts, &report, &err);
  if (s != CONVERT_OK) {
    snprintf (why, whylen, "not injected: %s", err.msg);
    return "none";
  }
  snprintf (why, whylen, "not injected: the guest has no Linux root the "
            "probe can run in");
  if (json_object_object_get_ex (report, CONVERT_REPORT_STEPS, &steps))
    for (size_t i = 0; i < json_object_array_length (steps); i++) {
      struct json_object *st = json_object_array_get_idx (steps, i);
      if (strcmp (json_object_get_string (json_object_object_get
                                          (st, CONVERT_REPORT_STEP_NAME)),
                  "health-probe") != 0)
        continue;
      if (strcmp (json_object_get_string (json_object_object_get
                                          (st, CONVERT_REPORT_STEP_RESULT)),
                  "applied") == 0) {
        snprintf (why, whylen, "injected into the overlay");
        return "injected";
      }
      snprintf (why, whylen, "%s", json_object_get_string
                (json_object_object_get (st, CONVERT_REPORT_STEP_REASON)));
      return strstr (why, "carries the probe") ? "carried" : "none";
    }
  return "none";
}

static struct json_object *
outcome_json (const struct verify_outcome *o)
{
  struct json_object *j = json_object_new_object ();
  struct json_object *problems = NULL;

  json_object_object_add (j, "verdict", json_object_new_string
                          (verify_verdict_to_string (o->verdict)));
  json_object_object_add (j, "stage", o->stage
                          ? json_object_new_string (o->stage) : NULL);
  json_object_object_add (j, "reason", json_object_new_string (o->reason));
  if (o->health && json_object_object_get_ex (o->health, "problems",
                                              &problems))
    json_object_object_add (j, "problems", json_object_get (problems));
  else
    json_object_object_add (j, "problems", json_object_new_array ());
  json_object_object_add (j, "health", o->health
                          ? json_object_get (o->health) : NULL);
  json_object_object_add (j, "seconds", json_object_new_double (o->seconds));
  if (o->verdict == VERIFY_NO_BOOT || o->verdict == VERIFY_TIMEOUT)
    json_object_object_add (j, "console_tail",
                            json_object_new_string (o->console_tail));
  return j;
}

static void
print_text (struct json_object *v, const struct verify_outcome *o)
{
  struct json_object *h = o->health, *nics, *x;

  if (o->stage)
    printf ("verdict: no-boot at %s (%s)\n", o->stage, o->reason);
  else
    printf ("verdict: %s (%s)\n", verify_verdict_to_string (o->verdict), o->reason);
  printf ("  boot: %s, %s, %s bus, %s NIC x%d, %d CPUs, %d MiB, %.1f s\n",
          json_object_get_string (json_object_object_get (v, "accel")),
          json_object_get_string (json_object_object_get (v, "firmware")),
          json_object_get_string (json_object_object_get (v, "bus")),
          json_object_get_string (json_object_object_get (v, "nic_model")),
          (int) json_object_array_length (json_object_object_get (v, "nics")),
          json_object_get_int (json_object_object_get (v, "cpus")),
          json_object_get_int (json_object_object_get (v, "memory_mib")),
          o->seconds);
  printf ("  probe: %s\n", json_object_get_string
          (json_object_object_get (v, "probe_detail")));
  if (h) {
    printf ("  system: %s\n", json_object_get_string
            (json_object_object_get (h, "system")));
    if (json_object_object_get_ex (h, "nics", &nics))
      for (size_t i = 0; i < json_object_array_length (nics); i++) {
        struct json_object *n = json_object_array_get_idx (nics, i);
        printf ("  nic %s: ipv4 %s ipv6 %s\n",
                json_object_get_string (json_object_object_get (n, "name")),
                json_object_to_json_string (json_object_object_get (n, "ipv4")),
                json_object_to_json_string (json_object_object_get (n, "ipv6")));
      }
    if (json_object_object_get_ex (h, "cloud_init", &x))
      printf ("  cloud-init: %s\n", json_object_to_json_string (x));
    if (json_object_object_get_ex (h, "root", &x))
      printf ("  root: %s\n", json_object_to_json_string (x));
  }
  if (o->verdict == VERIFY_NO_BOOT || o->verdict == VERIFY_TIMEOUT) {
    /* The last few lines say most about where it stopped. */
    const char *t = o->console_tail + strlen (o->console_tail);
    int lines = 0;
    while (t > o->console_tail && !(t[-1] == '\n' && ++lines > 12))
      t--;
    printf ("  console (last lines):\n%s\n", t);
  }
}

static int
exit_for (enum verify_verdict v)
{
  enum agent_result r = AGENT_RESULT_INTERNAL;

  switch (v) {
  case VERIFY_HEALTHY:   r = AGENT_RESULT_VERIFY_HEALTHY; break;
  case VERIFY_UNHEALTHY: r = AGENT_RESULT_VERIFY_UNHEALTHY; break;
  case VERIFY_NO_BOOT:   r = AGENT_RESULT_VERIFY_NO_BOOT; break;
  case VERIFY_TIMEOUT:   r = AGENT_RESULT_VERIFY_TIMEOUT; break;
  }
  /* The exit codes are rows of agent/result.c's table. */
  return agent_result_info (r)->exit_code;
}

int
agent_cmd_verify (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "report", required_argument, NULL, 'r' },
    { "firmware", required_argument, NULL, 'f' },
    { "bus", required_argument, NULL, 'b' },
    { "nic-model", required_argument, NULL, 'm' },
    { "nic", required_argument, NULL, 'n' },
    { "scratch", required_argument, NULL, 's' },
    { "cpus", required_argument, NULL, 'c' },
    { "memory", required_argument, NULL, 'M' },
    { "timeout", required_argument, NULL, 't' },
    { "log", required_argument, NULL, 'l' },
    { "json", no_argument, NULL, 'j' },
    { "no-inject", no_argument, NULL, 'N' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct verify_args a = {
    .firmware = -1, .bus = -1, .nic_model = -1, .cpus = 2,
    .memory_mib = 1024, .timeout_s = VERIFY_DEFAULT_TIMEOUT, .inject = true,
  };
  struct blockdev_options bopts = { 0 };
  struct blockdev_list *list = NULL;
  struct verify_machine m = { 0 };
  struct verify_outcome o = { 0 }, first = { 0 };
  struct accel_result accel;
  struct v2v_error err = { 0 };
  CLEANUP_JSON struct json_object *v = NULL;
  CLEANUP_CLOSE int log_fd = -1;
  char workdir[512] = "", vars[600], scratch[VERIFY_MAX_DISKS][600];
  char probe_detail[V2V_ERROR_MAX + 64] = "";
  const char *probe = "carried";
  bool has_probe = false;
  int boot_disk = 0, c, ret = AGENT_EXIT_INTERNAL;
  size_t nscratch_made = 0;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage (stdout); return AGENT_EXIT_OK;
    case 'r': a.report_file = optarg; break;
    case 'l': a.log_file = optarg; break;
    case 'j': a.json = true; break;
    case 'N': a.inject = false; break;
    case 'f':
      if ((a.firmware = agent_parse_enum ("firmware", optarg,
                                           verify_firmware_from_string)) < 0)
        return AGENT_EXIT_USAGE;
      break;
    case 'b':
      if ((a.bus = agent_parse_enum ("bus", optarg,
                                     verify_bus_from_string)) < 0)
        return AGENT_EXIT_USAGE;
      break;
    case 'm':
      if ((a.nic_model = agent_parse_enum ("nic-model", optarg,
                                           verify_nic_model_from_string)) < 0)
        return AGENT_EXIT_USAGE;
      break;
    case 'n':
      if (!mac_ok (optarg)) {
        log_error ("--nic %s: expected a MAC address like 52:54:00:12:34:56",
                   optarg);
        return AGENT_EXIT_USAGE;
      }
      if (a.nr_nics == VERIFY_MAX_NICS) {
        log_error ("--nic: at most %d NICs", VERIFY_MAX_NICS);
        return AGENT_EXIT_USAGE;
      }
      a.macs[a.nr_nics++] = optarg;
      break;
    case 's':
      if (!size_ok (optarg)) {
        log_error ("--scratch %s: expected a size like 512M or 1G", optarg);
        return AGENT_EXIT_USAGE;
      }
      if (a.nr_scratch == VERIFY_MAX_DISKS) {
        log_error ("--scratch: at most %d disks", VERIFY_MAX_DISKS);
        return AGENT_EXIT_USAGE;
      }
      a.scratch[a.nr_scratch++] = optarg;
      break;
    case 'c':
      if (parse_uint ("cpus", optarg, 1, 64, &a.cpus) < 0)
        return AGENT_EXIT_USAGE;
      break;
    case 'M':
      if (parse_uint ("memory", optarg, 128, 1024 * 1024, &a.memory_mib) < 0)
        return AGENT_EXIT_USAGE;
      break;
    case 't':
      if (parse_uint ("timeout", optarg, 1, 86400, &a.timeout_s) < 0)
        return AGENT_EXIT_USAGE;
      break;
    default:
      usage (stderr);
      return AGENT_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    log_error ("verify: no disk given (v2v-agent verify [OPTIONS] DISK...)");
    return AGENT_EXIT_USAGE;
  }
  if ((size_t) (argc - optind) + a.nr_scratch > VERIFY_MAX_DISKS) {
    log_error ("verify: at most %d disks, scratch disks included",
               VERIFY_MAX_DISKS);
    return AGENT_EXIT_USAGE;
  }
  if (a.report_file && apply_report (&a, &has_probe, &boot_disk) < 0)
    return AGENT_EXIT_USAGE;
  if (boot_disk < 0 || boot_disk >= argc - optind) {
    log_error ("--report %s: bootDiskIndex %d, but %d disks were given",
               a.report_file, boot_disk, argc - optind);
    return AGENT_EXIT_USAGE;
  }

  /* The disks, read-only: nothing here ever writes them. */
  log_set_phase ("devices");
  bopts.explicit_disks = argv + optind;
  /* The disks are there or not: nothing to wait for, unlike in a pod. */
  bopts.deadline_ms = 1;
  if (blockdev_discover (&bopts, &list, &err) < 0 ||
      blockdev_probe (list, &err) < 0) {
    log_error ("%s", err.msg);
    ret = AGENT_EXIT_DEVICE;
    goto out;
  }
  if (a.firmware < 0)
    a.firmware = (int) guess_firmware (&list->disks[boot_disk]);
  if (a.bus < 0)
    a.bus = VERIFY_BUS_VIRTIO;
  if (a.nic_model < 0)
    a.nic_model = VERIFY_NIC_VIRTIO;
  if (a.nr_nics == 0)
    a.nr_nics = 1;              /* one NIC, qemu's MAC */
  if (a.log_file &&
      (log_fd = open (a.log_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0644)) < 0) {
    log_error ("--log %s: %m", a.log_file);
    ret = AGENT_EXIT_USAGE;
    goto out;
  }

  {
    const char *tmp = getenv ("TMPDIR");
    snprintf (workdir, sizeof workdir, "%s/v2v-verify-XXXXXX",
              tmp && *tmp ? tmp : "/var/tmp");
    if (mkdtemp (workdir) == NULL) {
      log_error ("cannot create a directory for the overlays: %s: %m",
                 workdir);
      workdir[0] = '\0';
      goto out;
    }
  }
  log_set_phase ("overlay");
  if (blockdev_overlay_create (list, workdir, &err) < 0) {
    log_error ("%s", err.msg);
    ret = AGENT_EXIT_DEVICE;
    goto out;
  }

  if (!a.inject) {
    probe = "not-checked";
    snprintf (probe_detail, sizeof probe_detail, "--no-inject: booted as "
              "it is");
  }
  else if (has_probe)
    snprintf (probe_detail, sizeof probe_detail, "installed by the "
              "conversion (the report's health-probe step)");
  else
    probe = inject_probe (list, probe_detail, sizeof probe_detail);

  for (size_t i = 0; i < a.nr_scratch; i++) {
    snprintf (scratch[i], sizeof scratch[i], "%s/scratch-%zu.qcow2", workdir,
              i);
    const char *qargv[] = { "qemu-img", "create", "-q", "-f", "qcow2",
                            scratch[i], a.scratch[i], NULL };
    if (spawn_run (qargv, &err) < 0) {
      log_error ("--scratch %s: %s", a.scratch[i], err.msg);
      goto out;
    }
    nscratch_made++;
  }
  if (a.firmware == VERIFY_EFI) {
    snprintf (vars, sizeof vars, "%s/OVMF_VARS.fd", workdir);
    if (copy_file (VERIFY_OVMF_VARS, vars, &err) < 0) {
      log_error ("%s", err.msg);
      goto out;
    }
    m.vars = vars;
  }
  if (accel_detect (ACCEL_PROBE_TIMEOUT_MS, &accel, &err) < 0) {
    log_error ("%s", err.msg);
    goto out;
  }

  m.accel = accel.kind;
  m.firmware = (enum verify_firmware) a.firmware;
  m.bus = (enum verify_bus) a.bus;
  m.nic_model = (enum verify_nic_model) a.nic_model;
  m.cpus = a.cpus;
  m.memory_mib = a.memory_mib;
  m.boot_disk = boot_disk;
  for (size_t i = 0; i < list->nr_disks; i++)
    m.disks[m.nr_disks++] = list->disks[i].overlay;
  m.first_scratch = m.nr_disks;
  for (size_t i = 0; i < a.nr_scratch; i++)
    m.disks[m.nr_disks++] = scratch[i];
  m.nr_nics = a.nr_nics;
  for (size_t i = 0; i < a.nr_nics; i++)
    m.macs[i] = a.macs[i];

  {
    CLEANUP_STRV char **qargv = verify_qemu_argv (&m);
    if (qargv == NULL) {
      log_error ("out of memory");
      goto out;
    }
    log_set_phase ("boot");
    log_info ("booting under %s (%s), timeout %u s", accel_kind_to_string (accel.kind),
              accel.reason, a.timeout_s);
    if (verify_boot_run (qargv, a.timeout_s, log_fd, &o, &err) < 0) {
      log_error ("%s", err.msg);
      goto out;
    }
    /* qemu itself crashes now and then under TCG (SIGSEGV, seen in CI in
     * the middle of a healthy boot): that says nothing about the guest,
     * so boot once more (on the same overlays: to the guest, an
     * unclean shutdown) and say so. */
    if (o.crash_signal) {
      first = o;
      first.health = NULL;
      json_object_put (o.health);
      log_warn ("qemu died of signal %d after %.1f s; booting again",
                first.crash_signal, first.seconds);
      if (verify_boot_run (qargv, a.timeout_s, log_fd, &o, &err) < 0) {
        log_error ("%s", err.msg);
        goto out;
      }
    }
  }

  v = outcome_json (&o);
  json_object_object_add (v, "accel", json_object_new_string
                          (accel_kind_to_string (accel.kind)));
  json_object_object_add (v, "firmware", json_object_new_string
                          (verify_firmware_to_string (a.firmware)));
  json_object_object_add (v, "bus", json_object_new_string
                          (verify_bus_to_string (a.bus)));
  json_object_object_add (v, "nic_model", json_object_new_string
                          (verify_nic_model_to_string (a.nic_model)));
  {
    struct json_object *nics = json_object_new_array ();
    for (size_t i = 0; i < a.nr_nics; i++)
      json_object_array_add (nics, a.macs[i]
                             ? json_object_new_string (a.macs[i]) : NULL);
    json_object_object_add (v, "nics", nics);
  }
  json_object_object_add (v, "cpus", json_object_new_int ((int) a.cpus));
  json_object_object_add (v, "memory_mib",
                          json_object_new_int ((int) a.memory_mib));
  {
    struct json_object *disks = json_object_new_array ();
    for (size_t i = 0; i < list->nr_disks; i++)
      json_object_array_add (disks, json_object_new_string
                             (list->disks[i].path));
    json_object_object_add (v, "disks", disks);
  }
  json_object_object_add (v, "scratch_disks",
                          json_object_new_int ((int) a.nr_scratch));
  json_object_object_add (v, "boot_disk", json_object_new_int (boot_disk));
  json_object_object_add (v, "probe", json_object_new_string (probe));
  json_object_object_add (v, "probe_detail",
                          json_object_new_string (probe_detail));
  if (first.crash_signal) {
    struct json_object *r = json_object_new_object ();
    json_object_object_add (r, "signal", json_object_new_int
                            (first.crash_signal));
    json_object_object_add (r, "seconds", json_object_new_double
                            (first.seconds));
    json_object_object_add (v, "retried_after", r);
  }
  if (a.json)
    printf ("%s\n", json_object_to_json_string_ext
            (v, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  else
    print_text (v, &o);
  fflush (stdout);
  ret = exit_for (o.verdict);

out:
  json_object_put (o.health);
  if (list)
    blockdev_overlay_discard (list);
  blockdev_list_free (list);
  for (size_t i = 0; i < nscratch_made; i++)
    unlink (scratch[i]);
  if (m.vars)
    unlink (m.vars);
  if (*workdir && rmdir (workdir) == -1)
    log_warn ("could not remove %s: %m", workdir);
  return ret;
}

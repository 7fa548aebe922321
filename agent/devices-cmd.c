/* v2v-agent devices [--json] [--device-dir DIR] [--expect-disks N]
 *                   [--timeout SECONDS] [DISK...]
 *
 * Find, wait for and probe the disks, and print the inventory: readable
 * text by default, or with --json the JSON array that the conversion
 * report also carries (docs/blockdev.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent.h"
#include "blockdev.h"
#include "log.h"

static void
devices_usage (FILE *fp)
{
  fprintf (fp,
           "usage: v2v-agent devices [--json] [--device-dir DIR]\n"
           "                         [--expect-disks N] [--timeout SECONDS]"
           " [DISK...]\n"
           "\n"
           "DISK is a block device, an image file or an NBD URI\n"
           "(nbd://HOST/EXPORT, nbd+unix:///EXPORT?socket=PATH).  Without\n"
           "DISKs, DIR/block[0-9]* and DIR/disk[0-9]*/disk.img are used;\n"
           "DIR is --device-dir, else $V2V_DEVICE_DIR, else /dev (and\n"
           "/mnt/disks).  See docs/blockdev.md.\n");
}

static void
log_retry (void *opaque, const char *msg)
{
  (void) opaque;
  log_warn ("%s", msg);
}

/* "1.5 GiB" */
static void
human_size (char *buf, size_t len, uint64_t bytes)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = (double) bytes;
  size_t u = 0;

  while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    snprintf (buf, len, "%" PRIu64 " B", bytes);
  else
    snprintf (buf, len, "%.1f %s", v, units[u]);
}

static void
print_partition (const struct blockdev_partition *p)
{
  char start[32], size[32];

  human_size (start, sizeof start, p->start);
  human_size (size, sizeof size, p->size);
  printf ("    part %-3d start %-10s size %-10s type %s",
          p->number, start, size, p->type ? p->type : "-");
  if (p->fstype)
    printf ("  %s", p->fstype);
  if (p->esp)
    printf ("  esp");
  if (p->bios_boot)
    printf ("  bios-boot");
  if (p->bootable)
    printf ("  active");
  if (p->extended)
    printf ("  extended");
  if (p->uuid)
    printf ("  uuid=%s", p->uuid);
  if (p->label)
    printf ("  label=%s", p->label);
  if (p->partuuid)
    printf ("  partuuid=%s", p->partuuid);
  printf ("\n");
}

static void
print_text (const struct blockdev_list *list)
{
  for (size_t i = 0; i < list->nr_disks; i++) {
    const struct blockdev_disk *d = &list->disks[i];
    char size[32];

    human_size (size, sizeof size, d->size);
    printf ("disk %u: %s\n", d->index, d->path);
    printf ("    size %s (%" PRIu64 " bytes), sectors %u/%u, %s%s\n",
            size, d->size, d->logical_sector, d->physical_sector,
            d->readonly ? "read-only" : "read-write",
            d->is_nbd ? ", nbd" : "");
    printf ("    class %s: %s\n", blockdev_class_to_string (d->class),
            d->reason ? d->reason : "");
    if (d->warning)
      printf ("    warning: %s\n", d->warning);
    if (d->pttype)
      printf ("    table %s%s%s\n", d->pttype,
              d->ptuuid ? "  id=" : "", d->ptuuid ? d->ptuuid : "");
    if (d->fstype) {
      printf ("    filesystem %s", d->fstype);
      if (d->uuid)
        printf ("  uuid=%s", d->uuid);
      if (d->label)
        printf ("  label=%s", d->label);
      printf ("\n");
    }
    for (size_t k = 0; k < d->nr_partitions; k++)
      print_partition (&d->partitions[k]);
  }
}

static int
print_json (const struct blockdev_list *list)
{
  struct json_object *arr = blockdev_list_to_json (list);

  if (arr == NULL) {
    log_error ("devices: out of memory");
    return -1;
  }
  printf ("%s\n",
          json_object_to_json_string_ext (arr, JSON_C_TO_STRING_PRETTY |
                                          JSON_C_TO_STRING_SPACED |
                                          JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (arr);
  return 0;
}

static int
parse_uint (const char *s, unsigned long max, unsigned long *ret)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul (s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v > max)
    return -1;
  *ret = v;
  return 0;
}

int
agent_cmd_devices (int argc, char **argv)
{
  enum { OPT_DEVICE_DIR = 256, OPT_EXPECT, OPT_TIMEOUT };
  static const struct option long_options[] = {
    { "json", no_argument, NULL, 'j' },
    { "device-dir", required_argument, NULL, OPT_DEVICE_DIR },
    { "expect-disks", required_argument, NULL, OPT_EXPECT },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct blockdev_options opts = { .on_retry = log_retry };
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  unsigned long v;
  bool json = false;
  int c, ret = AGENT_EXIT_INTERNAL;

  optind = 1;
  while ((c = getopt_long (argc, argv, "jh", long_options, NULL)) != -1) {
    switch (c) {
    case 'j':
      json = true;
      break;
    case OPT_DEVICE_DIR:
      opts.device_dir = optarg;
      break;
    case OPT_EXPECT:
      if (parse_uint (optarg, 1024, &v) == -1) {
        log_error ("devices: --expect-disks %s: expected a number "
                   "from 0 to 1024", optarg);
        return AGENT_EXIT_USAGE;
      }
      opts.expected_disks = (unsigned) v;
      break;
    case OPT_TIMEOUT:
      if (parse_uint (optarg, 86400, &v) == -1 || v == 0) {
        log_error ("devices: --timeout %s: expected seconds, "
                   "from 1 to 86400", optarg);
        return AGENT_EXIT_USAGE;
      }
      opts.deadline_ms = (int64_t) v * 1000;
      break;
    case 'h':
      devices_usage (stdout);
      return AGENT_EXIT_OK;
    default:
      devices_usage (stderr);
      return AGENT_EXIT_USAGE;
    }
  }
  if (optind < argc)
    opts.explicit_disks = &argv[optind];

  if (blockdev_discover (&opts, &list, &err) < 0 ||
      blockdev_probe (list, &err) < 0) {
    log_error ("%s", err.msg);
    goto out;
  }
  if (json) {
    if (print_json (list) < 0)
      goto out;
  }
  else
    print_text (list);
  if (fflush (stdout) == EOF || ferror (stdout)) {
    log_error ("devices: writing the inventory: %m");
    goto out;
  }
  ret = AGENT_EXIT_OK;
 out:
  blockdev_list_free (list);
  return ret;
}

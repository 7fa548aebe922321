/* A stand-in for convert_run, linked with the agent's commands into
 * v2v-agent-fakeconvert: everything of "v2v-agent convert" and "run"
 * (options, discovery, probe, overlays, the child process, commit,
 * report, termination message) is real except the appliance, so the
 * pipeline's outcomes can be tested in the unit tier.
 *
 *   FAKE_CONVERT_STATUS=NAME   the convert_status to return: ok
 *                              (default), already, step-failed, no-space
 *   FAKE_CONVERT_BREAK_COMMIT=1  hide the last disk's overlay, so that
 *                              its commit fails after the others
 *
 * Every overlay gets 4 KiB of 0x5a at 32 MiB (qemu-io), so a commit can
 * be seen on the disk.  The report has the keys convert_run writes
 * (convert/report.h), with a made-up guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "blockdev.h"
#include "convert.h"
#include "report.h"
#include "spawn.h"

static int
qemu_io_write (const char *overlay)
{
  const char *argv[] = { "qemu-io", "-f", "qcow2", "-c",
                         "write -q -P 0x5a 32M 4k", overlay, NULL };
  struct v2v_error err = { 0 };

  return spawn_run (argv, &err);
}

static struct json_object *
guest_json (void)
{
  struct json_object *g = json_object_new_object ();

  json_object_object_add (g, CONVERT_REPORT_GUEST_TYPE,
                          json_object_new_string ("linux"));
  json_object_object_add (g, CONVERT_REPORT_GUEST_DISTRO,
                          json_object_new_string ("debian"));
  json_object_object_add (g, CONVERT_REPORT_GUEST_PRODUCT,
                          json_object_new_string ("Fake Linux 12"));
  json_object_object_add (g, CONVERT_REPORT_GUEST_MAJOR,
                          json_object_new_int (12));
  json_object_object_add (g, CONVERT_REPORT_GUEST_MINOR,
                          json_object_new_int (0));
  json_object_object_add (g, CONVERT_REPORT_GUEST_ARCH,
                          json_object_new_string ("x86_64"));
  json_object_object_add (g, CONVERT_REPORT_GUEST_FIRMWARE,
                          json_object_new_string ("bios"));
  json_object_object_add (g, CONVERT_REPORT_GUEST_ROOT,
                          json_object_new_string ("/dev/sda1"));
  return g;
}

enum convert_status
convert_run (const struct blockdev_list *disks,
             const struct convert_options *opts,
             struct json_object **ret_report, struct v2v_error *err)
{
  const char *want = getenv ("FAKE_CONVERT_STATUS");
  struct json_object *r = json_object_new_object ();
  struct json_object *hints = json_object_new_object ();
  enum convert_status s = CONVERT_OK;

  *ret_report = r;
  json_object_object_add (r, CONVERT_REPORT_DRY_RUN,
                          json_object_new_boolean (opts->dry_run));
  json_object_object_add (r, CONVERT_REPORT_TIMINGS, json_object_new_object ());
  json_object_object_add (r, CONVERT_REPORT_ACCELERATOR,
                          json_object_new_string ("tcg"));
  json_object_object_add (r, CONVERT_REPORT_ACCELERATOR_REASON,
                          json_object_new_string ("fake"));
  json_object_object_add (r, CONVERT_REPORT_GUEST, guest_json ());
  json_object_object_add (hints, "firmware", json_object_new_string ("bios"));
  json_object_object_add (hints, "bootDiskIndex", json_object_new_int (0));
  json_object_object_add (hints, "diskBus", json_object_new_string ("virtio"));
  json_object_object_add (hints, "nicModel", json_object_new_string ("virtio"));
  json_object_object_add (hints, "machineType", json_object_new_string ("q35"));
  json_object_object_add (hints, "rng", json_object_new_boolean (1));
  json_object_object_add (hints, "balloon", json_object_new_boolean (1));
  json_object_object_add (r, CONVERT_REPORT_KUBEVIRT_HINTS, hints);
  json_object_object_add (r, CONVERT_REPORT_STEPS, json_object_new_array ());
  json_object_object_add (r, CONVERT_REPORT_CHANGES, json_object_new_array ());
  json_object_object_add (r, CONVERT_REPORT_WARNINGS, json_object_new_array ());

  if (want == NULL || strcmp (want, "ok") == 0)
    s = CONVERT_OK;
  else if (strcmp (want, "already") == 0)
    s = CONVERT_ALREADY_DONE;
  else if (strcmp (want, "step-failed") == 0) {
    snprintf (err->msg, sizeof err->msg, "step fake: it failed on purpose");
    s = CONVERT_ERR_FAILED;
  }
  else if (strcmp (want, "no-space") == 0) {
    snprintf (err->msg, sizeof err->msg, "/: 10 MB free, 50 MB needed");
    s = CONVERT_ERR_NO_SPACE;
  }
  else {
    snprintf (err->msg, sizeof err->msg, "FAKE_CONVERT_STATUS=%s?", want);
    return CONVERT_ERR_INTERNAL;
  }
  if (s != CONVERT_OK)
    return s;

  for (size_t i = 0; i < disks->nr_disks; i++)
    if (disks->disks[i].overlay && qemu_io_write (disks->disks[i].overlay) < 0) {
      snprintf (err->msg, sizeof err->msg, "qemu-io on %s failed",
                disks->disks[i].overlay);
      return CONVERT_ERR_INTERNAL;
    }
  if (getenv ("FAKE_CONVERT_BREAK_COMMIT") && disks->nr_disks > 0) {
    const char *o = disks->disks[disks->nr_disks - 1].overlay;
    char hidden[4096];

    snprintf (hidden, sizeof hidden, "%s.hidden", o ? o : "");
    if (o == NULL || rename (o, hidden) == -1) {
      snprintf (err->msg, sizeof err->msg, "cannot hide the overlay");
      return CONVERT_ERR_INTERNAL;
    }
  }
  return CONVERT_OK;
}

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "cleanup.h"
#include "spawn.h"
#include "string-table.h"
#include "timeutil.h"

#define PROBE_BANNER "Linux version"

static const char *const accel_kind_table[] = {
  [ACCEL_KVM] = "kvm", [ACCEL_TCG] = "tcg",
};
DEFINE_STRING_TABLE_LOOKUP (accel_kind, enum accel_kind, "unknown")

static int
newest_boot_kernel (char *out, size_t outlen)
{
  DIR *d = opendir ("/boot");
  struct dirent *e;
  struct timespec best = { 0, 0 };
  int found = 0;

  if (d == NULL)
    return 0;
  while ((e = readdir (d)) != NULL) {
    char path[512];
    struct stat st;

    if (strncmp (e->d_name, "vmlinuz-", 8) != 0)
      continue;
    snprintf (path, sizeof path, "/boot/%s", e->d_name);
    if (stat (path, &st) == 0 && S_ISREG (st.st_mode) &&
        access (path, R_OK) == 0 &&
        (!found || st.st_mtim.tv_sec > best.tv_sec)) {
      best = st.st_mtim;
      snprintf (out, outlen, "%s", path);
      found = 1;
    }
  }
  closedir (d);
  return found;
}

static int
find_probe_kernel (char *out, size_t outlen)
{
  const char *k = getenv ("V2V_PROBE_KERNEL");
  const char *lp = getenv ("LIBGUESTFS_PATH");

  if (k && *k && access (k, R_OK) == 0) {
    snprintf (out, outlen, "%s", k);
    return 1;
  }
  if (lp && *lp) {
    snprintf (out, outlen, "%s/kernel", lp);
    if (access (out, R_OK) == 0)
      return 1;
  }
  return newest_boot_kernel (out, outlen);
}

static int
file_contains (const char *path, const char *needle)
{
  char buf[8192];
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The serial log may hold NULs from firmware; search past them. */
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  return strstr (buf, needle) != NULL;
}

/* Boot the probe kernel under KVM and wait for its banner on the serial
 * port.  Returns 1 if it appeared, 0 if not (REASON says why).
 */
static int
kvm_boots_kernel (const char *kernel, int timeout_ms,
                  char *reason, size_t reasonlen)
{
  /* $TMPDIR, not /tmp: in a pod the root filesystem is read-only and
   * only /var/tmp (an emptyDir) is writable; the image sets TMPDIR.
   */
  const char *tmp = getenv ("TMPDIR");
  char serial[PATH_MAX];
  char serial_arg[PATH_MAX + 8];
  snprintf (serial, sizeof serial, "%s/v2v-accel-XXXXXX",
            tmp && *tmp ? tmp : "/tmp");
  CLEANUP_CLOSE int sfd = mkstemp (serial);
  struct v2v_error err = { 0 };
  pid_t pid;
  int status = 0, ok = 0, exited = 0;
  int64_t deadline;

  if (sfd < 0) {
    snprintf (reason, reasonlen, "cannot create probe file: %m");
    return 0;
  }
  snprintf (serial_arg, sizeof serial_arg, "file:%s", serial);

  const char *argv[] = {
    "qemu-system-x86_64", "-machine", "q35,accel=kvm", "-cpu", "host",
    "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
    "-serial", serial_arg, "-kernel", kernel,
    "-append", "console=ttyS0 earlyprintk=serial panic=-1", NULL
  };

  if (spawn_start (argv, &pid, &err) < 0) {
    snprintf (reason, reasonlen, "%.400s", err.code == -ENOENT
              ? "qemu-system-x86_64 not found" : err.msg);
    unlink (serial);
    return 0;
  }

  deadline = now_ms () + timeout_ms;
  while (now_ms () < deadline) {
    if (file_contains (serial, PROBE_BANNER)) {
      ok = 1;
      break;
    }
    if (spawn_try_wait (pid, &status) != 0) {
      exited = 1;
      break;
    }
    usleep (50000);
  }
  if (!ok && exited)
    ok = file_contains (serial, PROBE_BANNER);
  /* A qemu stuck in a KVM ioctl may not die at once: never wait for it
   * without a bound (a pod must not hang here), at worst leave it to be
   * reaped by init.
   */
  if (!exited)
    spawn_kill (pid, 2000, NULL);
  unlink (serial);

  if (ok)
    snprintf (reason, reasonlen, "a kernel booted under KVM");
  else if (exited)
    snprintf (reason, reasonlen,
              "qemu exited (status 0x%x) before the kernel started under KVM",
              (unsigned) status);
  else
    snprintf (reason, reasonlen,
              "/dev/kvm is present but a kernel made no progress under KVM "
              "in %d ms", timeout_ms);
  return ok;
}

/* The verdict holds until the host reboots or the KVM module is reloaded
 * (which makes a new /dev/kvm node), so it is keyed on both.
 */
int
accel_cache_key (char *out, size_t outlen)
{
  char boot_id[64];
  struct stat st;
  ssize_t n;

  {
    CLEANUP_CLOSE int fd = open ("/proc/sys/kernel/random/boot_id",
                                 O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (n = read (fd, boot_id, sizeof boot_id - 1)) <= 0)
      return -1;
  }
  boot_id[n] = '\0';
  boot_id[strcspn (boot_id, "\n")] = '\0';
  if (stat ("/dev/kvm", &st) == -1)
    return -1;
  snprintf (out, outlen, "%s %llu %lld.%09ld", boot_id,
            (unsigned long long) st.st_ino, (long long) st.st_ctim.tv_sec,
            st.st_ctim.tv_nsec);
  return 0;
}

/* Where the verdict is kept: V2V_ACCEL_CACHE (empty: nowhere), else
 * /run/v2v-kubevirt/accel for root, else $XDG_RUNTIME_DIR.  /run is
 * per boot on a host and per container in a pod, so a pod still probes
 * once; a workstation converting many images probes once per boot.
 */
static int
cache_path (char *out, size_t outlen)
{
  const char *p = getenv ("V2V_ACCEL_CACHE");

  if (p)
    return *p ? snprintf (out, outlen, "%s", p), 1 : 0;
  if (geteuid () == 0)
    return snprintf (out, outlen, "/run/v2v-kubevirt/accel"), 1;
  p = getenv ("XDG_RUNTIME_DIR");
  if (p && *p)
    return snprintf (out, outlen, "%s/v2v-kubevirt-accel", p), 1;
  return 0;
}

/* Cache file: KEY\nKIND\nREASON\n.  Only a file we own that nobody else
 * can write is believed.
 */
static int
cache_read (const char *path, const char *key, struct accel_result *r)
{
  char buf[1024], *kind, *reason, *end;
  struct stat st;
  ssize_t n;
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0 || fstat (fd, &st) == -1 || !S_ISREG (st.st_mode) ||
      st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  if ((kind = strchr (buf, '\n')) == NULL)
    return 0;
  *kind++ = '\0';
  if ((reason = strchr (kind, '\n')) == NULL)
    return 0;
  *reason++ = '\0';
  if ((end = strchr (reason, '\n')) == NULL)
    return 0;
  *end = '\0';
  if (strcmp (buf, key) != 0)
    return 0;
  int k = accel_kind_from_string (kind);
  if (k < 0)
    return 0;
  r->kind = k;
  snprintf (r->reason, sizeof r->reason, "%.400s (probed earlier this boot)",
            reason);
  return 1;
}

static void
cache_write (const char *path, const char *key, const struct accel_result *r)
{
  char tmp[PATH_MAX + 16];
  CLEANUP_FREE char *dir = strdup (path);
  char *slash;
  int fd;

  if (dir && (slash = strrchr (dir, '/')) != NULL && slash != dir) {
    *slash = '\0';
    mkdir (dir, 0755);          /* its parent exists: /run or the runtime dir */
  }
  snprintf (tmp, sizeof tmp, "%s.%ld", path, (long) getpid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  if (dprintf (fd, "%s\n%s\n%s\n", key, accel_kind_to_string (r->kind), r->reason) < 0 ||
      close (fd) == -1 || rename (tmp, path) == -1)
    unlink (tmp);
}

int
accel_detect (int timeout_ms, struct accel_result *ret, struct v2v_error *err)
{
  const char *forced = getenv ("V2V_ACCEL");
  struct accel_result r = { .kind = ACCEL_TCG };
  char kernel[512], cache[PATH_MAX], key[256];
  bool have_cache;

  if (forced && *forced) {
    int k = accel_kind_from_string (forced);
    if (k < 0)
      return v2v_error_set (err, -EINVAL,
                            "V2V_ACCEL=%s: expected \"kvm\" or \"tcg\"",
                            forced);
    r.kind = k;
    snprintf (r.reason, sizeof r.reason, "forced by V2V_ACCEL");
    *ret = r;
    return 0;
  }

  {
    CLEANUP_CLOSE int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      snprintf (r.reason, sizeof r.reason, "/dev/kvm: %s", strerror (errno));
      *ret = r;
      return 0;
    }
  }

  have_cache = cache_path (cache, sizeof cache) &&
    accel_cache_key (key, sizeof key) == 0;
  if (!find_probe_kernel (kernel, sizeof kernel))
    return v2v_error_set (err, -ENOENT,
                          "accel_detect: no kernel to probe KVM with "
                          "(set V2V_PROBE_KERNEL or LIBGUESTFS_PATH, or "
                          "install linux-image-cloud-amd64)");

  if (have_cache && cache_read (cache, key, &r)) {
    *ret = r;
    return 0;
  }
  if (kvm_boots_kernel (kernel, timeout_ms, r.reason, sizeof r.reason))
    r.kind = ACCEL_KVM;
  if (have_cache)
    cache_write (cache, key, &r);
  *ret = r;
  return 0;
}

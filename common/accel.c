#include <dirent.h>
#include <errno.h>
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

#define PROBE_BANNER "Linux version"

const char *
accel_name (enum accel_kind kind)
{
  return kind == ACCEL_KVM ? "kvm" : "tcg";
}

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

static long long
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
  char serial[] = "/tmp/v2v-accel-XXXXXX";
  char serial_arg[64];
  CLEANUP_CLOSE int sfd = mkstemp (serial);
  pid_t pid;
  int status = 0, ok = 0, exited = 0;
  long long deadline;

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

  pid = fork ();
  if (pid == -1) {
    snprintf (reason, reasonlen, "fork: %m");
    unlink (serial);
    return 0;
  }
  if (pid == 0) {
    int devnull = open ("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2 (devnull, 0);
      dup2 (devnull, 1);
      dup2 (devnull, 2);
    }
    execvp (argv[0], (char **) argv);
    _exit (127);
  }

  deadline = now_ms () + timeout_ms;
  while (now_ms () < deadline) {
    if (file_contains (serial, PROBE_BANNER)) {
      ok = 1;
      break;
    }
    if (waitpid (pid, &status, WNOHANG) == pid) {
      exited = 1;
      break;
    }
    usleep (50000);
  }
  if (!ok && exited)
    ok = file_contains (serial, PROBE_BANNER);
  if (!exited) {
    /* A qemu stuck in a KVM ioctl may not die at once: never wait for it
     * without a bound (a pod must not hang here), at worst leave it to be
     * reaped by init.
     */
    kill (pid, SIGKILL);
    for (int i = 0; i < 40 && waitpid (pid, &status, WNOHANG) == 0; i++)
      usleep (50000);
  }
  unlink (serial);

  if (ok)
    snprintf (reason, reasonlen, "a kernel booted under KVM");
  else if (exited && WIFEXITED (status) && WEXITSTATUS (status) == 127)
    snprintf (reason, reasonlen, "qemu-system-x86_64 not found");
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

int
accel_detect (int timeout_ms, struct accel_result *ret, struct v2v_error *err)
{
  const char *forced = getenv ("V2V_ACCEL");
  struct accel_result r = { .kind = ACCEL_TCG };
  char kernel[512];

  if (forced && *forced) {
    if (strcmp (forced, "kvm") == 0)
      r.kind = ACCEL_KVM;
    else if (strcmp (forced, "tcg") != 0)
      return v2v_error_set (err, -EINVAL,
                            "V2V_ACCEL=%s: expected \"kvm\" or \"tcg\"",
                            forced);
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

  if (!find_probe_kernel (kernel, sizeof kernel))
    return v2v_error_set (err, -ENOENT,
                          "accel_detect: no kernel to probe KVM with "
                          "(set V2V_PROBE_KERNEL or LIBGUESTFS_PATH, or "
                          "install linux-image-cloud-amd64)");

  if (kvm_boots_kernel (kernel, timeout_ms, r.reason, sizeof r.reason))
    r.kind = ACCEL_KVM;
  *ret = r;
  return 0;
}

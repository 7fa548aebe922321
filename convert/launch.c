/* guestfs_launch under a watchdog.
 *
 * Rarely (seen in CI, under TCG) the appliance hangs at "starting the
 * appliance": qemu runs but the daemon never connects, and libguestfs
 * only gives up after its own 20 minute launch timeout.  A watchdog
 * thread kills the appliance's qemu at our deadline instead, which makes
 * guestfs_launch return an error at once.
 *
 * The handle cannot tell us qemu's pid while it is launching (its lock
 * is held by guestfs_launch, so guestfs_get_pid would block), so the
 * watchdog looks for it in /proc: a child of this process whose command
 * is qemu-*.  The same launch also forks a "recovery" process and runs
 * supermin, which are left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "timeutil.h"

/* After the deadline, how often to look for qemu again: libguestfs runs
 * short-lived qemu processes to query its features before the appliance
 * itself, and the appliance's qemu may not exist yet.
 */
#define WATCHDOG_POLL_MS 100

struct watchdog {
  pthread_mutex_t lock;
  pthread_cond_t cond;          /* signalled when guestfs_launch returns */
  bool launch_returned;         /* under lock */
  struct timespec deadline;     /* CLOCK_MONOTONIC */
  unsigned killed;              /* under lock: qemu processes killed */
};

/* Is PID a child of ours running qemu?  Reads /proc/PID/stat for the
 * parent and /proc/PID/comm for the name (the kernel truncates it to 15
 * characters: "qemu-system-x86").
 */
static bool
is_our_qemu (pid_t pid)
{
  char path[64], buf[512], *p;
  CLEANUP_FCLOSE FILE *fp = NULL;
  CLEANUP_FCLOSE FILE *cp = NULL;
  char state;
  int ppid;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  fp = fopen (path, "re");
  if (fp == NULL || fgets (buf, sizeof buf, fp) == NULL)
    return false;
  /* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses,
   * so parse from the last ')'.  A zombie has exited already (a feature
   * probe that libguestfs is about to reap): not one to kill or count.
   */
  p = strrchr (buf, ')');
  if (p == NULL || sscanf (p + 1, " %c %d", &state, &ppid) != 2 ||
      ppid != getpid () || state == 'Z' || state == 'X')
    return false;

  snprintf (path, sizeof path, "/proc/%d/comm", (int) pid);
  cp = fopen (path, "re");
  if (cp == NULL || fgets (buf, sizeof buf, cp) == NULL)
    return false;
  return strncmp (buf, "qemu", 4) == 0;
}

/* SIGKILL every qemu child of this process.  A pidfd pins the process
 * between the check and the kill: libguestfs may reap a qemu that exits
 * on its own meanwhile, and its pid could then be reused.  (pidfds are
 * always close-on-exec.)  Returns the number killed.
 */
static unsigned
kill_our_qemu (void)
{
  DIR *dir = opendir ("/proc");
  struct dirent *d;
  unsigned n = 0;

  if (dir == NULL)
    return 0;
  while ((d = readdir (dir)) != NULL) {
    char *end;
    long pid = strtol (d->d_name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    CLEANUP_CLOSE int pidfd = pidfd_open ((pid_t) pid, 0);
    if (pidfd == -1)
      continue;
    if (is_our_qemu ((pid_t) pid) &&
        pidfd_send_signal (pidfd, SIGKILL, NULL, 0) == 0)
      n++;
  }
  closedir (dir);
  return n;
}

static void *
watchdog_thread (void *arg)
{
  struct watchdog *w = arg;
  struct timespec next = w->deadline;

  pthread_mutex_lock (&w->lock);
  while (!w->launch_returned) {
    int r = pthread_cond_timedwait (&w->cond, &w->lock, &next);
    if (w->launch_returned)
      break;
    if (r != ETIMEDOUT)
      continue;                 /* spurious wakeup */
    /* Past the deadline: kill qemu, and keep killing any qemu that
     * appears until guestfs_launch gives up.  The kills happen under the
     * lock so that the launching thread, once it has set launch_returned,
     * knows the count is final.
     */
    w->killed += kill_our_qemu ();
    next = timespec_after_ms (CLOCK_MONOTONIC, WATCHDOG_POLL_MS);
  }
  pthread_mutex_unlock (&w->lock);
  return NULL;
}

int
convert_internal_launch (guestfs_h *g, unsigned timeout_s,
                         struct v2v_error *err)
{
  struct watchdog w = { .launch_returned = false };
  pthread_condattr_t attr;
  pthread_t thread;
  int r, lr;

  /* A monotonic clock: a wall-clock step (NTP in a fresh pod) must not
   * fire the watchdog early or hold it off.
   */
  if ((r = pthread_condattr_init (&attr)) != 0)
    return v2v_error_errno (err, -r, "launch watchdog: condattr");
  r = pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  if (r == 0)
    r = pthread_cond_init (&w.cond, &attr);
  pthread_condattr_destroy (&attr);
  if (r != 0)
    return v2v_error_errno (err, -r, "launch watchdog: cond");
  pthread_mutex_init (&w.lock, NULL);
  w.deadline = timespec_after_ms (CLOCK_MONOTONIC, (int64_t) timeout_s * 1000);

  if ((r = pthread_create (&thread, NULL, watchdog_thread, &w)) != 0) {
    pthread_cond_destroy (&w.cond);
    pthread_mutex_destroy (&w.lock);
    return v2v_error_errno (err, -r, "launch watchdog: pthread_create");
  }

  lr = guestfs_launch (g);

  pthread_mutex_lock (&w.lock);
  w.launch_returned = true;
  pthread_cond_signal (&w.cond);
  pthread_mutex_unlock (&w.lock);
  pthread_join (thread, NULL);
  pthread_cond_destroy (&w.cond);
  pthread_mutex_destroy (&w.lock);

  /* Once the watchdog has killed a qemu the appliance is dead or dying,
   * even if guestfs_launch happened to succeed just before: a timeout
   * either way.  A launch that succeeded after the deadline, before any
   * qemu was found, is simply late and is kept.  libguestfs's own
   * message for the kill (the appliance "failed to start or crashed")
   * would only mislead.
   */
  if (w.killed > 0)
    return v2v_error_set (err, -ETIMEDOUT, "the appliance did not start "
                          "within %u s; its qemu was killed", timeout_s);
  if (lr == -1)
    return convert_internal_gerror (g, err, "launch", "appliance");
  return 0;
}

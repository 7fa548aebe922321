/* Running qemu-img: an argv array, fork and exec, never a shell. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* What is kept of the child's stderr: its end, which is where qemu-img
 * says what went wrong.
 */
#define STDERR_KEEP 512

/* In the child: never returns. */
static void __attribute__ ((noreturn))
run_child (const char *const *argv, pid_t parent, int errfd, int statusfd)
{
  int devnull, e;

  /* If the agent dies, so does qemu-img: an orphan writing to a device
   * after the agent has gone would race with the next run.
   */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull == -1 || dup2 (devnull, 0) == -1 || dup2 (devnull, 1) == -1 ||
      dup2 (errfd, 2) == -1)
    goto fail;
  execvp (argv[0], (char *const *) argv);
 fail:
  e = errno;
  if (write (statusfd, &e, sizeof e) == -1)
    _exit (127);
  _exit (127);
}

/* Keep the last STDERR_KEEP bytes of what the child writes to FD. */
static void
read_tail (int fd, char *tail, size_t *len)
{
  char buf[4096];
  ssize_t n;

  for (;;) {
    n = read (fd, buf, sizeof buf);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if ((size_t) n >= STDERR_KEEP) {
      memcpy (tail, buf + n - STDERR_KEEP, STDERR_KEEP);
      *len = STDERR_KEEP;
    }
    else {
      size_t keep = *len + (size_t) n > STDERR_KEEP
        ? STDERR_KEEP - (size_t) n : *len;

      memmove (tail, tail + *len - keep, keep);
      memcpy (tail + keep, buf, (size_t) n);
      *len = keep + (size_t) n;
    }
  }
}

/* Turn the child's stderr into one line: trailing newlines dropped,
 * inner ones replaced by "; ".
 */
static void
one_line (const char *in, size_t len, char *out, size_t outlen)
{
  size_t o = 0;

  while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r'))
    len--;
  for (size_t i = 0; i < len && o + 3 < outlen; i++) {
    if (in[i] == '\n') {
      out[o++] = ';';
      out[o++] = ' ';
    }
    else
      out[o++] = in[i];
  }
  out[o] = '\0';
}

int
blockdev_internal_run (const char *const *argv, struct v2v_error *err)
{
  int errpipe[2] = { -1, -1 }, statuspipe[2] = { -1, -1 };
  char tail[STDERR_KEEP], msg[STDERR_KEEP + 64];
  size_t tail_len = 0;
  pid_t parent = getpid (), pid;
  int status, child_errno = 0, r = 0;
  ssize_t n;

  if (pipe2 (errpipe, O_CLOEXEC) == -1)
    return v2v_error_errno (err, -errno, "%s: pipe", argv[0]);
  if (pipe2 (statuspipe, O_CLOEXEC) == -1) {
    r = v2v_error_errno (err, -errno, "%s: pipe", argv[0]);
    goto out;
  }
  pid = fork ();
  if (pid == -1) {
    r = v2v_error_errno (err, -errno, "%s: fork", argv[0]);
    goto out;
  }
  if (pid == 0)
    run_child (argv, parent, errpipe[1], statuspipe[1]);

  close (errpipe[1]);
  close (statuspipe[1]);
  errpipe[1] = statuspipe[1] = -1;
  read_tail (errpipe[0], tail, &tail_len);
  do
    n = read (statuspipe[0], &child_errno, sizeof child_errno);
  while (n == -1 && errno == EINTR);
  while (waitpid (pid, &status, 0) == -1) {
    if (errno != EINTR) {
      r = v2v_error_errno (err, -errno, "%s: waitpid", argv[0]);
      goto out;
    }
  }

  if (n == (ssize_t) sizeof child_errno) {
    r = v2v_error_errno (err, -child_errno, "%s: cannot run", argv[0]);
    goto out;
  }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    goto out;
  one_line (tail, tail_len, msg, sizeof msg);
  if (WIFSIGNALED (status))
    r = v2v_error_set (err, -EIO, "%s: killed by signal %d%s%s", argv[0],
                       WTERMSIG (status), *msg ? ": " : "", msg);
  else
    r = v2v_error_set (err, -EIO, "%s: exit status %d%s%s", argv[0],
                       WEXITSTATUS (status), *msg ? ": " : "", msg);
 out:
  for (int i = 0; i < 2; i++) {
    if (errpipe[i] >= 0)
      close (errpipe[i]);
    if (statuspipe[i] >= 0)
      close (statuspipe[i]);
  }
  return r;
}

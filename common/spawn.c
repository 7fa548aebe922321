#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "timeutil.h"

/* A close-on-exec pipe whose ends are not 0, 1 or 2: if the agent was
 * started with a standard descriptor closed, pipe2 can return it, and
 * the child's dup2 onto 0-2 would then close the pipe under it.
 */
static int
pipe_above_stdio (int fds[2])
{
  if (pipe2 (fds, O_CLOEXEC) == -1)
    return -errno;
  for (int i = 0; i < 2; i++) {
    if (fds[i] > 2)
      continue;
    int fd = fcntl (fds[i], F_DUPFD_CLOEXEC, 3);
    if (fd == -1) {
      int e = -errno;
      close (fds[0]);
      close (fds[1]);
      fds[0] = fds[1] = -1;
      return e;
    }
    close (fds[i]);
    fds[i] = fd;
  }
  return 0;
}

static void
close_pair (int fds[2])
{
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) {
      close (fds[i]);
      fds[i] = -1;
    }
}

/* In any child, first thing after fork. */
static void
child_common (pid_t parent)
{
  sigset_t none;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have died between fork and prctl. */
  if (getppid () != parent)
    _exit (127);
  /* The agent blocks its signals in every thread but the one that waits
   * for them; a child must not inherit that, nor carry it across exec.
   */
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

/* In the child: never returns.  OUTFD and ERRFD are the child's stdout
 * and stderr, or -1 for /dev/null.
 */
static void __attribute__ ((noreturn))
exec_child (const char *const *argv, pid_t parent, int outfd, int errfd,
            int statusfd)
{
  int devnull, e;

  child_common (parent);
  /* An ignored SIGPIPE would be inherited across exec. */
  signal (SIGPIPE, SIG_DFL);
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull == -1 || dup2 (devnull, 0) == -1 ||
      dup2 (outfd >= 0 ? outfd : devnull, 1) == -1 ||
      dup2 (errfd >= 0 ? errfd : devnull, 2) == -1)
    goto fail;
  execvp (argv[0], (char *const *) argv);
 fail:
  e = errno;
  if (write (statusfd, &e, sizeof e) == -1)
    _exit (127);
  _exit (127);
}

/* Fork and exec ARGV; return once exec has succeeded or failed. */
static int
start (const char *const *argv, int outfd, int errfd, pid_t *ret_pid,
       struct v2v_error *err)
{
  int statuspipe[2] = { -1, -1 };
  pid_t parent = getpid (), pid;
  int child_errno = 0, r, status;
  ssize_t n;

  if ((r = pipe_above_stdio (statuspipe)) < 0)
    return v2v_error_errno (err, r, "%s: pipe", argv[0]);
  pid = fork ();
  if (pid == -1) {
    r = v2v_error_errno (err, -errno, "%s: fork", argv[0]);
    close_pair (statuspipe);
    return r;
  }
  if (pid == 0)
    exec_child (argv, parent, outfd, errfd, statuspipe[1]);

  close (statuspipe[1]);
  statuspipe[1] = -1;
  /* EOF when exec closed the pipe; the errno if it failed. */
  do
    n = read (statuspipe[0], &child_errno, sizeof child_errno);
  while (n == -1 && errno == EINTR);
  close_pair (statuspipe);
  if (n == (ssize_t) sizeof child_errno) {
    spawn_wait (pid, &status);
    return v2v_error_errno (err, -child_errno, "%s: cannot run", argv[0]);
  }
  *ret_pid = pid;
  return 0;
}

int
spawn_start (const char *const *argv, pid_t *ret_pid, struct v2v_error *err)
{
  return start (argv, -1, -1, ret_pid, err);
}

int
spawn_start_fds (const char *const *argv, int out_fd, int err_fd,
                 pid_t *ret_pid, struct v2v_error *err)
{
  return start (argv, out_fd, err_fd, ret_pid, err);
}

/* Keep the last SPAWN_STDERR_TAIL bytes of what is written to FD. */
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
    if ((size_t) n >= SPAWN_STDERR_TAIL) {
      memcpy (tail, buf + n - SPAWN_STDERR_TAIL, SPAWN_STDERR_TAIL);
      *len = SPAWN_STDERR_TAIL;
    }
    else {
      size_t keep = *len + (size_t) n > SPAWN_STDERR_TAIL
        ? SPAWN_STDERR_TAIL - (size_t) n : *len;

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
spawn_run (const char *const *argv, struct v2v_error *err)
{
  int errpipe[2] = { -1, -1 };
  char tail[SPAWN_STDERR_TAIL], msg[SPAWN_STDERR_TAIL + 64];
  size_t tail_len = 0;
  pid_t pid;
  int status = 0, r; /* 0: clang-tidy cannot tell -errno is negative */

  if ((r = pipe_above_stdio (errpipe)) < 0)
    return v2v_error_errno (err, r, "%s: pipe", argv[0]);
  r = start (argv, -1, errpipe[1], &pid, err);
  close (errpipe[1]);
  errpipe[1] = -1;
  if (r < 0) {
    close_pair (errpipe);
    return r;
  }
  read_tail (errpipe[0], tail, &tail_len);
  close_pair (errpipe);
  if ((r = spawn_wait (pid, &status)) < 0)
    return v2v_error_errno (err, r, "%s: waitpid", argv[0]);

  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  one_line (tail, tail_len, msg, sizeof msg);
  if (WIFSIGNALED (status))
    return v2v_error_set (err, -EIO, "%s: killed by signal %d%s%s", argv[0],
                          WTERMSIG (status), *msg ? ": " : "", msg);
  return v2v_error_set (err, -EIO, "%s: exit status %d%s%s", argv[0],
                        WEXITSTATUS (status), *msg ? ": " : "", msg);
}

int
spawn_fork (void (*fn) (void *opaque), void *opaque, int new_process_group,
            pid_t *ret_pid, struct v2v_error *err)
{
  pid_t parent = getpid (), pid;

  pid = fork ();
  if (pid == -1)
    return v2v_error_errno (err, -errno, "fork");
  if (pid == 0) {
    if (new_process_group)
      setpgid (0, 0);
    child_common (parent);
    fn (opaque);
    _exit (0);
  }
  if (new_process_group)
    setpgid (pid, pid);
  *ret_pid = pid;
  return 0;
}

int
spawn_wait (pid_t pid, int *ret_status)
{
  int status;

  while (waitpid (pid, &status, 0) == -1)
    if (errno != EINTR)
      return -errno;
  *ret_status = status;
  return 0;
}

int
spawn_try_wait (pid_t pid, int *ret_status)
{
  int status;
  pid_t r;

  while ((r = waitpid (pid, &status, WNOHANG)) == -1)
    if (errno != EINTR)
      return -errno;
  if (r == 0)
    return 0;
  *ret_status = status;
  return 1;
}

int
spawn_kill (pid_t pid, int64_t grace_ms, int *ret_status)
{
  int64_t deadline = now_ms () + grace_ms;
  int status = 0;

  kill (pid, SIGKILL);
  for (;;) {
    int r = spawn_try_wait (pid, &status);

    if (r < 0)
      return 0;
    if (r == 1) {
      if (ret_status)
        *ret_status = status;
      return 1;
    }
    if (now_ms () >= deadline)
      return 0;
    nanosleep (&(struct timespec) { .tv_nsec = 20 * 1000000 }, NULL);
  }
}

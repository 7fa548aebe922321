#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "spawn.h"
#include "timeutil.h"

Test (spawn, run_success)
{
  const char *argv[] = { "true", NULL };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), 0, "%s", err.msg);
}

Test (spawn, run_failure_names_program_and_status)
{
  const char *argv[] = { "false", NULL };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), -EIO);
  cr_assert_str_eq (err.msg, "false: exit status 1");
}

Test (spawn, run_failure_carries_stderr_on_one_line)
{
  const char *argv[] = { "sh", "-c", "echo one >&2; echo two >&2; "
                         "echo not this; exit 3", NULL };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), -EIO);
  cr_assert_str_eq (err.msg, "sh: exit status 3: one; two");
}

Test (spawn, run_keeps_only_the_end_of_stderr)
{
  const char *argv[] = { "sh", "-c", "i=0; while [ $i -lt 300 ]; do "
                         "printf 'line %03d\\n' $i >&2; i=$((i+1)); done; "
                         "echo LAST >&2; exit 1", NULL };
  struct v2v_error err = { 0 };
  size_t len;

  cr_assert_eq (spawn_run (argv, &err), -EIO);
  len = strlen (err.msg);
  cr_assert_eq (strcmp (err.msg + len - 4, "LAST"), 0, "%s", err.msg);
  cr_assert_null (strstr (err.msg, "line 000"), "the start is dropped");
  cr_assert_not_null (strstr (err.msg, "line 299"));
  cr_assert_lt (len, SPAWN_STDERR_TAIL + 200);
}

Test (spawn, run_stdin_is_dev_null)
{
  /* cat would wait for ever on a terminal or an open pipe. */
  const char *argv[] = { "sh", "-c", "test -z \"$(cat)\"", NULL };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), 0, "%s", err.msg);
}

Test (spawn, run_killed_by_signal)
{
  const char *argv[] = { "sh", "-c", "echo dying >&2; kill -TERM $$", NULL };
  struct v2v_error err = { 0 };
  sigset_t set;

  /* The agent blocks SIGTERM in its threads: the child must not. */
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigprocmask (SIG_BLOCK, &set, NULL);
  cr_assert_eq (spawn_run (argv, &err), -EIO);
  cr_assert_str_eq (err.msg, "sh: killed by signal 15: dying");
}

Test (spawn, run_missing_program_is_its_errno)
{
  const char *argv[] = { "/nonexistent/v2v-no-such-program", NULL };
  struct v2v_error err = { 0 };
  char want[256];

  cr_assert_eq (spawn_run (argv, &err), -ENOENT);
  snprintf (want, sizeof want, "%s: cannot run: %s", argv[0],
            strerror (ENOENT));
  cr_assert_str_eq (err.msg, want);
}

Test (spawn, run_not_executable_is_eacces)
{
  char path[] = "/tmp/test-spawn-XXXXXX";
  int fd = mkstemp (path);
  const char *argv[] = { path, NULL };
  struct v2v_error err = { 0 };

  cr_assert_geq (fd, 0);
  close (fd);
  cr_assert_eq (spawn_run (argv, &err), -EACCES, "%s", err.msg);
  unlink (path);
}

Test (spawn, run_with_stdio_closed)
{
  /* With 0 and 1 closed, a plain pipe2 returns them, and the child's
   * dup2 onto its stdout would close its stderr pipe.
   */
  const char *argv[] = { "sh", "-c", "echo oops >&2; exit 1", NULL };
  struct v2v_error err = { 0 };

  close (0);
  close (1);
  cr_assert_eq (spawn_run (argv, &err), -EIO);
  cr_assert_str_eq (err.msg, "sh: exit status 1: oops");
}

Test (spawn, start_and_wait)
{
  const char *argv[] = { "sh", "-c", "exit 7", NULL };
  pid_t pid = 0;
  int status = 0;

  cr_assert_eq (spawn_start (argv, &pid, NULL), 0);
  cr_assert_gt (pid, 0);
  cr_assert_eq (spawn_wait (pid, &status), 0);
  cr_assert (WIFEXITED (status));
  cr_assert_eq (WEXITSTATUS (status), 7);
  cr_assert_eq (spawn_wait (pid, &status), -ECHILD, "reaped once");
}

Test (spawn, start_missing_leaves_no_zombie)
{
  const char *argv[] = { "v2v-no-such-program", NULL };
  struct v2v_error err = { 0 };
  pid_t pid = 0;

  cr_assert_eq (spawn_start (argv, &pid, &err), -ENOENT);
  cr_assert_eq (pid, 0, "output untouched on failure");
  cr_assert_eq (waitpid (-1, NULL, WNOHANG), -1);
  cr_assert_eq (errno, ECHILD);
}

Test (spawn, try_wait_and_kill)
{
  const char *argv[] = { "sleep", "60", NULL };
  pid_t pid = 0;
  int status = 0;
  int64_t t0 = now_ms ();

  cr_assert_eq (spawn_start (argv, &pid, NULL), 0);
  cr_assert_eq (spawn_try_wait (pid, &status), 0, "still running");
  cr_assert_eq (spawn_kill (pid, 5000, &status), 1);
  cr_assert (WIFSIGNALED (status));
  cr_assert_eq (WTERMSIG (status), SIGKILL);
  cr_assert_lt (now_ms () - t0, 5000);
  cr_assert_eq (spawn_try_wait (pid, &status), -ECHILD);
}

/* The child of a process that dies is killed (PR_SET_PDEATHSIG).  This
 * test process is a subreaper, so the orphan comes back to it to reap.
 */
Test (spawn, child_dies_with_its_parent)
{
  int fds[2], status = 0;
  pid_t middle, grandchild = 0;

  cr_assert_eq (prctl (PR_SET_CHILD_SUBREAPER, 1), 0);
  cr_assert_eq (pipe (fds), 0);
  middle = fork ();
  cr_assert_geq (middle, 0);
  if (middle == 0) {
    const char *argv[] = { "sleep", "60", NULL };
    pid_t pid;

    if (spawn_start (argv, &pid, NULL) < 0 ||
        write (fds[1], &pid, sizeof pid) != sizeof pid)
      _exit (1);
    _exit (0);
  }
  close (fds[1]);
  cr_assert_eq (read (fds[0], &grandchild, sizeof grandchild),
                sizeof grandchild);
  cr_assert_eq (spawn_wait (middle, &status), 0);
  cr_assert_eq (spawn_wait (grandchild, &status), 0);
  cr_assert (WIFSIGNALED (status), "status 0x%x", (unsigned) status);
  cr_assert_eq (WTERMSIG (status), SIGKILL);
}

struct fork_args {
  int fd;
  int exit_code;
};

static void
fork_child (void *opaque)
{
  struct fork_args *a = opaque;
  pid_t info[2] = { getpid (), getpgid (0) };

  if (write (a->fd, info, sizeof info) != sizeof info)
    _exit (99);
  if (a->exit_code)
    _exit (a->exit_code);
}

Test (spawn, fork_runs_function_in_new_group)
{
  int fds[2], status = 0;
  pid_t pid = 0, info[2];
  struct fork_args a;

  cr_assert_eq (pipe (fds), 0);
  a.fd = fds[1];
  a.exit_code = 0;
  cr_assert_eq (spawn_fork (fork_child, &a, 1, &pid, NULL), 0);
  close (fds[1]);
  cr_assert_eq (read (fds[0], info, sizeof info), sizeof info);
  cr_assert_eq (info[0], pid);
  cr_assert_eq (info[1], pid, "leads its own process group");
  cr_assert_eq (getpgid (pid), pid, "as the parent sees it too");
  cr_assert_eq (spawn_wait (pid, &status), 0);
  cr_assert (WIFEXITED (status));
  cr_assert_eq (WEXITSTATUS (status), 0, "returning from FN is exit 0");
}

Test (spawn, fork_same_group_and_exit_code)
{
  int fds[2], status = 0;
  pid_t pid = 0, info[2];
  struct fork_args a;

  cr_assert_eq (pipe (fds), 0);
  a.fd = fds[1];
  a.exit_code = 5;
  cr_assert_eq (spawn_fork (fork_child, &a, 0, &pid, NULL), 0);
  close (fds[1]);
  cr_assert_eq (read (fds[0], info, sizeof info), sizeof info);
  cr_assert_eq (info[1], getpgid (0), "the parent's group");
  cr_assert_eq (spawn_wait (pid, &status), 0);
  cr_assert_eq (WEXITSTATUS (status), 5);
}

Test (spawn, start_fds_gives_stdout_and_stderr_to_the_caller)
{
  const char *argv[] = { "sh", "-c", "echo out; echo err >&2", NULL };
  int outp[2], errp[2], status = 0;
  char buf[64];
  pid_t pid = 0;
  ssize_t n;

  cr_assert_eq (pipe (outp), 0);
  cr_assert_eq (pipe (errp), 0);
  cr_assert_eq (spawn_start_fds (argv, outp[1], errp[1], &pid, NULL), 0);
  close (outp[1]);
  close (errp[1]);
  n = read (outp[0], buf, sizeof buf - 1);
  cr_assert_eq (n, 4);
  buf[n] = '\0';
  cr_assert_str_eq (buf, "out\n");
  n = read (errp[0], buf, sizeof buf - 1);
  cr_assert_eq (n, 4);
  buf[n] = '\0';
  cr_assert_str_eq (buf, "err\n");
  cr_assert_eq (spawn_wait (pid, &status), 0);
  cr_assert_eq (WEXITSTATUS (status), 0);
}

/* spawn: every child process goes through here.  Programs run from an
 * argv array (never a shell), with stdin and stdout on /dev/null; the
 * child gets SIGKILL if the thread that started it dies
 * (PR_SET_PDEATHSIG: an orphan writing to a disk after the agent has
 * gone would race with the next run), starts with no signal blocked,
 * and an exec failure comes back as its errno through a close-on-exec
 * pipe instead of as a guess from exit status 127.  Waits resume after
 * EINTR.
 *
 * This header shadows the C library's <spawn.h> on purpose: posix_spawn
 * and fork have no place outside spawn.c.
 */
#ifndef V2V_COMMON_SPAWN_H
#define V2V_COMMON_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* How much of a failed program's stderr spawn_run keeps: its end, which
 * is where programs say what went wrong.
 */
#define SPAWN_STDERR_TAIL 512

/* Run ARGV to completion, its stderr captured.  Returns 0 if it exited
 * with status 0; else -EIO with "ARGV0: exit status N: <last lines of
 * stderr, on one line>" (or "killed by signal N: ...") in ERR, or
 * -errno with "ARGV0: cannot run: <strerror>" if it could not be
 * executed at all.
 */
extern int spawn_run (const char *const *argv, struct v2v_error *err);

/* Start ARGV with stdin, stdout and stderr on /dev/null and return at
 * once with its pid in *RET_PID, once exec has succeeded.  Returns 0, or
 * -errno with "ARGV0: cannot run: ..." in ERR.  The caller reaps it
 * (spawn_wait, spawn_try_wait or spawn_kill).
 */
extern int spawn_start (const char *const *argv, pid_t *ret_pid,
                        struct v2v_error *err);

/* As spawn_start, with the child's stdout on OUT_FD and its stderr on
 * ERR_FD (each -1 for /dev/null), for a caller that reads them as the
 * child runs.  The caller closes its copies of the write ends.
 */
extern int spawn_start_fds (const char *const *argv, int out_fd, int err_fd,
                            pid_t *ret_pid, struct v2v_error *err);

/* Fork a child that calls FN (OPAQUE) and then _exit(0); FN may _exit
 * itself.  With NEW_PROCESS_GROUP the child leads its own group (set by
 * both sides, so there is no race with a kill of the group), so a signal
 * to the parent's group (Ctrl-C, timeout(1)) does not reach it.  Returns
 * 0 in the parent with the pid in *RET_PID, or -errno with ERR set.
 */
extern int spawn_fork (void (*fn) (void *opaque), void *opaque,
                       int new_process_group, pid_t *ret_pid,
                       struct v2v_error *err);

/* Wait for PID to end.  Returns 0 with its wait status in *RET_STATUS,
 * or -errno (-ECHILD: not our child, or already reaped).
 */
extern int spawn_wait (pid_t pid, int *ret_status);

/* Without blocking: 1 with *RET_STATUS if PID has ended (and is reaped),
 * 0 if it is still running, or -errno.
 */
extern int spawn_try_wait (pid_t pid, int *ret_status);

/* SIGKILL PID and reap it, waiting at most GRACE_MS: a process stuck in
 * the kernel (a qemu in a KVM ioctl) may not die at once, and a pod must
 * not hang on it; init reaps it then.  Returns 1 if it was reaped (with
 * *RET_STATUS, which may be NULL), else 0.
 */
extern int spawn_kill (pid_t pid, int64_t grace_ms, int *ret_status);

#endif /* V2V_COMMON_SPAWN_H */

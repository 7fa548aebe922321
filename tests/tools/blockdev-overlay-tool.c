/* A test driver for the blockdev overlays, standing in for a conversion:
 *
 *   blockdev-overlay-tool [--no-commit] TMPDIR DISK... -- CMD [ARG...]
 *       discover the DISKs (which must be writable), create the overlays
 *       in TMPDIR, run CMD with BLOCKDEV_OVERLAY_<N> set to the overlay of
 *       disk N, then commit if CMD succeeded (exit 0, or 1 if the commit
 *       failed) or discard if not (exit 2).  --no-commit stops after CMD,
 *       as if the conversion had been killed.
 *
 *   blockdev-overlay-tool --status TMPDIR DISK...
 *       exit 0 if TMPDIR holds no interrupted commit, else print it and
 *       exit 3.
 *
 *   blockdev-overlay-tool --recover TMPDIR DISK...
 *       finish an interrupted commit; print what was done.
 *
 * Errors are printed on stderr as the agent would log them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockdev.h"

static int
usage (void)
{
  fprintf (stderr,
           "usage: blockdev-overlay-tool [--no-commit] TMPDIR DISK... -- CMD...\n"
           "       blockdev-overlay-tool --status|--recover TMPDIR DISK...\n");
  return 64;
}

static int
run_command (const struct blockdev_list *list, char **argv)
{
  pid_t pid;
  int status;

  pid = fork ();
  if (pid == -1) {
    perror ("fork");
    return -1;
  }
  if (pid == 0) {
    for (size_t i = 0; i < list->nr_disks; i++) {
      char name[64];

      snprintf (name, sizeof name, "BLOCKDEV_OVERLAY_%u",
                list->disks[i].index);
      setenv (name, list->disks[i].overlay, 1);
    }
    execvp (argv[0], argv);
    perror (argv[0]);
    _exit (127);
  }
  if (waitpid (pid, &status, 0) == -1) {
    perror ("waitpid");
    return -1;
  }
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

int
main (int argc, char **argv)
{
  enum { CONVERT, STATUS, RECOVER } mode = CONVERT;
  struct blockdev_options opts = { .need_write = true };
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  char **cmd = NULL, *summary = NULL;
  const char *tmpdir;
  bool commit = true;
  int i = 1, r;

  for (; i < argc && strncmp (argv[i], "--", 2) == 0 && argv[i][2]; i++) {
    if (strcmp (argv[i], "--status") == 0)
      mode = STATUS;
    else if (strcmp (argv[i], "--recover") == 0)
      mode = RECOVER;
    else if (strcmp (argv[i], "--no-commit") == 0)
      commit = false;
    else
      return usage ();
  }
  if (argc - i < 2)
    return usage ();
  tmpdir = argv[i++];
  for (int k = i; k < argc; k++)
    if (strcmp (argv[k], "--") == 0) {
      argv[k] = NULL;
      cmd = &argv[k + 1];
      break;
    }
  if ((mode == CONVERT) != (cmd != NULL && cmd[0] != NULL))
    return usage ();
  opts.explicit_disks = &argv[i];

  if (blockdev_discover (&opts, &list, &err) < 0) {
    fprintf (stderr, "%s\n", err.msg);
    return 1;
  }

  switch (mode) {
  case STATUS:
    r = blockdev_overlay_recover (list, tmpdir, false, NULL, &err);
    blockdev_list_free (list);
    if (r == -EBUSY) {
      fprintf (stderr, "%s\n", err.msg);
      return 3;
    }
    if (r < 0) {
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
    return 0;

  case RECOVER:
    r = blockdev_overlay_recover (list, tmpdir, true, &summary, &err);
    blockdev_list_free (list);
    if (r < 0) {
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
    printf ("%s\n", r == 1 ? summary : "nothing to recover");
    free (summary);
    return 0;

  case CONVERT:
    break;
  }

  if (blockdev_overlay_create (list, tmpdir, &err) < 0) {
    fprintf (stderr, "%s\n", err.msg);
    blockdev_list_free (list);
    return 1;
  }
  for (size_t k = 0; k < list->nr_disks; k++)
    printf ("overlay %u %s\n", list->disks[k].index, list->disks[k].overlay);
  fflush (stdout);

  r = run_command (list, cmd);
  if (!commit) {
    blockdev_list_free (list);
    return r == 0 ? 0 : 2;
  }
  if (r != 0) {
    blockdev_overlay_discard (list);
    blockdev_list_free (list);
    return 2;
  }
  if (blockdev_overlay_commit (list, &err) < 0) {
    fprintf (stderr, "%s\n", err.msg);
    blockdev_overlay_discard (list);
    blockdev_list_free (list);
    return 1;
  }
  blockdev_list_free (list);
  return 0;
}

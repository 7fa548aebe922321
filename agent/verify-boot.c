/* One boot for v2v-agent verify: qemu's command line as KubeVirt would
 * build it, and the serial console watched until the guest says how it
 * is, shows that it will never say it, or the time is up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "health.h"
#include "spawn.h"
#include "string-table.h"
#include "strv.h"
#include "timeutil.h"
#include "verify.h"

static const char *const verify_verdict_table[] = {
  [VERIFY_HEALTHY] = "healthy", [VERIFY_UNHEALTHY] = "unhealthy",
  [VERIFY_NO_BOOT] = "no-boot", [VERIFY_TIMEOUT] = "timeout",
};
DEFINE_STRING_TABLE_LOOKUP (verify_verdict, enum verify_verdict, "unknown")

/* Console output after which the guest will not reach its health line,
 * checked as it arrives, so a failed boot costs seconds, not the whole
 * timeout.  In order: the first that matches names the stage (dracut's
 * emergency shell runs in the initramfs, systemd's in the real root).
 */
static const struct {
  const char *stage, *text;
} stages[] = {
  { "no-bootable-device", "No bootable device" },             /* SeaBIOS */
  { "no-bootable-device", "BdsDxe: No bootable option" },     /* OVMF */
  { "no-bootable-device", "failed to load Boot" },            /* OVMF */
  { "initramfs-shell", "Gave up waiting for root" },          /* initramfs-tools */
  { "initramfs-shell", "Dropping to a shell" },
  { "initramfs-shell", "Starting Dracut Emergency Shell" },
  { "initramfs-shell", "dracut Warning: Could not boot" },
  { "panic", "Kernel panic - not syncing" },
  { "emergency-mode", "You are in emergency mode" },
  { "emergency-mode", "Entering emergency mode" },
  { "emergency-mode", "Give root password for maintenance" },
};

const char *
verify_stage_of (const char *text, size_t len, const char **ret_seen)
{
  for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
    if (memmem (text, len, stages[i].text, strlen (stages[i].text))) {
      if (ret_seen)
        *ret_seen = stages[i].text;
      return stages[i].stage;
    }
  return NULL;
}

static int
argv_addf (char ***v, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static int
argv_addf (char ***v, const char *fmt, ...)
{
  va_list ap;
  char *s;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  return r < 0 ? -ENOMEM : strv_push (v, s);
}

/* As KubeVirt lays a q35 machine out: every PCIe device behind its own
 * root port (so a NIC is enp1s0-style), SATA on the chipset's AHCI,
 * qemu user networking with restrict=on (no way out), each NIC on a
 * network of its own (10.0.2.0/24, 10.0.3.0/24, ...) so their addresses
 * differ, a virtio RNG.
 */
char **
verify_qemu_argv (const struct verify_machine *m)
{
  char **v = NULL;
  unsigned port = 1;
  int ok = 0;
  const bool kvm = m->accel == ACCEL_KVM;

#define ADD(...) do { if (argv_addf (&v, __VA_ARGS__) < 0) goto fail; } while (0)
  ADD ("qemu-system-x86_64");
  ADD ("-nodefaults"); ADD ("-display"); ADD ("none"); ADD ("-no-reboot");
  ADD ("-serial"); ADD ("stdio"); ADD ("-monitor"); ADD ("none");
  ADD ("-machine"); ADD ("q35,accel=%s", kvm ? "kvm" : "tcg");
  ADD ("-cpu"); ADD ("%s", kvm ? "host" : "max");
  ADD ("-m"); ADD ("%u", m->memory_mib);
  ADD ("-smp"); ADD ("%u", m->cpus);
  if (m->firmware == VERIFY_EFI) {
    ADD ("-drive");
    ADD ("if=pflash,format=raw,readonly=on,file=" VERIFY_OVMF_CODE);
    ADD ("-drive"); ADD ("if=pflash,format=raw,file=%s", m->vars);
  }
  if (m->bus == VERIFY_BUS_SCSI) {
    ADD ("-device"); ADD ("pcie-root-port,id=rp%u,chassis=%u,bus=pcie.0",
                          port, port);
    ADD ("-device"); ADD ("virtio-scsi-pci,id=scsi0,bus=rp%u", port);
    port++;
  }
  for (size_t i = 0; i < m->nr_disks; i++) {
    char boot[64] = "";
    /* The boot disk first, then the others in their order. */
    if ((int) i == m->boot_disk)
      snprintf (boot, sizeof boot, ",bootindex=1");
    /* Scratch disks carry the serial the guest's fstab finds instance
     * store by (/dev/disk/by-id/virtio-ephemeralN; convert/linux/fstab.c). */
    else if (i >= m->first_scratch && m->first_scratch > 0 &&
             m->bus == VERIFY_BUS_VIRTIO)
      snprintf (boot, sizeof boot, ",serial=ephemeral%zu",
                i - m->first_scratch);
    ADD ("-drive");
    ADD ("file=%s,format=qcow2,if=none,id=d%zu,cache=unsafe", m->disks[i], i);
    switch (m->bus) {
    case VERIFY_BUS_VIRTIO:
      ADD ("-device"); ADD ("pcie-root-port,id=rp%u,chassis=%u,bus=pcie.0",
                            port, port);
      ADD ("-device"); ADD ("virtio-blk-pci,drive=d%zu,bus=rp%u%s", i, port,
                            boot);
      port++;
      break;
    case VERIFY_BUS_SATA:
      ADD ("-device"); ADD ("ide-hd,drive=d%zu,bus=ide.%zu%s", i, i, boot);
      break;
    case VERIFY_BUS_SCSI:
      ADD ("-device"); ADD ("scsi-hd,drive=d%zu,bus=scsi0.0,scsi-id=%zu%s",
                            i, i, boot);
      break;
    }
  }
  for (size_t i = 0; i < m->nr_nics; i++) {
    char mac[64] = "";
    if (m->macs[i])
      snprintf (mac, sizeof mac, ",mac=%s", m->macs[i]);
    ADD ("-netdev"); ADD ("user,id=n%zu,restrict=on,net=10.0.%zu.0/24", i,
                          i + 2);
    ADD ("-device"); ADD ("pcie-root-port,id=rp%u,chassis=%u,bus=pcie.0",
                          port, port);
    ADD ("-device"); ADD ("%s,netdev=n%zu,bus=rp%u%s",
                          m->nic_model == VERIFY_NIC_E1000E ? "e1000e"
                          : "virtio-net-pci", i, port, mac);
    port++;
  }
  ADD ("-device"); ADD ("pcie-root-port,id=rp%u,chassis=%u,bus=pcie.0",
                        port, port);
  ADD ("-device"); ADD ("virtio-rng-pci,bus=rp%u", port);
#undef ADD
  ok = 1;
fail:
  if (!ok) {
    strv_free (v);
    return NULL;
  }
  return v;
}

/* The last lines of the console, printable ASCII only. */
static void
console_tail (const char *buf, size_t len, char *out, size_t outlen)
{
  size_t start = len > outlen - 1 ? len - (outlen - 1) : 0, n = 0;

  for (size_t i = start; i < len && n + 1 < outlen; i++) {
    unsigned char c = (unsigned char) buf[i];
    if (c == '\n' || (c >= 0x20 && c < 0x7f))
      out[n++] = (char) c;
  }
  out[n] = '\0';
}

/* Append DATA (N < SIZE bytes) to the string BUF of *LEN bytes, keeping
 * its end: qemu says why it stopped last. */
static void
tail_append (char *buf, size_t size, size_t *len, const char *data, size_t n)
{
  if (*len + n > size - 1) {
    size_t drop = *len + n - (size - 1);
    memmove (buf, buf + drop, *len - drop);
    *len -= drop;
  }
  memcpy (buf + *len, data, n);
  *len += n;
  buf[*len] = '\0';
}

/* The console is kept in a window this big; a health line is far
 * shorter. */
#define WINDOW (256 * 1024)

int
verify_boot_run (char *const *argv, unsigned timeout_s, int log_fd,
                 struct verify_outcome *out, struct v2v_error *err)
{
  int outp[2], errp[2];
  CLEANUP_FREE char *win = malloc (WINDOW);
  char errbuf[2048] = "";
  size_t wlen = 0, elen = 0;
  const double t0 = now_s ();
  double bad_line_at = 0;
  bool exited = false, done = false;
  int status = 0;
  pid_t pid;

  memset (out, 0, sizeof *out);
  out->verdict = VERIFY_TIMEOUT;
  snprintf (out->reason, sizeof out->reason, "no health line in %u s",
            timeout_s);
  if (win == NULL)
    return v2v_error_set (err, -ENOMEM, "verify");
  if (pipe2 (outp, O_CLOEXEC) == -1)
    return v2v_error_errno (err, -errno, "pipe");
  if (pipe2 (errp, O_CLOEXEC) == -1) {
    int e = -errno;
    close (outp[0]);
    close (outp[1]);
    return v2v_error_errno (err, e, "pipe");
  }
  {
    /* The console on one pipe, qemu's complaints on the other. */
    int r = spawn_start_fds ((const char *const *) argv, outp[1], errp[1],
                             &pid, err);
    if (r < 0) {
      close (outp[0]); close (outp[1]); close (errp[0]); close (errp[1]);
      return r;
    }
  }
  close (outp[1]);
  close (errp[1]);

  while (!done) {
    double left = timeout_s - (now_s () - t0);
    struct pollfd fds[2] = {
      { .fd = outp[0], .events = POLLIN }, { .fd = errp[0], .events = POLLIN },
    };
    int nfds = errp[0] >= 0 ? 2 : 1;

    if (left <= 0)
      break;
    if (poll (fds, nfds, left < 1 ? (int) (left * 1000) + 1 : 1000) == -1 &&
        errno != EINTR)
      break;
    if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP))) {
      char tmp[1024];
      ssize_t r = read (errp[0], tmp, sizeof tmp);
      if (r <= 0) {
        close (errp[0]);
        errp[0] = -1;
      }
      else {
        tail_append (errbuf, sizeof errbuf, &elen, tmp, (size_t) r);
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char chunk[65536];
      ssize_t r = read (outp[0], chunk, sizeof chunk);
      if (r <= 0) {
        /* qemu is gone, or about to be: reaped within 10 s, else killed
         * below. */
        for (int i = 0; i < 200 && !exited; i++) {
          int w = spawn_try_wait (pid, &status);
          if (w != 0)
            exited = true;      /* ended, or not ours to wait for */
          else
            usleep (50000);
        }
        break;
      }
      if (log_fd >= 0 && write (log_fd, chunk, (size_t) r) < 0)
        log_fd = -1;
      /* CHUNK is smaller than the window. */
      if (wlen + (size_t) r > WINDOW) {
        size_t drop = wlen + (size_t) r - WINDOW;
        memmove (win, win + drop, wlen - drop);
        wlen -= drop;
      }
      memcpy (win + wlen, chunk, (size_t) r);
      wlen += (size_t) r;

      struct json_object *h = NULL;
      struct v2v_error herr = { 0 };
      const char *seen = NULL, *stage;
      int found = health_line_find (win, wlen, &h, &herr);
      if (found == 1) {
        out->health = h;
        if (health_report_healthy (h)) {
          out->verdict = VERIFY_HEALTHY;
          snprintf (out->reason, sizeof out->reason, "the probe reports "
                    "healthy");
        }
        else {
          char problems[900];
          health_report_problems (h, problems, sizeof problems);
          out->verdict = VERIFY_UNHEALTHY;
          snprintf (out->reason, sizeof out->reason, "%s", problems);
        }
        done = true;
      }
      else if (found < 0 && bad_line_at == 0) {
        /* A line that does not parse may be the kernel log's shortened
         * copy, with the whole one still to come: give it a while. */
        bad_line_at = now_s ();
        snprintf (out->reason, sizeof out->reason, "%s", herr.msg);
      }
      else if ((stage = verify_stage_of (win, wlen, &seen)) != NULL) {
        out->verdict = VERIFY_NO_BOOT;
        out->stage = stage;
        snprintf (out->reason, sizeof out->reason, "the console shows \"%s\"",
                  seen);
        done = true;
      }
    }
    if (!done && bad_line_at > 0 && now_s () - bad_line_at > 15) {
      /* The reason holds the parse error already. */
      out->verdict = VERIFY_UNHEALTHY;
      done = true;
    }
  }

  /* What qemu said last, now that it has ended. */
  for (int i = 0; exited && errp[0] >= 0 && i < 64; i++) {
    char tmp[1024];
    ssize_t r = read (errp[0], tmp, sizeof tmp);
    if (r <= 0)
      break;
    tail_append (errbuf, sizeof errbuf, &elen, tmp, (size_t) r);
  }
  if (exited && !done) {
    out->verdict = VERIFY_NO_BOOT;
    if (WIFSIGNALED (status) &&
        (WTERMSIG (status) == SIGSEGV || WTERMSIG (status) == SIGBUS ||
         WTERMSIG (status) == SIGILL || WTERMSIG (status) == SIGFPE ||
         WTERMSIG (status) == SIGABRT))
      out->crash_signal = WTERMSIG (status);
    if (wlen == 0 && WIFEXITED (status) && WEXITSTATUS (status) != 0) {
      /* Nothing on the console: qemu itself refused to start. */
      while (elen > 0 && (errbuf[elen - 1] == '\n' || errbuf[elen - 1] == '\r'))
        errbuf[--elen] = '\0';
      close (outp[0]);
      if (errp[0] >= 0)
        close (errp[0]);
      return v2v_error_set (err, -EIO, "qemu exited with status %d: %s",
                            WEXITSTATUS (status),
                            *errbuf ? errbuf : "no message");
    }
    out->stage = "reset";
    snprintf (out->reason, sizeof out->reason,
              "qemu exited (%s %d) before the health line: the guest reset "
              "or powered off%s%.512s",
              WIFSIGNALED (status) ? "signal" : "status",
              WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status),
              *errbuf ? "; qemu: " : "", errbuf);
  }
  /* Killed and reaped, bounded: a qemu stuck in the kernel is left to
   * init rather than hang verify. */
  if (!exited)
    spawn_kill (pid, 5000, NULL);
  close (outp[0]);
  if (errp[0] >= 0)
    close (errp[0]);
  console_tail (win, wlen, out->console_tail, sizeof out->console_tail);
  out->seconds = now_s () - t0;
  return 0;
}

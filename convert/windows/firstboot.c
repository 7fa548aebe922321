/* First boot: install the VirtIO drivers into the driver store with
 * pnputil (so every VirtIO device, not only the boot disk, gets its
 * driver), qemu-ga if its MSI was copied, and uninstall the AWS PV
 * drivers if their uninstaller is registered.
 *
 * The mechanism needs no binary that Debian cannot supply (no srvany):
 * a service whose ImagePath is cmd.exe, which starts the script
 * detached and exits.  The service control manager then logs that the
 * service did not start (cmd.exe is not a service), which is harmless;
 * the script runs on.  It is retried at each boot while a reboot is
 * pending or a step failed, at most FIRSTBOOT_MAX_ATTEMPTS times, then
 * it disables its own service.  After the installs of each attempt it
 * runs the health probe (health-probe.ps1), which prints the V2V-HEALTH
 * line on COM1.  See docs/windows.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windows.h"

#define FIRSTBOOT_MAX_ATTEMPTS 5
#define SCRIPT_NAME "v2v-firstboot.cmd"
/* The health probe the script runs after its installs: health-probe.ps1
 * of the tree, embedded at build time. */
#define HEALTH_NAME "v2v-health.ps1"

extern const char convert_health_probe_ps1[];
extern const size_t convert_health_probe_ps1_len;

/* The script holds nothing from the guest but the PV uninstaller's
 * product code, which inspection checked to be exactly a {GUID}. */
static char *
script (const struct guest_windows *w)
{
  char *s = NULL;
  char msi[128] = "", uninstall[256] = "";

  if (w->qemu_ga_msi)
    snprintf (msi, sizeof msi, "%s", strrchr (w->qemu_ga_msi, '/') + 1);
  if (w->pv_uninstall_guid)
    snprintf (uninstall, sizeof uninstall, "%s", w->pv_uninstall_guid);

  if (asprintf (&s,
"@echo off\r\n"
"rem v2v-kubevirt first boot (docs/windows.md): pnputil over the VirtIO\r\n"
"rem drivers, qemu-ga, the AWS PV drivers' uninstaller.  Retried at each\r\n"
"rem boot until it succeeds, at most %d times.\r\n"
"setlocal EnableExtensions EnableDelayedExpansion\r\n"
"set \"V2VDIR=%%SystemRoot%%\\Drivers\\VirtIO\"\r\n"
"set \"STATE=%%SystemDrive%%\\ProgramData\\v2v-kubevirt\"\r\n"
"set \"LOG=%%STATE%%\\firstboot.log\"\r\n"
"set \"SVC=HKLM\\SYSTEM\\CurrentControlSet\\Services\\" WIN_FIRSTBOOT_SERVICE "\"\r\n"
"set MAX=%d\r\n"
"set \"QEMUGA=%s\"\r\n"
"set \"PVUNINSTALL=%s\"\r\n"
"if not exist \"%%STATE%%\" mkdir \"%%STATE%%\"\r\n"
"set ATTEMPT=0\r\n"
"if exist \"%%STATE%%\\firstboot.attempts\" set /p ATTEMPT=<\"%%STATE%%\\firstboot.attempts\"\r\n"
"set /a ATTEMPT=ATTEMPT+1\r\n"
">\"%%STATE%%\\firstboot.attempts\" echo !ATTEMPT!\r\n"
">>\"%%LOG%%\" echo %%DATE%% %%TIME%% attempt !ATTEMPT! of %%MAX%%\r\n"
"if !ATTEMPT! GTR %%MAX%% (\r\n"
"  >>\"%%LOG%%\" echo giving up after %%MAX%% attempts\r\n"
"  goto disable\r\n"
")\r\n"
"reg query \"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending\" >nul 2>&1 && goto pending\r\n"
"reg query \"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired\" >nul 2>&1 && goto pending\r\n"
"set FAILED=0\r\n"
"for %%%%F in (\"%%V2VDIR%%\\*.inf\") do (\r\n"
"  \"%%SystemRoot%%\\System32\\pnputil.exe\" -i -a \"%%%%~fF\" >>\"%%LOG%%\" 2>&1\r\n"
"  set RC=!ERRORLEVEL!\r\n"
"  rem 259: added, but no device uses it yet; 3010: reboot needed\r\n"
"  if not \"!RC!\"==\"0\" if not \"!RC!\"==\"259\" if not \"!RC!\"==\"3010\" (\r\n"
"    >>\"%%LOG%%\" echo pnputil %%%%~nxF failed: !RC!\r\n"
"    set FAILED=1\r\n"
"  )\r\n"
")\r\n"
"if not \"%%QEMUGA%%\"==\"\" if exist \"%%V2VDIR%%\\%%QEMUGA%%\" (\r\n"
"  \"%%SystemRoot%%\\System32\\msiexec.exe\" /i \"%%V2VDIR%%\\%%QEMUGA%%\" /qn /norestart /l*v \"%%STATE%%\\qemu-ga-install.log\"\r\n"
"  set RC=!ERRORLEVEL!\r\n"
"  if not \"!RC!\"==\"0\" if not \"!RC!\"==\"3010\" if not \"!RC!\"==\"1641\" (\r\n"
"    >>\"%%LOG%%\" echo qemu-ga install failed: !RC!\r\n"
"    set FAILED=1\r\n"
"  )\r\n"
")\r\n"
"if not \"%%PVUNINSTALL%%\"==\"\" (\r\n"
"  \"%%SystemRoot%%\\System32\\msiexec.exe\" /x %%PVUNINSTALL%% /qn /norestart /l*v \"%%STATE%%\\pv-uninstall.log\"\r\n"
"  set RC=!ERRORLEVEL!\r\n"
"  rem 1605: not installed (any more)\r\n"
"  if not \"!RC!\"==\"0\" if not \"!RC!\"==\"3010\" if not \"!RC!\"==\"1641\" if not \"!RC!\"==\"1605\" (\r\n"
"    >>\"%%LOG%%\" echo AWS PV drivers uninstall failed: !RC!\r\n"
"    set FAILED=1\r\n"
"  )\r\n"
")\r\n"
"rem The health line on COM1 (docs/agent-run.md), after the installs.\r\n"
"call :health !FAILED!\r\n"
"if !FAILED! NEQ 0 (\r\n"
"  >>\"%%LOG%%\" echo some steps failed: retrying at the next boot\r\n"
"  exit /b 1\r\n"
")\r\n"
">>\"%%LOG%%\" echo done\r\n"
":disable\r\n"
"reg add \"%%SVC%%\" /v Start /t REG_DWORD /d 4 /f >>\"%%LOG%%\" 2>&1\r\n"
"exit /b 0\r\n"
":pending\r\n"
">>\"%%LOG%%\" echo a reboot is pending: retrying at the next boot\r\n"
"call :health 0 -Pending\r\n"
"exit /b 0\r\n"
":health\r\n"
"if not exist \"%%V2VDIR%%\\" HEALTH_NAME "\" exit /b 0\r\n"
"\"%%SystemRoot%%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \"%%V2VDIR%%\\" HEALTH_NAME "\" -Attempt !ATTEMPT! -Failed %%1 %%2 >>\"%%LOG%%\" 2>&1\r\n"
"exit /b 0\r\n",
                FIRSTBOOT_MAX_ATTEMPTS, FIRSTBOOT_MAX_ATTEMPTS, msi,
                uninstall) < 0)
    return NULL;
  return s;
}

static int
edit_system (struct win_reg *reg, void *opaque, struct v2v_error *err)
{
  const struct guest_windows *w = opaque;
  char cs[32], key[256];

  win_control_set (w, cs, sizeof cs);
  snprintf (key, sizeof key, "%s\\Services\\" WIN_FIRSTBOOT_SERVICE, cs);
  /* Own process (0x10), automatic start (2), errors ignored (0). */
  if (win_reg_set_dword (reg, key, "Type", 0x10, err) < 0 ||
      win_reg_set_dword (reg, key, "Start", 2, err) < 0 ||
      win_reg_set_dword (reg, key, "ErrorControl", 0, err) < 0 ||
      win_reg_set_string (reg, key, "ImagePath", REG_EXPAND_SZ_T,
                          "%SystemRoot%\\System32\\cmd.exe /c start "
                          "\"v2v-firstboot\" /b %SystemRoot%\\System32\\"
                          "cmd.exe /c %SystemRoot%\\Drivers\\VirtIO\\"
                          SCRIPT_NAME, err) < 0 ||
      win_reg_set_string (reg, key, "ObjectName", REG_SZ_T, "LocalSystem",
                          err) < 0 ||
      win_reg_set_string (reg, key, "DisplayName", REG_SZ_T,
                          "v2v-kubevirt first boot", err) < 0)
    return err->code;
  return 0;
}

static bool
firstboot_applies (struct convert_ctx *ctx, char *why, size_t len)
{
  const struct guest_windows *w = win_guest (ctx->guest);

  snprintf (why, len, "service " WIN_FIRSTBOOT_SERVICE " runs "
            SCRIPT_NAME ": pnputil -i -a on the VirtIO drivers%s%s%s",
            w->qemu_ga_msi ? ", qemu-ga" : "",
            w->pv_uninstall_guid ? ", AWS PV drivers uninstall" : "",
            ctx->opts->health_probe != CONVERT_PROBE_NO
            ? ", the health line on COM1" : "");
  return true;
}

static int
firstboot_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  const struct guest_windows *w = win_guest (ctx->guest);
  CLEANUP_FREE char *text = script (w);
  CLEANUP_FREE char *sr = guestfs_case_sensitive_path (g, w->systemroot);
  char path[4096];
  int r;

  if (text == NULL)
    return v2v_error_set (err, -ENOMEM, "firstboot script");
  if (sr == NULL)
    return convert_internal_gerror (g, err, "case_sensitive_path",
                                    w->systemroot);
  snprintf (path, sizeof path, "%s/" WIN_VIRTIO_DIR "/" SCRIPT_NAME, sr);
  r = convert_internal_write (ctx, path, text, strlen (text),
                              "first boot script: pnputil, qemu-ga",
                              err);
  if (r < 0)
    return r;
  if (ctx->opts->health_probe != CONVERT_PROBE_NO) {
    snprintf (path, sizeof path, "%s/" WIN_VIRTIO_DIR "/" HEALTH_NAME, sr);
    r = convert_internal_write (ctx, path, convert_health_probe_ps1,
                                convert_health_probe_ps1_len,
                                "the health probe the first boot script "
                                "runs (a V2V-HEALTH line on COM1)", err);
    if (r < 0)
      return r;
  }
  return win_reg_edit (ctx, w->system_hive, "SYSTEM",
                       "first boot service " WIN_FIRSTBOOT_SERVICE,
                       edit_system, (void *) w, err);
}

const struct convert_step convert_step_win_firstboot = {
  .name = "firstboot",
  .applies = firstboot_applies,
  .apply = firstboot_apply,
};

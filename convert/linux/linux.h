/* convert/linux/ internals: the Linux family's own guest model (its
 * kernels and initramfs tool, kernel.c), and the facts modules its steps
 * read.  Not a public header.
 */
#ifndef V2V_CONVERT_LINUX_H
#define V2V_CONVERT_LINUX_H

#include <stdbool.h>
#include <sys/types.h>

#include "../internal.h"

enum guest_initramfs_tool { INITRAMFS_NONE, INITRAMFS_TOOLS, INITRAMFS_DRACUT,
                            INITRAMFS_MKINITRD };

struct guest_kernel {
  char *version;                /* validated: [A-Za-z0-9._+~-] only */
  char *vmlinuz;                /* /boot/vmlinuz-VERSION */
  char *initrd;                 /* path, or NULL if missing */
  bool virtio_capable;          /* virtio_blk + virtio_pci modules or =y */
  bool xen_pv_only;
  bool initrd_has_virtio;       /* virtio_blk and virtio_pci in the initrd */
  bool initrd_checked;
  char *initrd_listing;         /* the lister's output, cached; NULL until
                                 * read, and again after a rebuild */
};

/* guest->os_data of a Linux guest: what kernel.c knows. */
struct guest_linux {
  size_t nr_kernels;
  struct guest_kernel *kernels;
  ssize_t default_kernel;       /* index in kernels, -1 if none */
  enum guest_initramfs_tool initramfs_tool;
};

static inline struct guest_linux *
linux_guest (const struct guest *guest)
{
  return guest->os_data;
}

/* The default kernel (the newest that can boot on virtio), or NULL. */
static inline struct guest_kernel *
linux_default_kernel (const struct guest *guest)
{
  struct guest_linux *l = linux_guest (guest);

  return l && l->default_kernel >= 0 ? &l->kernels[l->default_kernel] : NULL;
}

/* kernel.c: everything this project knows about Linux kernels and their
 * initramfs.  The model is built by linux_kernels_inspect, read-only. */
extern int linux_kernels_inspect (struct convert_ctx *ctx,
                                  struct v2v_error *err);
extern void linux_kernels_free (struct guest_linux *l);
extern void linux_kernels_json (const struct guest_linux *l,
                                struct json_object *o);
extern bool convert_internal_valid_kernel_version (const char *v);
/* Is MODULE (CONFIG its config symbol) built into kernel VER: =y in
 * /boot/config-VER or listed in modules.builtin? */
extern bool linux_kernel_builtin (struct convert_ctx *ctx, const char *ver,
                                  const char *config, const char *module);
/* How kernel VER provides a driver. */
enum kernel_driver { KDRV_NONE, KDRV_BUILTIN, KDRV_MODULE };
extern enum kernel_driver linux_kernel_driver (struct convert_ctx *ctx,
                                               const char *ver,
                                               const char *config,
                                               const char *module);
/* The initrd's file list by the guest's own lister (NULL if it cannot
 * tell; read once and kept in K until a rebuild, not to be freed), and a
 * module in such a list. */
extern const char *linux_initrd_listing (struct convert_ctx *ctx,
                                         struct guest_kernel *k);
extern bool linux_listing_has (const char *listing, const char *module);
/* Does the default kernel's initrd carry virtio_blk and virtio_pci (or
 * are they built in)?  Checked once, cached in the kernel. */
extern bool linux_initrd_has_virtio (struct convert_ctx *ctx,
                                     struct guest_kernel *k);
/* Add MODULES to the guest's initramfs configuration, persistently, and
 * rebuild the default kernel's initramfs with the guest's own tool.  WHY
 * ends up in the comments written to the guest; CONF_NAME names the
 * dracut drop-in. */
extern int linux_initramfs_add (struct convert_ctx *ctx,
                                const char *const *modules,
                                const char *conf_name, const char *why,
                                struct v2v_error *err);
/* --compat: can the default kernel K boot from SATA with an e1000e NIC? */
extern void linux_kernel_preflight (struct convert_ctx *ctx,
                                    struct guest_kernel *k,
                                    struct preflight *pf);

/* inspect.c: os-release, distribution, architecture, fstab and mounts,
 * free space, kernels, facts; the Linux refusals. */
extern enum convert_status linux_inspect (struct guest *guest,
                                          const char *os_release,
                                          struct v2v_error *err);

/* The facts modules (each in the file of the step that reads it). */
extern const struct convert_facts linux_boot_facts;      /* bootloader.c */
extern const struct convert_facts linux_net_facts;       /* netfacts.c */
extern const struct convert_facts linux_cloudinit_facts; /* cloudinit.c */
extern const struct convert_facts linux_agent_facts;     /* agents.c */
extern const struct convert_facts linux_selinux_facts;   /* selinux.c */

/* agents.c: the AWS agent units installed (strv, not to be freed), or
 * NULL: the aws-agents step's facts, which the health probe reads too. */
extern char *const *linux_agent_units (const struct guest *guest);

/* netfacts.c: the network systems and NIC names the config names. */
struct linux_net_facts {
  unsigned systems;             /* NET_* bits */
  char **nic_names;             /* old NIC names from the config, strv */
};

#endif /* V2V_CONVERT_LINUX_H */

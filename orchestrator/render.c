/* The Kubernetes objects of a migrated VM: pre-bound PV and PVC per
 * disk, the conversion Job, the KubeVirt VirtualMachine.  Pure functions
 * of the plan and what EC2 and the agent said, so that they can be
 * checked against the strict schemas without a cluster.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "orch.h"

#define S(s) json_object_new_string (s)
#define ADD(o, k, v) json_object_object_add ((o), (k), (v))

void
orch_quantity_gib (int64_t gib, char *out, size_t len)
{
  snprintf (out, len, "%" PRIi64 "Gi", gib > 0 ? gib : 1);
}

static struct json_object *
labels (const struct plan *p, const struct orch_vm *vm,
        const struct orch_disk *d)
{
  struct json_object *l = json_object_new_object ();

  ADD (l, ORCH_LABEL_PLAN, S (p->name));
  ADD (l, ORCH_LABEL_VM, S (vm->id));
  if (d)
    ADD (l, ORCH_LABEL_VOLUME, S (d->src_volume));
  ADD (l, "app.kubernetes.io/managed-by", S ("v2v-orchestrator"));
  return l;
}

static struct json_object *
metadata (const char *name, const char *ns, struct json_object *labels_)
{
  struct json_object *m = json_object_new_object ();

  ADD (m, "name", S (name));
  if (ns)
    ADD (m, "namespace", S (ns));
  ADD (m, "labels", labels_);
  return m;
}

static struct json_object *
object (const char *api, const char *kind, struct json_object *meta)
{
  struct json_object *o = json_object_new_object ();

  ADD (o, "apiVersion", S (api));
  ADD (o, "kind", S (kind));
  ADD (o, "metadata", meta);
  return o;
}

static struct json_object *
strings (const char *first, ...)
{
  struct json_object *a = json_object_new_array ();
  va_list ap;

  va_start (ap, first);
  for (const char *s = first; s; s = va_arg (ap, const char *))
    json_object_array_add (a, S (s));
  va_end (ap);
  return a;
}

static struct json_object *
zone_affinity (const struct plan *p)
{
  struct json_object *expr = json_object_new_object ();
  struct json_object *term = json_object_new_object ();
  struct json_object *exprs = json_object_new_array ();
  struct json_object *terms = json_object_new_array ();
  struct json_object *req = json_object_new_object ();
  struct json_object *na = json_object_new_object ();

  ADD (expr, "key", S ("topology.kubernetes.io/zone"));
  ADD (expr, "operator", S ("In"));
  ADD (expr, "values", strings (p->target_az, NULL));
  json_object_array_add (exprs, expr);
  ADD (term, "matchExpressions", exprs);
  json_object_array_add (terms, term);
  ADD (req, "nodeSelectorTerms", terms);
  ADD (na, "required", req);
  return na;
}

struct json_object *
orch_render_pv (const struct plan *p, const struct orch_vm *vm,
                const struct orch_disk *d)
{
  struct json_object *spec = json_object_new_object ();
  struct json_object *cap = json_object_new_object ();
  struct json_object *csi = json_object_new_object ();
  struct json_object *claim = json_object_new_object ();
  struct json_object *o = object ("v1", "PersistentVolume",
                                  metadata (d->pv, NULL, labels (p, vm, d)));
  char size[32];

  orch_quantity_gib (d->size_gib, size, sizeof size);
  ADD (cap, "storage", S (size));
  ADD (spec, "capacity", cap);
  ADD (spec, "accessModes", strings ("ReadWriteOnce", NULL));
  ADD (spec, "volumeMode", S ("Block"));
  /* Retain: the volume is the migrated VM's disk; deleting a PVC by
   * mistake must not delete it.
   */
  ADD (spec, "persistentVolumeReclaimPolicy", S ("Retain"));
  const char *sc = plan_storage_class (p, d->type);
  if (sc)
    ADD (spec, "storageClassName", S (sc));
  ADD (csi, "driver", S ("ebs.csi.aws.com"));
  ADD (csi, "volumeHandle", S (d->volume));
  ADD (spec, "csi", csi);
  /* Pre-bound: no other claim can take it, and the claim binds to
   * nothing else.
   */
  ADD (claim, "apiVersion", S ("v1"));
  ADD (claim, "kind", S ("PersistentVolumeClaim"));
  ADD (claim, "namespace", S (p->target_namespace));
  ADD (claim, "name", S (d->pvc));
  ADD (spec, "claimRef", claim);
  ADD (spec, "nodeAffinity", zone_affinity (p));
  ADD (o, "spec", spec);
  return o;
}

struct json_object *
orch_render_pvc (const struct plan *p, const struct orch_vm *vm,
                 const struct orch_disk *d)
{
  struct json_object *spec = json_object_new_object ();
  struct json_object *res = json_object_new_object ();
  struct json_object *req = json_object_new_object ();
  struct json_object *o = object ("v1", "PersistentVolumeClaim",
                                  metadata (d->pvc, p->target_namespace,
                                            labels (p, vm, d)));
  char size[32];

  orch_quantity_gib (d->size_gib, size, sizeof size);
  ADD (spec, "accessModes", strings ("ReadWriteOnce", NULL));
  ADD (spec, "volumeMode", S ("Block"));
  const char *sc = plan_storage_class (p, d->type);
  /* "" rather than absent: no default StorageClass may provision a
   * second volume for this claim.
   */
  ADD (spec, "storageClassName", S (sc ? sc : ""));
  ADD (spec, "volumeName", S (d->pv));
  ADD (req, "storage", S (size));
  ADD (res, "requests", req);
  ADD (spec, "resources", res);
  ADD (o, "spec", spec);
  return o;
}

static struct json_object *
env_field (const char *name, const char *path)
{
  struct json_object *e = json_object_new_object ();
  struct json_object *vf = json_object_new_object ();
  struct json_object *fr = json_object_new_object ();

  ADD (fr, "fieldPath", S (path));
  ADD (vf, "fieldRef", fr);
  ADD (e, "name", S (name));
  ADD (e, "valueFrom", vf);
  return e;
}

static struct json_object *
env_value (const char *name, const char *value)
{
  struct json_object *e = json_object_new_object ();

  ADD (e, "name", S (name));
  ADD (e, "value", S (value));
  return e;
}

/* The NICs the VM gets: those whose subnet the network map does not
 * ignore.  Their target network, or NULL.
 */
static const struct plan_net *
vm_nic_network (const struct plan *p, const struct orch_nic *nic)
{
  const struct plan_net *n = plan_network (p, nic->subnet);

  return n == NULL || n->target == NET_IGNORED ? NULL : n;
}

/* A block device mapping's DeviceName as the agent takes it: many AMIs
 * call the root device "/dev/sda1", which on EC2 names the whole volume.
 */
static void
device_name (const char *dev, char *out, size_t len)
{
  size_t n = strlen (dev);

  if (strncmp (dev, "/dev/", 5) == 0)
    while (n > 5 && dev[n - 1] >= '0' && dev[n - 1] <= '9')
      n--;
  snprintf (out, len, "%.*s", (int) n, dev);
}

char *
orch_render_device_map (const struct plan *p, const struct orch_vm *vm)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  char dev[32];

  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < vm->nr_disks; i++) {
    device_name (vm->disks[i].device, dev, sizeof dev);
    fprintf (f, "disk %zu=%s,%s\n", i, dev, vm->disks[i].src_volume);
  }
  /* Instance store: the VM disks after the EBS ones (orch_render_vm). */
  for (size_t k = 0; k < vm->nr_scratch; k++) {
    fprintf (f, "disk %zu=ephemeral%zu", vm->nr_disks + k, k);
    if (vm->scratch[k].device[0]) {
      device_name (vm->scratch[k].device, dev, sizeof dev);
      fprintf (f, ",%s", dev);
    }
    fputc ('\n', f);
  }
  for (size_t i = 0; i < vm->nr_nics; i++)
    if (vm_nic_network (p, &vm->nics[i]))
      fprintf (f, "nic %d=%s\n", vm->nics[i].device_index, vm->nics[i].mac);
  if (fclose (f) != 0) {
    free (buf);
    return NULL;
  }
  return buf;
}

struct json_object *
orch_render_job (const struct plan *p, const struct orch_vm *vm)
{
  struct json_object *spec = json_object_new_object ();
  struct json_object *tmpl = json_object_new_object ();
  struct json_object *tmeta = json_object_new_object ();
  struct json_object *pspec = json_object_new_object ();
  struct json_object *c = json_object_new_object ();
  struct json_object *env = json_object_new_array ();
  struct json_object *devs = json_object_new_array ();
  struct json_object *vols = json_object_new_array ();
  struct json_object *mounts = json_object_new_array ();
  struct json_object *args = strings ("run", NULL);
  struct json_object *o = object ("batch/v1", "Job",
                                  metadata (vm->job, p->target_namespace,
                                            labels (p, vm, NULL)));

  /* The agent reports its own failures; a retry would only repeat them
   * on the same disks.
   */
  ADD (spec, "backoffLimit", json_object_new_int (0));
  ADD (spec, "ttlSecondsAfterFinished", json_object_new_int (86400));
  ADD (tmeta, "labels", labels (p, vm, NULL));
  ADD (tmpl, "metadata", tmeta);

  ADD (pspec, "restartPolicy", S ("Never"));
  ADD (pspec, "serviceAccountName", S (p->agent_service_account));
  struct json_object *ns = json_object_new_object ();
  ADD (ns, "topology.kubernetes.io/zone", S (p->target_az));
  ADD (pspec, "nodeSelector", ns);
  struct json_object *psc = json_object_new_object ();
  /* uid 107 is qemu in the image, as in Forklift's. */
  ADD (psc, "runAsNonRoot", json_object_new_boolean (true));
  ADD (psc, "runAsUser", json_object_new_int (107));
  ADD (psc, "runAsGroup", json_object_new_int (107));
  ADD (psc, "fsGroup", json_object_new_int (107));
  ADD (pspec, "securityContext", psc);

  ADD (c, "name", S ("agent"));
  ADD (c, "image", S (p->conversion_image ? p->conversion_image
                      : "v2v-agent"));
  ADD (c, "command", strings ("v2v-agent", NULL));
  if (p->use_compatibility_mode)
    json_object_array_add (args, S ("--compat=fix"));
  if (p->install_legacy_drivers) {
    json_object_array_add (args, S ("--legacy-drivers"));
    json_object_array_add (args, S ("yes"));
  }
  /* A static EC2 address cannot work behind the pod network's
   * masquerade: the agent switches such NICs to DHCP.
   */
  for (size_t i = 0; i < vm->nr_nics; i++) {
    const struct plan_net *n = vm_nic_network (p, &vm->nics[i]);
    if (n && n->target == NET_POD) {
      json_object_array_add (args, S ("--network=dhcp"));
      break;
    }
  }
  ADD (c, "args", args);
  json_object_array_add (env, env_field ("POD_NAME", "metadata.name"));
  json_object_array_add (env, env_field ("POD_NAMESPACE", "metadata.namespace"));
  json_object_array_add (env, env_field ("POD_UID", "metadata.uid"));
  json_object_array_add (env, env_field ("NODE_NAME", "spec.nodeName"));
  json_object_array_add (env, env_value ("V2V_source", "ec2"));
  json_object_array_add (env, env_value ("V2V_vmName", vm->id));
  json_object_array_add (env, env_value ("V2V_NewName", vm->name));
  CLEANUP_FREE char *map = orch_render_device_map (p, vm);
  if (map)
    json_object_array_add (env, env_value ("V2V_DEVICE_MAP", map));
  ADD (c, "env", env);

  for (size_t i = 0; i < vm->nr_disks; i++) {
    struct json_object *dv = json_object_new_object ();
    struct json_object *v = json_object_new_object ();
    struct json_object *pvc = json_object_new_object ();
    char name[32], path[40];
    snprintf (name, sizeof name, "disk%zu", i);
    snprintf (path, sizeof path, "/dev/block%zu", i);
    ADD (dv, "name", S (name));
    ADD (dv, "devicePath", S (path));
    json_object_array_add (devs, dv);
    ADD (pvc, "claimName", S (vm->disks[i].pvc));
    ADD (v, "name", S (name));
    ADD (v, "persistentVolumeClaim", pvc);
    json_object_array_add (vols, v);
  }
  ADD (c, "volumeDevices", devs);
  /* Overlays and the commit journal: /var/tmp must be writable with a
   * read-only root filesystem.
   */
  struct json_object *m = json_object_new_object ();
  ADD (m, "name", S ("var-tmp"));
  ADD (m, "mountPath", S ("/var/tmp"));
  json_object_array_add (mounts, m);
  ADD (c, "volumeMounts", mounts);
  struct json_object *tv = json_object_new_object ();
  struct json_object *ed = json_object_new_object ();
  ADD (tv, "name", S ("var-tmp"));
  ADD (tv, "emptyDir", ed);
  json_object_array_add (vols, tv);

  struct json_object *res = json_object_new_object ();
  struct json_object *rq = json_object_new_object ();
  struct json_object *lim = json_object_new_object ();
  ADD (rq, "cpu", S ("1"));
  ADD (rq, "memory", S ("2Gi"));
  ADD (lim, "memory", S ("4Gi"));
  /* Forklift asks for no KVM on EC2 and so converts under emulation. */
  if (p->request_kvm) {
    ADD (rq, "devices.kubevirt.io/kvm", S ("1"));
    ADD (lim, "devices.kubevirt.io/kvm", S ("1"));
  }
  ADD (res, "requests", rq);
  ADD (res, "limits", lim);
  ADD (c, "resources", res);
  struct json_object *csc = json_object_new_object ();
  struct json_object *caps = json_object_new_object ();
  ADD (caps, "drop", strings ("ALL", NULL));
  ADD (csc, "allowPrivilegeEscalation", json_object_new_boolean (false));
  ADD (csc, "readOnlyRootFilesystem", json_object_new_boolean (true));
  ADD (csc, "capabilities", caps);
  ADD (c, "securityContext", csc);
  ADD (c, "terminationMessagePolicy", S ("File"));

  struct json_object *cs = json_object_new_array ();
  json_object_array_add (cs, c);
  ADD (pspec, "containers", cs);
  ADD (pspec, "volumes", vols);
  ADD (tmpl, "spec", pspec);
  ADD (spec, "template", tmpl);
  ADD (o, "spec", spec);
  return o;
}

/* What the agent said about the guest, or a default. */
static const char *
hint (const struct orch_vm *vm, const char *key, const char *dflt)
{
  struct json_object *h, *v;

  if (vm->result && json_object_object_get_ex (vm->result, "kubevirtHints", &h)
      && json_object_object_get_ex (h, key, &v) &&
      json_object_is_type (v, json_type_string))
    return json_object_get_string (v);
  return dflt;
}

struct json_object *
orch_render_vm (const struct plan *p, const struct orch_vm *vm)
{
  struct json_object *meta = metadata (vm->name, p->target_namespace,
                                       labels (p, vm, NULL));
  struct json_object *o = object ("kubevirt.io/v1", "VirtualMachine", meta);
  struct json_object *spec = json_object_new_object ();
  struct json_object *tmpl = json_object_new_object ();
  struct json_object *tmeta = json_object_new_object ();
  struct json_object *tspec = json_object_new_object ();
  struct json_object *domain = json_object_new_object ();
  struct json_object *devices = json_object_new_object ();
  struct json_object *disks = json_object_new_array ();
  struct json_object *ifaces = json_object_new_array ();
  struct json_object *nets = json_object_new_array ();
  struct json_object *vols = json_object_new_array ();
  struct json_object *ann = json_object_new_object ();
  bool compat = p->use_compatibility_mode;
  char buf[64];

  ADD (ann, "v2v.kubevirt.io/source-instance", S (vm->id));
  ADD (ann, "v2v.kubevirt.io/source-instance-type", S (vm->type));
  orch_render_tag_annotation (vm, ann);
  ADD (meta, "annotations", ann);
  orch_render_tag_labels (vm, json_object_object_get (meta, "labels"));
  /* Up if the instance was: the migration is the instance, moved. */
  ADD (spec, "runStrategy", S (strcmp (vm->prior_state, "running") == 0
                               ? "Always" : "Halted"));
  struct json_object *tlabels = labels (p, vm, NULL);
  orch_render_tag_labels (vm, tlabels);
  orch_render_sg_labels (vm, tlabels);
  ADD (tmeta, "labels", tlabels);
  ADD (tmpl, "metadata", tmeta);

  /* CPU from CpuOptions, memory from DescribeInstanceTypes. */
  ADD (domain, "cpu", orch_render_cpu (vm));
  struct json_object *mem = json_object_new_object ();
  snprintf (buf, sizeof buf, "%" PRIi64 "Mi",
            vm->memory_mib > 0 ? vm->memory_mib : 1024);
  ADD (mem, "guest", S (buf));
  ADD (domain, "memory", mem);
  struct json_object *machine = json_object_new_object ();
  ADD (machine, "type", S ("q35"));
  ADD (domain, "machine", machine);

  /* Firmware: the instance's boot mode, unless the agent knows better
   * (it looked at the disk).
   */
  const char *fw = hint (vm, "firmware",
                         strncmp (vm->boot_mode, "uefi", 4) == 0 ? "efi"
                         : "bios");
  struct json_object *firmware = json_object_new_object ();
  struct json_object *bl = json_object_new_object ();
  if (strcmp (fw, "efi") == 0)
    ADD (bl, "efi", orch_render_efi (p, vm, domain));
  else
    ADD (bl, "bios", json_object_new_object ());
  ADD (firmware, "bootloader", bl);
  ADD (domain, "firmware", firmware);

  const char *bus = compat ? "sata" : hint (vm, "diskBus", "virtio");
  for (size_t i = 0; i < vm->nr_disks; i++) {
    struct json_object *d = json_object_new_object ();
    struct json_object *dd = json_object_new_object ();
    struct json_object *v = json_object_new_object ();
    struct json_object *pvc = json_object_new_object ();
    char name[32];
    snprintf (name, sizeof name, "disk%zu", i);
    ADD (d, "name", S (name));
    ADD (dd, "bus", S (bus));
    ADD (d, "disk", dd);
    /* Boot from the instance's root device. */
    if (vm->disks[i].root)
      ADD (d, "bootOrder", json_object_new_int (1));
    json_object_array_add (disks, d);
    ADD (pvc, "claimName", S (vm->disks[i].pvc));
    ADD (v, "name", S (name));
    ADD (v, "persistentVolumeClaim", pvc);
    json_object_array_add (vols, v);
  }
  /* Instance store: its data is not migrated, but the guest gets its
   * scratch space back, found by serial (the agent points its fstab entry
   * at /dev/disk/by-id/virtio-ephemeralN).
   */
  for (size_t k = 0; k < vm->nr_scratch; k++) {
    struct json_object *d = json_object_new_object ();
    struct json_object *dd = json_object_new_object ();
    struct json_object *v = json_object_new_object ();
    struct json_object *ed = json_object_new_object ();
    char name[32], serial[32], cap[32];
    snprintf (name, sizeof name, "scratch%zu", k);
    snprintf (serial, sizeof serial, "ephemeral%zu", k);
    snprintf (cap, sizeof cap, "%" PRIi64 "G", vm->scratch[k].size_gb);
    ADD (d, "name", S (name));
    ADD (dd, "bus", S (bus));
    ADD (d, "disk", dd);
    ADD (d, "serial", S (serial));
    json_object_array_add (disks, d);
    ADD (ed, "capacity", S (cap));
    ADD (v, "name", S (name));
    ADD (v, "emptyDisk", ed);
    json_object_array_add (vols, v);
  }
  if (vm->user_data) {
    struct json_object *d = json_object_new_object ();
    struct json_object *dd = json_object_new_object ();
    struct json_object *v = json_object_new_object ();
    struct json_object *ci = json_object_new_object ();
    ADD (d, "name", S ("cloudinit"));
    ADD (dd, "bus", S (compat ? "sata" : "virtio"));
    ADD (d, "disk", dd);
    json_object_array_add (disks, d);
    ADD (ci, "userDataBase64", S (vm->user_data));
    ADD (v, "name", S ("cloudinit"));
    ADD (v, "cloudInitNoCloud", ci);
    json_object_array_add (vols, v);
  }

  const char *model = compat ? "e1000e" : hint (vm, "nicModel", "virtio");
  for (size_t i = 0; i < vm->nr_nics; i++) {
    const struct plan_net *n = vm_nic_network (p, &vm->nics[i]);
    struct json_object *iface, *net;
    char name[32];
    if (n == NULL)
      continue;
    snprintf (name, sizeof name, "nic%zu", i);
    iface = json_object_new_object ();
    net = json_object_new_object ();
    ADD (iface, "name", S (name));
    ADD (iface, "model", S (model));
    ADD (iface, "macAddress", S (vm->nics[i].mac));
    ADD (net, "name", S (name));
    if (n->target == NET_POD) {
      ADD (iface, "masquerade", json_object_new_object ());
      ADD (net, "pod", json_object_new_object ());
    }
    else {
      struct json_object *mu = json_object_new_object ();
      ADD (iface, "bridge", json_object_new_object ());
      ADD (mu, "networkName", S (n->multus));
      ADD (net, "multus", mu);
    }
    json_object_array_add (ifaces, iface);
    json_object_array_add (nets, net);
  }
  ADD (devices, "disks", disks);
  ADD (devices, "interfaces", ifaces);
  ADD (devices, "rng", json_object_new_object ());
  /* virt-launcher's guest-console-log container: the health gate reads
   * the guest's first-boot probe there (phase-verify.c).
   */
  ADD (devices, "logSerialConsole", json_object_new_boolean (true));
  ADD (domain, "devices", devices);
  ADD (tspec, "domain", domain);
  ADD (tspec, "networks", nets);
  ADD (tspec, "volumes", vols);
  ADD (tmpl, "spec", tspec);
  ADD (spec, "template", tmpl);
  ADD (o, "spec", spec);
  return o;
}

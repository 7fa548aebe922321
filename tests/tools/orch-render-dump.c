/* Render the Kubernetes objects of a sample VM for each plan given and
 * print them as a JSON array, for validate-k8s.py to check against the
 * strict schemas.
 *
 *   orch-render-dump PLAN.json...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2.h"
#include "json.h"
#include "orch.h"
#include "plan.h"
#include "strv.h"

/* Two security groups with a rule of every shape render-netpol.c knows;
 * the second allows all traffic out, so that a VM with both has no
 * egress policy and one with the first alone has one.
 */
static struct ec2_sg_peer web_in_peers[] = {
  { EC2_PEER_CIDR, "0.0.0.0/0" }, { EC2_PEER_CIDR6, "::/0" },
  { EC2_PEER_GROUP, "sg-0aaaaaaaaaaaaaaa2" },
  { EC2_PEER_PREFIX_LIST, "pl-0123456789abcdef0" },
};
static struct ec2_sg_rule web_in[] = {
  { "tcp", true, 443, 443, &web_in_peers[0], 2 },
  { "tcp", true, 8000, 8080, &web_in_peers[0], 1 },
  { "udp", true, 0, 65535, &web_in_peers[1], 1 },
  { "-1", false, 0, 0, &web_in_peers[2], 1 },
  { "132", false, 0, 0, &web_in_peers[0], 1 },
  { "icmp", true, 8, -1, &web_in_peers[0], 1 },
  { "tcp", true, 5432, 5432, &web_in_peers[3], 1 },
};
static struct ec2_sg_rule web_out[] = {
  { "udp", true, 53, 53, &web_in_peers[0], 2 },
};
static struct ec2_sg_rule open_out[] = {
  { "-1", false, 0, 0, &web_in_peers[0], 2 },
};
static struct ec2_security_group sample_groups[] = {
  { .id = "sg-0aaaaaaaaaaaaaaa1", .name = "web", .in = web_in,
    .nr_in = sizeof web_in / sizeof web_in[0], .out = web_out, .nr_out = 1 },
  { .id = "sg-0aaaaaaaaaaaaaaa2", .name = "open", .out = open_out,
    .nr_out = 1 },
};

static void
sample_vm (struct orch_vm *vm, bool uefi, bool with_result)
{
  static const char *const devs[] = { "/dev/xvda", "/dev/xvdb", "/dev/xvdc" };
  static const char *const types[] = { "gp3", "io2", "gp2" };

  memset (vm, 0, sizeof *vm);
  strcpy (vm->id, "i-0123456789abcdef0");
  strcpy (vm->name, "web-1");
  strcpy (vm->job, "v2v-plan-a-i-0123456789abcdef0");
  strcpy (vm->netpol, "web-1-security-groups");
  /* The first variant's groups let everything out, the second's not. */
  strv_add (&vm->security_groups, "sg-0aaaaaaaaaaaaaaa1");
  if (!uefi)
    strv_add (&vm->security_groups, "sg-0aaaaaaaaaaaaaaa2");
  strcpy (vm->type, "m5.large");
  strcpy (vm->prior_state, "running");
  strcpy (vm->az, "us-east-1a");
  strcpy (vm->boot_mode, uefi ? "uefi" : "legacy-bios");
  strcpy (vm->root_device, "/dev/xvda");
  vm->vcpus = 2;
  vm->memory_mib = 8192;
  vm->user_data = strdup ("I2Nsb3VkLWNvbmZpZwo=");
  for (size_t i = 0; i < 3; i++) {
    struct orch_disk *d = &vm->disks[i];
    strcpy (d->device, devs[i]);
    snprintf (d->src_volume, sizeof d->src_volume, "vol-0%016zx", i + 1);
    snprintf (d->volume, sizeof d->volume, "vol-0%016zx", i + 100);
    strcpy (d->type, types[i]);
    d->size_gib = 8 << i;
    d->root = i == 0;
    snprintf (d->pvc, sizeof d->pvc, "web-1-disk%zu", i);
    snprintf (d->pv, sizeof d->pv, "v2v-plan-a-%s", d->src_volume);
  }
  vm->nr_disks = 3;
  strcpy (vm->nics[0].mac, "02:00:00:00:00:01");
  strcpy (vm->nics[0].subnet, "subnet-0aaaaaaaaaaaaaaa1");
  strcpy (vm->nics[1].mac, "02:00:00:00:00:02");
  strcpy (vm->nics[1].subnet, "subnet-0aaaaaaaaaaaaaaa2");
  vm->nics[1].device_index = 1;
  vm->nr_nics = 2;
  /* The second variant has instance store: two scratch disks, one of
   * them with no device name (its AMI did not map it).
   */
  if (uefi) {
    vm->scratch[0].size_gb = 75;
    strcpy (vm->scratch[0].device, "/dev/sdb");
    vm->scratch[1].size_gb = 300;
    vm->nr_scratch = 2;
  }
  if (with_result)
    json_parse ("{\"outcome\":\"Succeeded\",\"kubevirtHints\":"
                "{\"firmware\":\"efi\",\"diskBus\":\"virtio\","
                "\"nicModel\":\"virtio\"}}", 83, 0, &vm->result, NULL);
}

int
main (int argc, char **argv)
{
  struct json_object *out = json_object_new_array ();

  for (int i = 1; i < argc; i++) {
    struct plan *p;
    struct v2v_error err = { 0 };
    struct orch_vm vm;

    if (plan_load (argv[i], &p, &err) < 0) {
      fprintf (stderr, "%s\n", err.msg);
      json_object_put (out);
      return 1;
    }
    for (int variant = 0; variant < 2; variant++) {
      sample_vm (&vm, variant == 1, variant == 1);
      for (size_t d = 0; d < vm.nr_disks; d++) {
        json_object_array_add (out, orch_render_pv (p, &vm, &vm.disks[d]));
        json_object_array_add (out, orch_render_pvc (p, &vm, &vm.disks[d]));
      }
      json_object_array_add (out, orch_render_job (p, &vm));
      json_object_array_add (out, orch_render_vm (p, &vm));
      char **warnings = NULL;
      json_object_array_add (out, orch_render_network_policy (
                               p, &vm, sample_groups, 2, &warnings));
      strv_free (warnings);
      strv_free (vm.security_groups);
      free (vm.user_data);
      json_object_put (vm.result);
    }
    plan_free (p);
  }
  puts (json_object_to_json_string_ext (out, JSON_C_TO_STRING_PRETTY |
                                        JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (out);
  return 0;
}

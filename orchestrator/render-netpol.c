/* A VM's security groups as a NetworkPolicy (plan option
 * networkPolicies): a pure function of the groups DescribeSecurityGroups
 * gave, like render.c.
 *
 * A security group allows; it never denies.  So does a NetworkPolicy
 * (policies and rules add up), which makes the mapping rule by rule:
 * each IpPermission is one ingress (or egress) rule, its peers the rule's
 * from (or to), its protocol and ports the rule's ports.  What NetworkPolicy
 * cannot say is left out, never widened: a rule left with no peer is
 * dropped whole, since a NetworkPolicy rule without from/to matches every
 * peer.  See
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2.h"
#include "json.h"
#include "orch.h"
#include "strv.h"

#define S(s) json_object_new_string (s)
#define ADD(o, k, v) json_object_object_add ((o), (k), (v))

struct warnings {
  char **v;
  bool oom;
};

static void __attribute__ ((format (printf, 2, 3)))
warn (struct warnings *w, const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  if (s == NULL || strv_push (&w->v, s) < 0) {
    free (s);
    w->oom = true;
  }
}

/* NetworkPolicy's name for an EC2 protocol (EC2 answers 6, 17 and 58
 * by name, not 132), or NULL: it matches TCP, UDP and SCTP only.
 */
static const char *
policy_protocol (const char *p)
{
  if (strcmp (p, "tcp") == 0 || strcmp (p, "6") == 0)
    return "TCP";
  if (strcmp (p, "udp") == 0 || strcmp (p, "17") == 0)
    return "UDP";
  if (strcmp (p, "sctp") == 0 || strcmp (p, "132") == 0)
    return "SCTP";
  return NULL;
}

static bool
is_icmp (const char *p)
{
  return strcmp (p, "icmp") == 0 || strcmp (p, "icmpv6") == 0 ||
    strcmp (p, "1") == 0 || strcmp (p, "58") == 0;
}

/* The rule as a person reads it in the console: "tcp 8000-8080",
 * "icmp type 8 code -1", "all traffic", "protocol 47".
 */
static void
describe_rule (const struct ec2_sg_rule *rule, char *out, size_t len)
{
  if (strcmp (rule->protocol, "-1") == 0)
    snprintf (out, len, "all traffic");
  else if (is_icmp (rule->protocol))
    snprintf (out, len, "%s type %d code %d", rule->protocol,
              rule->from_port, rule->to_port);
  else if (!policy_protocol (rule->protocol) || !rule->has_ports)
    snprintf (out, len, "protocol %s", rule->protocol);
  else if (rule->from_port == rule->to_port)
    snprintf (out, len, "%s %d", rule->protocol, rule->from_port);
  else
    snprintf (out, len, "%s %d-%d", rule->protocol, rule->from_port,
              rule->to_port);
}

/* The rule's ports: *RET_PORTS a NetworkPolicyPort list, or NULL for
 * all traffic.  Returns why NetworkPolicy cannot match them, or NULL.
 */
static const char *
rule_ports (const struct ec2_sg_rule *rule, struct json_object **ret_ports)
{
  const char *proto = policy_protocol (rule->protocol);
  struct json_object *port;
  int from = rule->from_port, to = rule->to_port;

  *ret_ports = NULL;
  if (strcmp (rule->protocol, "-1") == 0)
    return NULL;
  if (is_icmp (rule->protocol))
    return "NetworkPolicy cannot match ICMP types or codes";
  if (proto == NULL)
    return "NetworkPolicy matches TCP, UDP and SCTP only";
  port = json_object_new_object ();
  ADD (port, "protocol", S (proto));
  /* EC2 takes ports for TCP and UDP only (another protocol is all its
   * traffic); 0-65535 is all of them, and port 0 is no port.
   */
  if (strcmp (proto, "SCTP") != 0 && rule->has_ports &&
      !(from <= 0 && to >= 65535)) {
    if (to < 1) {
      json_object_put (port);
      return "NetworkPolicy cannot match port 0";
    }
    if (from < 1)
      from = 1;
    ADD (port, "port", json_object_new_int (from));
    if (to > from)
      ADD (port, "endPort", json_object_new_int (to));
  }
  *ret_ports = json_object_new_array ();
  json_object_array_add (*ret_ports, port);
  return NULL;
}

/* A NetworkPolicyPeer for an EC2 peer, or NULL for a prefix list (the
 * addresses of an AWS service, which a cluster does not know).
 */
static struct json_object *
rule_peer (const struct ec2_sg_peer *p)
{
  struct json_object *peer, *in, *ml;
  char key[sizeof ORCH_SG_LABEL_PREFIX + 64];

  switch (p->kind) {
  case EC2_PEER_CIDR:
  case EC2_PEER_CIDR6:
    peer = json_object_new_object ();
    in = json_object_new_object ();
    ADD (in, "cidr", S (p->value));
    ADD (peer, "ipBlock", in);
    return peer;
  case EC2_PEER_GROUP:
    /* The VMs migrated with that group, in this namespace: each has its
     * label (orch_render_sg_labels), which KubeVirt copies from the
     * template to the VMI and its virt-launcher Pod.
     */
    if (!orch_label_name_valid (p->value))
      return NULL;
    snprintf (key, sizeof key, "%s%s", ORCH_SG_LABEL_PREFIX, p->value);
    peer = json_object_new_object ();
    in = json_object_new_object ();
    ml = json_object_new_object ();
    ADD (ml, key, S ("true"));
    ADD (in, "matchLabels", ml);
    ADD (peer, "podSelector", in);
    return peer;
  case EC2_PEER_PREFIX_LIST:
    break;
  }
  return NULL;
}

/* Rule IDX of group G (outbound if OUT) as an ingress or egress rule, or
 * NULL (warned) when NetworkPolicy cannot say it.
 */
static struct json_object *
render_rule (struct warnings *w, const struct ec2_security_group *g, bool out,
             size_t idx, const struct ec2_sg_rule *rule)
{
  const char *dir = out ? "outbound" : "inbound";
  struct json_object *ports, *peers, *o;
  const char *why;
  char what[64];
  size_t left_out = 0;

  describe_rule (rule, what, sizeof what);
  why = rule_ports (rule, &ports);
  if (why) {
    warn (w, "security group %s (%s): %s rule %zu (%s): %s; the rule is "
          "left out", g->id, g->name, dir, idx + 1, what, why);
    return NULL;
  }
  peers = json_object_new_array ();
  for (size_t i = 0; i < rule->nr_peers; i++) {
    struct json_object *peer = rule_peer (&rule->peers[i]);
    if (peer)
      json_object_array_add (peers, peer);
    else
      left_out++;
  }
  for (size_t i = 0; left_out && i < rule->nr_peers; i++) {
    const struct ec2_sg_peer *peer = &rule->peers[i];
    if (peer->kind != EC2_PEER_PREFIX_LIST && peer->kind != EC2_PEER_GROUP)
      continue;
    if (peer->kind == EC2_PEER_GROUP && orch_label_name_valid (peer->value))
      continue;
    warn (w, "security group %s (%s): %s rule %zu (%s): %s %s cannot be a "
          "NetworkPolicy peer; %s", g->id, g->name, dir, idx + 1, what,
          peer->kind == EC2_PEER_GROUP ? "security group" : "prefix list",
          peer->value, json_object_array_length (peers)
          ? "the rule keeps its other peers" : "the rule is left out");
  }
  /* No peer left: a rule without from (to) would match every peer. */
  if (json_object_array_length (peers) == 0) {
    json_object_put (peers);
    json_object_put (ports);
    return NULL;
  }
  o = json_object_new_object ();
  ADD (o, out ? "to" : "from", peers);
  if (ports)
    ADD (o, "ports", ports);
  return o;
}

/* Whether the groups' outbound rules let everything out, over IPv4 and
 * IPv6: then there is nothing for an egress policy to say.
 */
static bool
allows_all_out (const struct orch_vm *vm,
                const struct ec2_security_group *groups, size_t n)
{
  bool v4 = false, v6 = false;

  for (size_t i = 0; vm->security_groups && vm->security_groups[i]; i++) {
    const struct ec2_security_group *g =
      ec2_security_group_find (groups, n, vm->security_groups[i]);
    for (size_t j = 0; g && j < g->nr_out; j++) {
      if (strcmp (g->out[j].protocol, "-1") != 0)
        continue;
      for (size_t k = 0; k < g->out[j].nr_peers; k++) {
        const struct ec2_sg_peer *p = &g->out[j].peers[k];
        v4 |= p->kind == EC2_PEER_CIDR && strcmp (p->value, "0.0.0.0/0") == 0;
        v6 |= p->kind == EC2_PEER_CIDR6 && strcmp (p->value, "::/0") == 0;
      }
    }
  }
  return v4 && v6;
}

struct json_object *
orch_render_network_policy (const struct plan *p, const struct orch_vm *vm,
                            const struct ec2_security_group *groups,
                            size_t n, char ***ret_warnings)
{
  struct warnings w = { 0 };
  struct json_object *o = orch_render_object (p, vm, "networking.k8s.io/v1",
                                              "NetworkPolicy", vm->netpol);
  struct json_object *spec = json_object_new_object ();
  struct json_object *sel = json_object_new_object ();
  struct json_object *ml = json_object_new_object ();
  struct json_object *ingress = json_object_new_array ();
  struct json_object *egress = json_object_new_array ();
  struct json_object *types = json_object_new_array ();
  bool out = !allows_all_out (vm, groups, n);

  /* Its virt-launcher Pod: the VM's label comes from the template; the
   * component label keeps the conversion Job's Pod (same VM label) out.
   */
  ADD (ml, "kubevirt.io", S ("virt-launcher"));
  ADD (ml, ORCH_LABEL_VM, S (vm->id));
  ADD (sel, "matchLabels", ml);
  ADD (spec, "podSelector", sel);
  for (size_t i = 0; vm->security_groups && vm->security_groups[i]; i++) {
    const struct ec2_security_group *g =
      ec2_security_group_find (groups, n, vm->security_groups[i]);
    if (g == NULL) {
      warn (&w, "security group %s was not found; its rules are left out",
            vm->security_groups[i]);
      continue;
    }
    for (size_t j = 0; j < g->nr_in; j++) {
      struct json_object *r = render_rule (&w, g, false, j, &g->in[j]);
      if (r)
        json_object_array_add (ingress, r);
    }
    for (size_t j = 0; out && j < g->nr_out; j++) {
      struct json_object *r = render_rule (&w, g, true, j, &g->out[j]);
      if (r)
        json_object_array_add (egress, r);
    }
  }
  /* Ingress always: a group with no inbound rule lets nothing in. */
  json_object_array_add (types, S ("Ingress"));
  if (json_object_array_length (ingress))
    ADD (spec, "ingress", ingress);
  else
    json_object_put (ingress);
  if (out) {
    json_object_array_add (types, S ("Egress"));
    if (json_object_array_length (egress))
      ADD (spec, "egress", egress);
    else
      json_object_put (egress);
  }
  else
    json_object_put (egress);
  ADD (spec, "policyTypes", types);
  ADD (o, "spec", spec);
  if (w.oom) {
    strv_free (w.v);
    json_object_put (o);
    return NULL;
  }
  *ret_warnings = w.v;
  return o;
}

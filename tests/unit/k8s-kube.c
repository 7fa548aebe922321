/* k8s/kube.c: kubeconfig and in-cluster configuration, YAML parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "json.h"
#include "kube.h"

static char dir[] = "/tmp/k8s-kube-XXXXXX";

static void
setup (void)
{
  cr_assert_not_null (mkdtemp (dir));
}

static void
teardown (void)
{
  char cmd[256];

  snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
  system (cmd);
}

static void
write_file (const char *name, const char *text)
{
  char path[512];
  FILE *fp;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  fp = fopen (path, "w");
  cr_assert_not_null (fp);
  fputs (text, fp);
  fclose (fp);
}

TestSuite (kube, .init = setup, .fini = teardown);

Test (kube, yaml_types)
{
  const char *y =
    "a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: ~\nf: [x, 2, {g: h}]\n"
    "i:\n  - j: k\n";
  struct json_object *o = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (kube_yaml_to_json (y, strlen (y), &o, &err), 0, "%s",
                err.msg);
  cr_assert_str_eq (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN),
                    "{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":\"true\",\"e\":null,"
                    "\"f\":[\"x\",2,{\"g\":\"h\"}],\"i\":[{\"j\":\"k\"}]}");
  json_object_put (o);
}

Test (kube, yaml_refuses_aliases_and_errors)
{
  const char *alias = "a: &x [1]\nb: *x\n";
  const char *broken = "a: [1, 2\n";
  struct json_object *o = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (kube_yaml_to_json (alias, strlen (alias), &o, &err), -EINVAL);
  cr_assert (strstr (err.msg, "aliases") != NULL, "%s", err.msg);
  cr_assert_eq (kube_yaml_to_json (broken, strlen (broken), &o, &err),
                -EINVAL);
  cr_assert (strstr (err.msg, "yaml: line") != NULL, "%s", err.msg);
}

Test (kube, kubeconfig_current_context)
{
  struct kube_config *cfg = NULL;
  struct v2v_error err = { 0 };
  char path[512];

  write_file ("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  write_file ("tok", "secret-token\n");
  write_file ("config",
              "apiVersion: v1\nkind: Config\ncurrent-context: two\n"
              "contexts:\n"
              "- name: one\n  context: {cluster: c1, user: u1}\n"
              "- name: two\n  context: {cluster: c2, user: u2, namespace: ns2}\n"
              "clusters:\n"
              "- name: c1\n  cluster: {server: 'https://one:6443'}\n"
              "- name: c2\n  cluster:\n    server: https://two:6443/\n"
              "    certificate-authority: ca.pem\n"
              "users:\n"
              "- name: u1\n  user: {token: t1}\n"
              "- name: u2\n  user: {tokenFile: tok}\n");
  snprintf (path, sizeof path, "%s/config", dir);
  cr_assert_eq (kube_config_from_kubeconfig (path, &cfg, &err), 0, "%s",
                err.msg);
  cr_assert_str_eq (kube_config_server (cfg), "https://two:6443");
  cr_assert_str_eq (kube_config_namespace (cfg), "ns2");
  cr_assert_not (kube_config_insecure (cfg));
  kube_config_free (cfg);
}

Test (kube, kubeconfig_client_cert_refused)
{
  struct kube_config *cfg = NULL;
  struct v2v_error err = { 0 };
  char path[512];

  write_file ("config",
              "current-context: c\n"
              "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
              "clusters: [{name: k, cluster: {server: 'https://k'}}]\n"
              "users: [{name: u, user: {client-certificate-data: QUJD, "
              "client-key-data: QUJD}}]\n");
  snprintf (path, sizeof path, "%s/config", dir);
  cr_assert_eq (kube_config_from_kubeconfig (path, &cfg, &err), -ENOTSUP);
  cr_assert (strstr (err.msg, "only bearer tokens") != NULL, "%s", err.msg);
}

Test (kube, kubeconfig_missing_context)
{
  struct kube_config *cfg = NULL;
  struct v2v_error err = { 0 };
  char path[512];

  write_file ("config", "current-context: nope\ncontexts: []\n");
  snprintf (path, sizeof path, "%s/config", dir);
  cr_assert_eq (kube_config_from_kubeconfig (path, &cfg, &err), -EINVAL);
  cr_assert (strstr (err.msg, "'nope'") != NULL, "%s", err.msg);
}

Test (kube, in_cluster)
{
  struct kube_config *cfg = NULL;
  struct v2v_error err = { 0 };

  write_file ("token", "abc\n");
  write_file ("ca.crt", "x");
  write_file ("namespace", "v2v\n");
  setenv ("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv ("KUBERNETES_SERVICE_PORT", "443", 1);
  cr_assert_eq (kube_config_in_cluster (dir, &cfg, &err), 0, "%s", err.msg);
  cr_assert_str_eq (kube_config_server (cfg), "https://[fd00::1]:443");
  cr_assert_str_eq (kube_config_namespace (cfg), "v2v");
  cr_assert_str_eq (kube_config_source (cfg), "in-cluster");
  kube_config_free (cfg);

  unsetenv ("KUBERNETES_SERVICE_HOST");
  cr_assert_eq (kube_config_in_cluster (dir, &cfg, &err), -ENOENT);
}

Test (kube, label_selector)
{
  const char *kv[] = { "topology.kubernetes.io/zone", "us-east-1a",
                       "job-name", "x", NULL };
  char *s = kube_label_selector (kv);

  cr_assert_str_eq (s, "topology.kubernetes.io%2Fzone%3Dus-east-1a%2C"
                    "job-name%3Dx");
  free (s);
}

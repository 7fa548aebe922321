/* libFuzzer target: kubeconfig files (k8s/yaml.c), YAML that the
 * orchestrator reads from the user's environment.
 */
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "kube.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct v2v_error err = { 0 };
  struct json_object *o = NULL;

  if (kube_yaml_to_json ((const char *) data, size, &o, &err) == 0)
    json_object_put (o);
  return 0;
}

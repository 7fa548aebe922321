/* libFuzzer target: Kubernetes API response bodies.  json_parse
 * (common/json.c) is what every response goes through, and
 * kube_status_message (k8s/kube.c) what an error response goes through
 * on its way into a log line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kube.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct v2v_error err = { 0 };
  struct json_object *o = NULL;
  char msg[256];
  char *body;

  if (json_parse (data, size, 0, &o, &err) == 0)
    json_object_put (o);
  /* Both a small and a large nesting limit. */
  if (json_parse (data, size, 3, &o, &err) == 0)
    json_object_put (o);

  /* kube_status_message takes a NUL-terminated body, as http.c keeps. */
  if ((body = malloc (size + 1)) == NULL)
    return 0;
  memcpy (body, data, size);
  body[size] = '\0';
  kube_status_message (body, msg, sizeof msg);
  kube_status_message (body, msg, 8);
  free (body);
  return 0;
}

/* Send Events through the reporter, for agent-run-without-appliance.sh to check what the
 * fake API server got: each argument is TYPE:REASON:MESSAGE (TYPE N or
 * W), in order.  Pod and config as for v2v-agent run (POD_NAME,
 * POD_NAMESPACE, KUBECONFIG).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kube.h"
#include "log.h"
#include "reporter.h"
#include "status.h"

int
main (int argc, char **argv)
{
  struct kube_config *kube = NULL;
  struct agent_status *st = agent_status_new ();
  struct reporter *r = NULL;
  struct v2v_error err = { 0 };

  curl_global_init (CURL_GLOBAL_DEFAULT);
  log_init (LOG_INFO);
  if (kube_config_load (&kube, &err) < 0) {
    fprintf (stderr, "%s\n", err.msg);
    return 1;
  }
  struct reporter_options o = {
    .kube = kube, .pod_name = getenv ("POD_NAME"),
    .pod_namespace = getenv ("POD_NAMESPACE"),
  };
  if (reporter_start (&o, st, &r, &err) < 0) {
    fprintf (stderr, "%s\n", err.msg);
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    char *a = strdup (argv[i]), *reason, *msg;
    reason = strchr (a, ':');
    msg = reason ? strchr (reason + 1, ':') : NULL;
    if (msg == NULL) {
      fprintf (stderr, "expected TYPE:REASON:MESSAGE: %s\n", argv[i]);
      return 2;
    }
    *reason++ = '\0';
    *msg++ = '\0';
    reporter_event (r, a[0] == 'W', reason, msg);
    free (a);
  }
  unsigned dropped = reporter_finish (r, 20000);
  agent_status_free (st);
  kube_config_free (kube);
  curl_global_cleanup ();
  return dropped ? 1 : 0;
}

/* Print the agent's result table (agent/result.c) as a JSON array, for
 * agent-results-docs.py to hold the docs to.
 */
#include <stdio.h>

#include <json-c/json.h>

#include "result.h"

int
main (void)
{
  struct json_object *a = json_object_new_array ();

  for (int r = 0; r < AGENT_RESULT__COUNT; r++) {
    const struct agent_result_info *i = agent_result_info (r);
    struct json_object *o = json_object_new_object ();

    json_object_object_add (o, "name", json_object_new_string (i->name));
    json_object_object_add (o, "exit", json_object_new_int (i->exit_code));
    json_object_object_add (o, "outcome", json_object_new_string
                            (agent_outcome_to_string (i->outcome)));
    json_object_object_add (o, "reason", json_object_new_string (i->reason));
    json_object_object_add (o, "meaning", json_object_new_string (i->meaning));
    json_object_object_add (o, "convert", json_object_new_boolean
                            (i->commands & AGENT_RESULT_CONVERT));
    json_object_object_add (o, "run", json_object_new_boolean
                            (i->commands & AGENT_RESULT_RUN));
    json_object_array_add (a, o);
  }
  puts (json_object_to_json_string_ext (a, JSON_C_TO_STRING_PRETTY));
  json_object_put (a);
  return 0;
}

#include <stdio.h>

#include "agent.h"
#include "log.h"

int
agent_cmd_convert (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  log_error ("convert: conversion not implemented yet");
  return AGENT_EXIT_INTERNAL;
}

#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step aws-agents
expect_changes < /dev/null
finish

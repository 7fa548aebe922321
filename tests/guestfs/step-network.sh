#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step network
expect_changes < /dev/null
finish

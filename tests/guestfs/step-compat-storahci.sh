#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step compat-storahci
expect_changes < /dev/null
finish

#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step devicepath
expect_changes < /dev/null
finish

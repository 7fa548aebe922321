#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step fstab
expect_changes < /dev/null
finish

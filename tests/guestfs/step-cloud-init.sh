#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step cloud-init
expect_changes < /dev/null
finish

#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step selinux
expect_changes < /dev/null
finish

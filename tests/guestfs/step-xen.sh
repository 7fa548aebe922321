#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step xen
expect_changes < /dev/null
finish

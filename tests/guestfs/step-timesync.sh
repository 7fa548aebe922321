#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step timesync
expect_changes < /dev/null
finish

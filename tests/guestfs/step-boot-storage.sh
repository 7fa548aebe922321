#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step boot-storage
expect_changes < /dev/null
finish

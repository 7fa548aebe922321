#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step uefi-fallback
expect_changes < /dev/null
finish

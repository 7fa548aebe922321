#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step bootloader
expect_changes < /dev/null
finish

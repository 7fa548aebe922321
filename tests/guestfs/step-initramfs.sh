#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step initramfs
expect_changes < /dev/null
finish

#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step virtio-drivers
expect_changes < /dev/null
finish

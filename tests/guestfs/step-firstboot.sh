#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step firstboot
expect_changes < /dev/null
finish

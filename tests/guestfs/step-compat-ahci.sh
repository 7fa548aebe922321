#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step compat-ahci
expect_changes < /dev/null
finish

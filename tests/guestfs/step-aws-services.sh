#!/bin/bash
. "$(dirname "$0")/step-lib.sh"
phony_step aws-services
expect_changes < /dev/null
finish

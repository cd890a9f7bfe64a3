#!/usr/bin/env bash
# Set the hacluster password. stdin: the password (a Pulumi secret); chpasswd reads it from stdin, never
# argv. Read whole: spaces at either end belong to the password.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"

IFS= read -r password
printf 'hacluster:%s\n' "$password" | chpasswd

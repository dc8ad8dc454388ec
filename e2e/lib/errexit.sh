# shellcheck shell=bash
# Sourced by every harness script right after `set -euo pipefail`: when a failing command ends
# the script, it says which command, its exit code, the file and line, and the functions it ran
# in, so that no step of `make test` or `make demo` can fail without a word of what failed.
#
# The trap reports only where errexit is on: a command substitution runs without it (bash
# clears -e there), so a tolerated failure inside `x=$(...)` is not reported, while the
# assignment that then ends the script is.
set -o errtrace
zdt_on_err() {
  local rc=$1 cmd=$2 i where
  [[ $- == *e* ]] || return 0
  where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
  for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
    [[ ${FUNCNAME[$i]} == main && $i == $((${#FUNCNAME[@]} - 1)) ]] && break
    where+=" in ${FUNCNAME[$i]}()"
    [[ -n ${BASH_SOURCE[$((i + 1))]:-} ]] && where+=" called from ${BASH_SOURCE[$((i + 1))]}:${BASH_LINENO[$i]}"
  done
  printf 'error: exit %d from `%s` at %s\n' "$rc" "$cmd" "$where" >&2
}
trap 'zdt_on_err $? "$BASH_COMMAND"' ERR

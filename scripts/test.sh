#!/usr/bin/env bash
# The whole test suite on a fresh machine: a fresh virtual environment, the
# project with its test extra, the system programs the tests drive, then pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k hook`).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for program in git gpg ssh-keygen; do
    command -v "$program" >/dev/null 2>&1 || need_apt+=("$program")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then       # Debian, Ubuntu
        apt-get update -qq
        apt-get install -y -qq git gnupg openssh-client >/dev/null
    elif command -v brew >/dev/null 2>&1; then        # macOS (ssh-keygen ships with the system)
        brew install git gnupg >/dev/null
    else
        echo "the tests need: ${need_apt[*]}; install them first" >&2
        exit 1
    fi
fi

venv="${DIRECTIVE_TEST_VENV:-.venv}"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[test]'

set +e
"$venv/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 0
fi
exit "$status"

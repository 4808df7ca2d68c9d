#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter that actually runs, or explain how to get one.
#
# Order: $PYTHON when the user sets it (it must be 3.10), then `python3.10` on PATH, then pyenv
# (`PYENV_VERSION=3.10.x python3.10`, then $(pyenv root)/versions/3.10.*/bin/python3.10).
# A pyenv shim named python3.10 exists on PATH even when no 3.10 is selected and fails when run,
# so every candidate is executed, not just looked up.
set -u

probe() {
  "$@" -c 'import sys; assert sys.version_info[:2] == (3, 10); print(sys.executable)' 2>/dev/null
}

if [ -n "${PYTHON:-}" ]; then
  if probe "$PYTHON"; then exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.10 interpreter." >&2
  echo "       Point PYTHON at a python3.10 binary, or unset it to let make search for one." >&2
  exit 1
fi

tried=("python3.10 on PATH")
if probe python3.10; then exit 0; fi

if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -rV); do
    tried+=("PYENV_VERSION=$version python3.10")
    if PYENV_VERSION=$version probe python3.10; then exit 0; fi
  done
  for candidate in $(ls -d "$(pyenv root)"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -rV); do
    tried+=("$candidate")
    if probe "$candidate"; then exit 0; fi
  done
else
  tried+=("pyenv (not installed)")
fi

{
  echo "error: no working Python 3.10 found. TFX 1.16 needs Python 3.10 (see README, 'Why TFX 1.16')."
  echo "       tried: $(IFS=,; echo "${tried[*]}" | sed 's/,/, /g')"
  echo "       fix: 'pyenv install 3.10.13', or install python3.10 another way and run"
  echo "            'make <target> PYTHON=/path/to/python3.10'."
} >&2
exit 1

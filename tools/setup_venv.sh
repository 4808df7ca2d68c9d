#!/usr/bin/env bash
# Create .venv with Python 3.10 and make it hold exactly the packages of requirements.txt.
#
# A re-run does nothing unless requirements.txt changed (its sha256 is kept in the venv) or the
# venv is broken. The stamp is written only after a complete sync and import check, so an
# interrupted install is never taken for a finished one.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}
lock=requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$lock" | cut -d' ' -f1)

venv_runs() {
  "$venv/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && venv_runs; then
  exit 0
fi

python=$(tools/find_python.sh)
if [ -e "$venv" ] && ! venv_runs; then
  echo "setup: $venv exists but its python does not run as Python 3.10; recreating it."
  rm -rf "$venv"
fi
if [ ! -e "$venv" ]; then
  echo "setup: creating $venv with $python"
  "$python" -m venv "$venv"
fi
rm -f "$stamp"

uv_pin=$(grep -E '^uv==' "$lock")
echo "setup: installing the lock ($(grep -cE '^[A-Za-z0-9]' "$lock") packages) with $uv_pin"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$uv_pin"
"$venv/bin/uv" pip sync --quiet --python "$venv/bin/python" "$lock"

TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" -W ignore -c 'import tensorflow, tf_keras, apache_beam, tfx' \
  || { echo "setup: the installed packages do not import; see the error above." >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup: $venv is ready."

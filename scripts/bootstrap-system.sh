#!/usr/bin/env bash
# Install the Debian packages the portal needs to build, run and test.
#
#   chromium, chromium-driver       real-browser tests (Playwright drives Debian's Chromium)
#   fonts-noto-core, fonts-noto-cjk glyph coverage for PDFs and screenshots in every language
#   libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0
#                                   WeasyPrint (PDF care plans, font subsetting)
#   poppler-utils                   pdftotext / pdffonts, used by the PDF tests
#   nginx-light                     the shipped front-server configuration is run by a test
#                                   (deploy/nginx; the package's own service is not used)
#   nodejs, npm                     front-end assets (only when node / npm are missing)
#   python3, python3-venv           only when python3 cannot create a virtualenv
#
# Checks with dpkg first, so it is fast and silent when everything is present.
# As root it installs what is missing; otherwise it prints the command to run
# and exits 1.
set -euo pipefail

packages=(
    chromium
    chromium-driver
    fonts-noto-core
    fonts-noto-cjk
    libharfbuzz-subset0
    poppler-utils
    nginx-light
    libpango-1.0-0
    libpangoft2-1.0-0
)
# `make bench` also scans the portal with wapiti (bench/wapiti_scan.py).
if [ "${BOOTSTRAP_BENCH:-0}" = 1 ]; then
    packages+=(wapiti)
fi

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for pkg in "${packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

# Node.js and npm: any installation on PATH will do (e.g. NodeSource's nodejs
# package ships npm itself), so only ask Debian for them when they are absent.
if ! command -v node >/dev/null 2>&1 && ! is_installed nodejs; then
    missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1 && ! is_installed npm; then
    missing+=(npm)
fi

# Python: any python3 that can build a virtualenv with pip will do (pyenv,
# Debian, ...). Debian's own python3 needs python3-venv for ensurepip.
if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
else
    py_real="$(readlink -f "$(command -v python3)")"
    case "$py_real" in
        /usr/bin/*)
            is_installed python3-venv || missing+=(python3-venv)
            ;;
        *)
            if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
                echo "bootstrap-system: $(command -v python3) cannot create virtualenvs (no ensurepip)." >&2
                echo "bootstrap-system: install a complete Python 3.11+ or Debian's python3 python3-venv." >&2
                exit 1
            fi
            ;;
    esac
fi

[ "${#missing[@]}" -eq 0 ] && exit 0

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap-system: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap-system: install them as root with:" >&2
    echo "    apt-get update && $install_cmd" >&2
    exit 1
fi

echo "bootstrap-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Another apt/dpkg process (e.g. unattended upgrades) may hold the locks:
# apt itself waits up to 5 minutes for them, and the whole step is retried a
# couple of times in case the lock was taken between two of apt's checks.
apt_opts=(-q -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Dpkg::Use-Pty=0)
attempt=1
until apt-get "${apt_opts[@]}" update -qq \
    && apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null; do
    if [ "$attempt" -ge 3 ]; then
        echo "bootstrap-system: apt-get failed; run: apt-get update && $install_cmd" >&2
        exit 1
    fi
    attempt=$((attempt + 1))
    echo "bootstrap-system: apt-get failed, retrying in 20s (attempt $attempt of 3)" >&2
    sleep 20
done

still_missing=()
for pkg in "${missing[@]}"; do
    is_installed "$pkg" || still_missing+=("$pkg")
done
if [ "${#still_missing[@]}" -ne 0 ]; then
    echo "bootstrap-system: still missing after install: ${still_missing[*]}" >&2
    exit 1
fi

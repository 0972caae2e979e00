#!/usr/bin/env bash
# Installs what Galvani's test suite needs and is not vendored: Postgres
# server binaries, Node.js with npm, and the npm packages of e2e/node from
# the committed lockfile. Safe to run repeatedly; a component that cannot
# be installed fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

have_postgres() {
	command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

apt_updated=""
apt_install() {
	if [ "$(id -u)" != 0 ]; then
		echo "install-test-deps: missing $*; install it (as root: apt-get install $*)" >&2
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! have_postgres; then
	echo "install-test-deps: installing Postgres server binaries"
	apt_install postgresql
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "install-test-deps: installing Node.js and npm"
	apt_install nodejs npm
fi

# The official Electric client, exactly as locked.
npm ci --prefix e2e/node --no-audit --no-fund --loglevel=error

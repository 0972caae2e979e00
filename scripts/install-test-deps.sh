#!/usr/bin/env bash
# Installs what Galvani's test suite needs and is not vendored: Postgres
# server binaries, Node.js with npm, nginx (the caching-proxy tests), and the
# npm packages of e2e/node and e2e/compat from their committed lockfiles.
# Safe to run repeatedly; a component that cannot be installed fails the run.
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

have_nginx() {
	[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1
}

if ! have_nginx; then
	echo "install-test-deps: installing nginx"
	# The package's postinst would start a system nginx on port 80; the tests
	# run their own. Keep it from starting unless a policy is already in place.
	policy=""
	if [ "$(id -u)" = 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy=/usr/sbin/policy-rc.d
		trap 'rm -f "$policy"' EXIT
	fi
	if ! apt_install nginx-light; then
		apt_install nginx
	fi
	if [ -n "$policy" ]; then
		rm -f "$policy"
		trap - EXIT
	fi
	if ! have_nginx; then
		echo "install-test-deps: nginx is still missing after apt-get install" >&2
		exit 1
	fi
fi

# The official Electric client, exactly as locked.
npm ci --prefix e2e/node --no-audit --no-fund --loglevel=error
# The compatibility drivers: @electric-sql/client, TanStack DB with its
# Electric collection, PGlite with pglite-sync, exactly as locked.
npm ci --prefix e2e/compat --no-audit --no-fund --loglevel=error

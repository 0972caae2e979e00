// Package e2e holds Galvani's end-to-end tests: the built galvani binary on
// a real Postgres, synced by the official Electric TypeScript client
// (installed from npm by the test command, see e2e/node), with random
// workloads compared to SELECT on Postgres and kill -9 restarts.
package e2e

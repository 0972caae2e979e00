// Package structure has no code: its tests check the repository's shape
// (every package documented, public packages free of server dependencies,
// the import rules of the architecture).
package structure

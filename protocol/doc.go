// Package protocol holds the vocabulary of the Electric HTTP shape protocol
// (v1) that Galvani's server and its Go client share: offsets, handles,
// header and parameter names, control messages and the error body. It
// depends on the standard library only, so any Go program can import it.
//
// Offsets are pairs (tx, op): tx is the commit LSN of a transaction as a
// decimal integer and op the position of a change in it, so an offset is a
// pure function of the write-ahead log. The snapshot occupies the virtual
// region 0_0 … 0_inf before any real change. See ParseOffset for the text
// forms.
package protocol

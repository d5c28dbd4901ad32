// Package blobtest is the conformance suite of blob.Store: every
// implementation's tests call Run with a constructor of fresh stores, and
// EncryptedRun for the encrypted layer over it.
//
// A Backend also lists its raw contents — every file under a directory,
// every object and every pending multipart upload in a bucket — so that
// the suite can assert that a refused or interrupted upload left nothing
// behind, looking past the Store interface.
package blobtest

// Package blob stores files — citizens' attachments, agencies' result
// documents — under slash-separated keys the caller builds
// ("applications/ID/attachmentID").
//
// Three implementations of one Store contract:
//
//   - Dir keeps files under a directory (the embedded default: the data
//     directory's attachments). A file is written to a temporary file on the
//     same file system, fsynced and renamed into place, so a reader sees the
//     whole file or none; temporaries of a crashed process live in the
//     root's ".tmp" directory, are never visible as blobs and are swept.
//   - S3 keeps objects in a bucket of any S3-compatible store through
//     github.com/minio/minio-go/v7. A small file is read into memory and
//     sent as one PUT; a large one as a multipart upload that is aborted on
//     any error, so neither a cut upload nor a too-large one leaves an
//     object or a pending upload behind.
//   - Encrypted wraps either in streaming AES-256-GCM (see encrypted.go for
//     the format): the store underneath sees only ciphertext; tampering,
//     truncation, reordering and files swapped between keys are detected.
//
// The contract (blobtest.Run checks it against every implementation):
//
//   - Keys are validated (ValidKey) and a bad one refused with ErrBadKey.
//   - Put stores at most max bytes (plaintext bytes for Encrypted). A
//     reader with more gives ErrTooLarge; a reader that fails gives its
//     error; in both cases nothing is stored and a previous file under the
//     key stays as it was. Put replaces a file atomically.
//   - Open of a missing key gives ErrNotFound.
//   - Delete and DeletePrefix are idempotent: deleting what is not there
//     is no error. DeletePrefix(p) deletes every key under "p/" (not "p"
//     itself, not "p2/…"), e.g. all attachments of one application.
//
// The package is the platform layer: it imports no module. Encryption keys
// come from the caller (cmd derives them from the master key) through the
// Keyring interface.
package blob

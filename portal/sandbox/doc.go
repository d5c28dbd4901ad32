// Package sandbox is the embedded default's agency signing key: in
// development mode every agency of the catalogue signs its result
// documents with it (a detached CMS signature, GOST R 34.10-2012), so that
// the citizen's download and its check by `gosid certs verify` can be
// tried. The key is a published test key (gen.sh made it with OpenSSL's
// GOST engine); production agencies sign with their own.
package sandbox

// Package certtest gives the tests of keys/cert and keys/cms the
// certificate fixtures made by keys/cert/testdata/gen.sh with OpenSSL's GOST
// engine: the committed copy always, and a freshly generated one when
// GOSID_OPENSSL_FIXTURES=1, so that the pure-Go code keeps agreeing with
// OpenSSL. See gen.sh for the list of files.
package certtest

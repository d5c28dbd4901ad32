// Package registrytest helps tests of the registry gateway adapter: a
// test CA that issues client certificates, and a gateway server on
// 127.0.0.1 that requires them (mutual TLS), as the real SMEV-like
// gateway does.
package registrytest

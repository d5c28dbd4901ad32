// Package client holds the relying parties registered with Gosid: their
// names for the consent page, redirect URIs, allowed scopes and grant
// types, how they authenticate at the token endpoint, and what they demand
// (minimum assurance level, first-party status, token formats).
//
// Clients are managed by operators with `gosid clients …`; the OIDC adapter
// (idp/oidc) reads them through a Cache on every request.
//
// # Rules
//
// Validate enforces what the provider relies on, listing every problem with
// the field it concerns: redirect URIs are absolute, exact (no wildcards, no
// fragments) and https, except http on loopback hosts and reverse-DNS
// private-use schemes of native apps (RFC 8252); public clients (auth method
// none) have no secret and no client_credentials grant; private_key_jwt
// clients register RSA or EC public keys, inline or by URL; refresh tokens
// come only with a grant that involves a citizen; scopes are the known,
// ESIA-style ones (KnownScopes, with the texts the consent page shows), and
// an authorization_code client asks for openid.
//
// # Secrets
//
// A client secret is a random 256-bit token, returned once by Create and
// RotateSecret and stored only as its SHA-256: a random secret of that size
// needs neither salt nor a slow hash, and a database dump yields no usable
// secret. CheckSecret compares in constant time and answers an unknown
// client and a wrong secret with the same error after the same work.
//
// # Replicas
//
// The clients table is the only truth. Every write to it (Create, Update,
// Delete, RotateSecret) also bumps a generation counter in the same
// transaction; the Cache in each process reads the counter at most every
// CacheCheckInterval (250 ms) and forgets every client when it moved, so a
// change made by the CLI or by another replica is in force everywhere
// within a second, without a database read per request.
//
// # PKCE
//
// Every client must send an S256 code_challenge with its authorization
// requests (RFC 9700 section 2.1.1); an operator may make it optional for a
// legacy confidential client, never for a public one.
package client

// Package oauthx holds what Gosid's OpenID Connect relying parties (the
// bank connector, the portal) say of a peer's answers in their logs: the
// reason an ID token failed, without quoting it, and an OAuth error code
// kept printable and short.
package oauthx

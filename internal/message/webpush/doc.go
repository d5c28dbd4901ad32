// Package webpush sends notifications to browsers through their push
// services: RFC 8030 (the protocol), RFC 8291 (payload encryption) and
// RFC 8292 (VAPID, the application server's identification). The portal
// renders a notification, stores the browser's subscription and calls
// Client.Send; this package only encrypts, signs and delivers.
//
// The flow:
//
//  1. The browser subscribes with the portal's VAPID public key
//     (VAPID.PublicKey, the applicationServerKey) and hands over
//     PushSubscription.toJSON(): an endpoint URL at its push service and
//     two keys. ParseSubscription validates it strictly; the endpoint is a
//     capability (whoever knows it can push), so it never appears in an
//     error or a log.
//
//  2. Send encrypts the payload for that browser (Encrypt: ECDH P-256 with
//     a fresh ephemeral key, HKDF-SHA-256 with the subscription's auth
//     secret, one AES-128-GCM record of the "aes128gcm" content coding,
//     RFC 8188, record size 4096, so the payload is at most 3993 bytes) and
//     POSTs it with TTL, Urgency, Topic and "Authorization: vapid t=<JWT>,
//     k=<public key>", where the JWT is ES256-signed and bound to the push
//     service's origin for 12 hours.
//
//  3. The push service answers, and Send tells the caller what to do.
//
// Send's outcomes:
//
//	nil             accepted (any 2xx)
//	ErrGone         404, 410: the subscription is dead; delete it
//	ErrTooLarge     413, or a payload over 3993 bytes: shorten it
//	ErrRejected     400, 401, 403, other 4xx: a configuration problem
//	                (keys, subject, clock); retrying will not help
//	ErrUnavailable  429, 408, 5xx, network errors: retry later, not before
//	                RetryAfter(err) when the service said when
//
// Decrypt is the receiving side (what a browser does); the push-service
// stand-in in package pushtest uses it, so the tests check that what was
// sent really decrypts.
//
// Why our own code rather than github.com/SherClockHolmes/webpush-go: it
// has no seam to inject the salt and the ephemeral key, so RFC 8291's test
// vector cannot be checked on the sending side, and it would bring
// golang-jwt beside the jwx we already use. The whole scheme is a few
// standard-library primitives (crypto/ecdh, crypto/hkdf, crypto/cipher,
// crypto/ecdsa) and a hand-built compact JWS.
package webpush

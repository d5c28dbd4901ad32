// Package pushtest is an in-memory stand-in for a browser's push service
// (RFC 8030), for tests and the development server, where no real push
// service (FCM, Mozilla autopush, Apple) can be reached.
//
// It plays both ends a real service sits between: it hands out
// subscriptions as a browser would (keys made here, endpoint pointing
// here), and it receives pushes, checking them as real services do before
// decrypting them with webpush.Decrypt and keeping the plaintext for the
// test to read. Routes, relative to where the caller mounts Handler (the
// handler sees paths as after http.StripPrefix):
//
//	POST /new            a new subscription, answered as the JSON of
//	                     PushSubscription.toJSON() (a browser test replaces
//	                     PushManager.subscribe with a fetch of this)
//	POST /push/{id}      the push endpoint: 404 unknown, 410 expired,
//	                     401/403 bad VAPID (missing, bad signature,
//	                     expired; wrong aud, exp beyond 24 h, bad sub),
//	                     400 bad Content-Encoding, TTL or ciphertext,
//	                     413 body over 4096 bytes; otherwise 201 with a
//	                     Location, the message recorded
//	GET  /messages/{id}  the messages received for a subscription, JSON
//
// Expire makes a subscription answer 410 and FailNext makes the next
// pushes fail with a chosen status, for the sender's error handling. A
// message with a Topic replaces the earlier one with the same topic, as
// undelivered messages are replaced by real services. Everything lives in
// memory behind a mutex: it is a stand-in of an external service, not part
// of Gosid's state.
package pushtest

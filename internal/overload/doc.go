// Package overload is the error a bounded resource (the password-hashing
// pool, the database pool) answers when it refuses to queue a request
// whose wait would exceed its budget, and the Retry-After it suggests.
package overload

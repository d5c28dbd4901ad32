// Package codestep is the "we sent you a code" step that registration,
// password recovery and contact changes share: issue a one-time code for a
// purpose and destination, send it (or, to avoid revealing that an account
// exists, send nothing or a notice instead), and check what the citizen
// types, with the otp package's errors turned into messages for people.
//
// It registers no routes: each flow renders the step in its own pages.
package codestep

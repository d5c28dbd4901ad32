// Package codestep is the "we sent you a code" step that registration,
// password recovery and contact changes share: issue a one-time code for a
// purpose and destination, send it (or, to avoid revealing that an account
// exists, send nothing or a notice instead), and check what the citizen
// types, with the otp package's errors turned into messages for people.
//
// Each flow renders the step in its own pages (Pages). A flow whose step is
// a page between its start and its next page (registration, recovery) lets
// Pages register the step's routes and run it — begin, show, check, send a
// new code, finish; a contact change uses the pieces inside its own routes.
package codestep

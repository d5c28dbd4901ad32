// Package authz holds the authorization decisions of Gosid's OpenID
// provider: once an authorization request is stored, what it still needs
// before a code is issued. The decisions are pure; idp/oidc reads the
// session, the account, the client and the stored grant, asks, and
// carries the answer out (a redirect, a page, an error to the site).
//
// The order, each step only once the ones before it are satisfied:
//
//	SignIn      no session, or one that does not satisfy the request:
//	            max_age exceeded, prompt=login or max_age=0 (a sign-in
//	            after the request began), an id_token_hint naming
//	            someone else
//	RaiseLevel  the account's assurance level is below the higher of the
//	            client's minimum and the lowest level acr_values accepts
//	StepUp      acr_values asks for urn:gosid:ac:mfa and the session has
//	            no second factor
//	Consent     a third-party site without a grant covering every
//	            requested scope, or prompt=consent
//	Complete    issue the code, with the acr of Complete's decision
//
// With prompt=none every step that would need the citizen is refused
// instead (login_required, interaction_required, consent_required), and a
// step-up for an account without a second factor is refused with
// unmet_authentication_requirements.
package authz

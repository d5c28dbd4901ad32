// Package idaschema validates OpenID Connect for Identity Assurance
// documents against the working group's JSON Schemas (draft 2020-12):
// verified_claims.json for what Gosid answers (userinfo, ID tokens) and
// verified_claims_request.json for claims parameters. The schemas are
// read from a directory (idp/oidc/testdata/oidc-ida, copied from the
// specification's repository); their $id URLs, which point to the working
// group's old host, are mapped to those files, so nothing is fetched.
//
// It is for tests (idp/oidc's and e2e's): Gosid itself never imports it.
package idaschema

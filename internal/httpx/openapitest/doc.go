// Package openapitest checks an API's requests and answers against its
// OpenAPI document in tests (pb33f/libopenapi-validator: OpenAPI 3.1,
// JSON Schema 2020-12), so that the document integrators read stays true.
package openapitest

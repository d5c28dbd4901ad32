// Package catalog is the portal's catalogue of services as data: what each
// service is (title, description, agency, category, kind, regions), who may
// use it (the minimum assurance level, a second factor, an e-signature), the
// form a citizen fills in (fields, rules, pre-fill from the profile), the
// documents to attach, the processing time and the fee.
//
// Definitions live in YAML files. The binary embeds defaults
// (services/*.yaml, seeded by SeedDefaults into an empty catalogue);
// operators import and export files with `gosid portal services
// import|export|list` (Commands). A file is decoded strictly (an unknown key
// is an error) and every service in it is checked before anything is
// written: Load returns every problem at once, each naming the file, the
// service and the field ("services/passport.yaml: passport-20:
// form.fields[3].rules.pattern: invalid regexp").
//
// The Store keeps definitions as JSON in portal_services and a catalogue
// version in portal_catalog_version, bumped by every import in the same
// transaction, so that every replica's search index (package
// catalog/search) notices a change by reading one row.
//
// Validate checks the values a citizen typed against a form and returns one
// message per field, in Russian or English, naming the field.
package catalog

// Package catalog is the portal's catalogue of services as data: what each
// service is (title, description, agency, category, kind, regions), who may
// use it (the minimum assurance level, a second factor, an e-signature), the
// form a citizen fills in (fields, rules, pre-fill from the profile), the
// documents to attach, the processing time and the fee.
//
// Definitions live in YAML files. The binary embeds defaults
// (services/*.yaml, Defaults). A file is decoded strictly (an unknown key is
// an error) and every service in it is checked before anything is written:
// Load returns every problem at once, each naming the file, the service and
// the field ("services/passport.yaml: passport-20:
// form.fields[3].rules.pattern: invalid regexp").
//
// The default services keep to the product documents and common
// knowledge; their fees and processing times are demonstration figures
// that each agency confirms by importing its own definitions.
//
// Storage, seeding and the `gosid portal services` commands are in
// catalog/store, search in catalog/search. This package touches no
// database: definitions and form validation are usable without one (the
// applications' pages validate forms from the search index's copies), and
// its fuzz targets build without the SQL drivers.
//
// Validate checks the values a citizen typed against a form and returns one
// message per field, in Russian or English, naming the field.
package catalog

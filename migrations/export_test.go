package migrations

import "io/fs"

// Schema is the runner over a made-up set of migrations, so that tests can
// check its rules (gaps, modules without migrations, order) on sets other
// than Gosid's own.
type Schema = schema

// NewSchema returns the runner over fsys, laid out as MODULE/DIALECT/NNNN_name.sql.
func NewSchema(fsys fs.FS, modules ...string) *Schema {
	return &schema{fsys: fsys, modules: modules}
}

// ConvertOnce is the bookkeeping conversion without its first check outside
// a transaction, as a runner that lost the race to another meets it.
var ConvertOnce = convertOnce

package migrations

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/gosid/gosid/internal/sqldb"
)

// LogApplied logs one line per module that got migrations.
func LogApplied(log *slog.Logger, d sqldb.Dialect, applied []Migration) {
	for _, module := range modules {
		var versions []int
		for _, m := range applied {
			if m.Module == module {
				versions = append(versions, m.Version)
			}
		}
		if len(versions) > 0 {
			log.Info("database schema migrated", "module", module, "dialect", d, "applied", versions, "head", Head(d, module))
		}
	}
}

// WriteSummary writes one line per module: what this run applied, and the
// version the database is at.
//
//	Database: sqlite.
//	idp: applied 0014_oidc_hardening, 0015_refresh_grace; at version 15.
//	verification: no
func WriteSummary(w io.Writer, d sqldb.Dialect, applied []Migration, report Report) {
	fmt.Fprintf(w, "Database: %s.\n", d)
	for _, module := range Modules() {
		var names []string
		for _, m := range applied {
			if m.Module == module {
				names = append(names, fmt.Sprintf("%04d_%s", m.Version, m.Name))
			}
		}
		var parts []string
		if len(names) > 0 {
			parts = append(parts, "applied "+strings.Join(names, ", "))
		}
		for _, st := range report {
			switch {
			case st.Module != module:
			case st.Head == 0 && st.Current == 0:
				parts = append(parts, "no migrations")
			case len(names) == 0 && st.Current > st.Head:
				parts = append(parts, fmt.Sprintf("nothing to apply; at version %d (this binary knows up to %d)", st.Current, st.Head))
			case len(names) == 0:
				parts = append(parts, fmt.Sprintf("nothing to apply; at version %d", st.Current))
			default:
				parts = append(parts, fmt.Sprintf("at version %d", st.Current))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s: %s.\n", module, strings.Join(parts, "; "))
		}
	}
}

package account

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// ImportHelp is the text of `gosid accounts import --help`.
const ImportHelp = "Loads accounts from a CSV or JSONL file (or - for standard input): test accounts, or a migration from another identity system. " +
	"Fields: external_id, phone, email (at least one), password_hash (an argon2id PHC string, stored as is) or password (plain, hashed here), " +
	"family_name, given_name, middle_name, birthdate (YYYY-MM-DD), gender, and as the citizen's unverified claims snils, inn, " +
	"passport_series, passport_number, passport_issue_date, passport_issuer, division_code. " +
	"A record with problems is reported by line and field and the others go on; the exit code is 1 if any failed. " +
	"A re-run skips what it loaded before (same external_id, or for records without one the same contacts and name)."

// maxImportBatch bounds --batch: a transaction of more records holds its
// locks longer and gains nothing (round trips are already few per record).
const maxImportBatch = 10000

// ImportCommand is `gosid accounts import [options] FILE|-`: the bulk
// loader (Admin.Import) at the command line. Each failed record's problems
// go to ImportEnv.Err as they are met, the totals to ImportEnv.Out at the
// end; Run returns cmdline.ErrReported (exit 1) when any record failed,
// after every good one is in. cmd/gosid opens the database and the keys
// and runs it, as it does the other subcommands of `gosid accounts`.
type ImportCommand struct {
	s                *cmdline.Set
	format           string
	batch            int
	dryRun           bool
	contactsVerified bool
	argon2Memory     int
	argon2Time       int
	argon2Threads    int
}

// ImportEnv is what an import works on: the database, the keys the
// account store and the activity log need, and its input and output.
type ImportEnv struct {
	DB   *sqldb.DB
	Keys AdminKeys
	Log  *slog.Logger
	// In is read for the file "-" (standard input).
	In       io.Reader
	Out, Err io.Writer
	// Prog begins each problem's line on Err ("gosid").
	Prog string
	JSON bool
}

// Register adds the command's options to s (after the storage, keys and
// log options and --json cmd/gosid adds).
func (c *ImportCommand) Register(s *cmdline.Set) {
	c.s = s
	def := password.DefaultParams()
	s.Enum(&c.format, "format", "", []string{"", "csv", "jsonl"}, "csv or jsonl; by default from the file's extension (.jsonl, .ndjson), otherwise csv.")
	s.Int(&c.batch, "batch", DefaultImportBatch, "Records per transaction.")
	s.Bool(&c.dryRun, "dry-run", false, "Check every record, against the database too, and write nothing.")
	s.Bool(&c.contactsVerified, "contacts-verified", false, "The source system verified the phones and e-mails: store them verified (they sign in at once and are unique). Otherwise they wait for a code.")
	s.Int(&c.argon2Memory, "argon2-memory", int(def.Memory), "argon2id memory for plain passwords, KiB (as serve's).")
	s.Int(&c.argon2Time, "argon2-time", int(def.Time), "argon2id passes.")
	s.Int(&c.argon2Threads, "argon2-threads", int(def.Threads), "argon2id lanes.")
	s.AllowArgs("FILE|-")
}

// Check adds the problems of the options and arguments given, before
// anything is opened or read.
func (c *ImportCommand) Check(p *cmdline.Problems) {
	if len(c.s.Args()) != 1 {
		p.Add("give exactly one file to import, or - for standard input")
	}
	if c.batch < 1 || c.batch > maxImportBatch {
		p.Add("%s: between 1 and %d", c.s.Source("batch"), maxImportBatch)
	}
	if err := c.argon2().Validate(); err != nil {
		p.Add("--argon2-memory, --argon2-time, --argon2-threads: %v", err)
	}
}

func (c *ImportCommand) argon2() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = uint32(max(c.argon2Memory, 0)), uint32(max(c.argon2Time, 0)), uint8(min(max(c.argon2Threads, 0), 255))
	return p
}

// formatOf is the file's format: the option, or the file's extension, or
// CSV.
func (c *ImportCommand) formatOf(path string) ImportFormat {
	if c.format != "" {
		return ImportFormat(c.format)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return ImportJSONL
	}
	return ImportCSV
}

// Run imports the file. A file that cannot be opened or read as its
// format is the operator's to fix (cmdline.Usage).
func (c *ImportCommand) Run(ctx context.Context, env ImportEnv) error {
	path := c.s.Args()[0]
	in := env.In
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return cmdline.Usage(err)
		}
		defer f.Close()
		in = f
	}
	records, err := NewImportReader(in, c.formatOf(path))
	if err != nil {
		return cmdline.Usage(err)
	}
	admin, err := NewAdmin(env.DB, env.Keys, env.Log, time.Now)
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(c.argon2(), 0)
	if err != nil {
		return err
	}
	admin.Hash = hasher.Hash
	var problems []ImportProblem
	report, err := admin.Import(ctx, records, ImportOptions{Batch: c.batch, DryRun: c.dryRun, ContactsVerified: c.contactsVerified,
		// A long import shows its progress at --log-level info.
		Progress: func(r ImportReport) {
			env.Log.InfoContext(ctx, "import progress", "read", r.Read, "imported", r.Imported, "skipped", r.Skipped, "failed", r.Failed)
		},
		Problem: func(p ImportProblem) {
			if env.JSON {
				problems = append(problems, p)
			} else {
				fmt.Fprintf(env.Err, "%s: %v\n", env.Prog, p)
			}
		}})
	if env.JSON {
		cmdline.WriteJSON(env.Out, struct {
			ImportReport
			DryRun   bool            `json:"dry_run,omitempty"`
			Problems []ImportProblem `json:"problems"`
		}{report, c.dryRun, append([]ImportProblem{}, problems...)})
	} else {
		verb := "imported"
		if c.dryRun {
			verb = "would import"
		}
		fmt.Fprintf(env.Out, "read %d, %s %d, skipped %d (imported before), failed %d\n", report.Read, verb, report.Imported, report.Skipped, report.Failed)
	}
	if err != nil {
		return err
	}
	if report.Failed > 0 {
		return cmdline.ErrReported
	}
	return nil
}

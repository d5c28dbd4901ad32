package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/cmdline"
)

// importOptions are `gosid accounts import`'s own options.
type importOptions struct {
	Format           string
	Batch            int
	DryRun           bool
	ContactsVerified bool
	Argon2Memory     int
	Argon2Time       int
	Argon2Threads    int
}

func (o *importOptions) argon2() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = uint32(max(o.Argon2Memory, 0)), uint32(max(o.Argon2Time, 0)), uint8(min(max(o.Argon2Threads, 0), 255))
	return p
}

// format is the file's format: the option, or the file's extension, or CSV.
func (o *importOptions) format(path string) account.ImportFormat {
	if o.Format != "" {
		return account.ImportFormat(o.Format)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return account.ImportJSONL
	}
	return account.ImportCSV
}

// maxImportBatch bounds --batch: a transaction of more records holds its
// locks longer and gains nothing (round trips are already few per record).
const maxImportBatch = 10000

// runAccountsImport is `gosid accounts import [options] FILE|-`: the bulk
// loader of idp/account (Admin.Import). Each failed record's problems go
// to stderr as they are met, the totals to stdout at the end; exit 1 when
// any record failed, after every good one is in.
func runAccountsImport(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var o importOptions
	def := password.DefaultParams()
	s := c.flags("accounts import", "Loads accounts from a CSV or JSONL file (or - for standard input): test accounts, or a migration from another identity system. "+
		"Fields: external_id, phone, email (at least one), password_hash (an argon2id PHC string, stored as is) or password (plain, hashed here), "+
		"family_name, given_name, middle_name, birthdate (YYYY-MM-DD), gender, and as the citizen's unverified claims snils, inn, "+
		"passport_series, passport_number, passport_issue_date, passport_issuer, division_code. "+
		"A record with problems is reported by line and field and the others go on; the exit code is 1 if any failed. "+
		"A re-run skips what it loaded before (same external_id, or for records without one the same contacts and name).", true)
	s.Enum(&o.Format, "format", "", []string{"", "csv", "jsonl"}, "csv or jsonl; by default from the file's extension (.jsonl, .ndjson), otherwise csv.")
	s.Int(&o.Batch, "batch", account.DefaultImportBatch, "Records per transaction.")
	s.Bool(&o.DryRun, "dry-run", false, "Check every record, against the database too, and write nothing.")
	s.Bool(&o.ContactsVerified, "contacts-verified", false, "The source system verified the phones and e-mails: store them verified (they sign in at once and are unique). Otherwise they wait for a code.")
	s.Int(&o.Argon2Memory, "argon2-memory", int(def.Memory), "argon2id memory for plain passwords, KiB (as serve's).")
	s.Int(&o.Argon2Time, "argon2-time", int(def.Time), "argon2id passes.")
	s.Int(&o.Argon2Threads, "argon2-threads", int(def.Threads), "argon2id lanes.")
	s.AllowArgs("FILE|-")
	check := func(p *cmdline.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one file to import, or - for standard input")
		}
		if o.Batch < 1 || o.Batch > maxImportBatch {
			p.Add("%s: between 1 and %d", s.Source("batch"), maxImportBatch)
		}
		if err := o.argon2().Validate(); err != nil {
			p.Add("--argon2-memory, --argon2-time, --argon2-threads: %v", err)
		}
	}
	return c.run(ctx, env, s, args, true, check, func(op opened) error {
		path := s.Args()[0]
		var in io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return cmdline.Usage(err)
			}
			defer f.Close()
			in = f
		}
		records, err := account.NewImportReader(in, o.format(path))
		if err != nil {
			return cmdline.Usage(err)
		}
		admin, err := account.NewAdmin(op.db, op.km, op.log, time.Now)
		if err != nil {
			return err
		}
		hasher, err := password.NewHasher(o.argon2(), 0)
		if err != nil {
			return err
		}
		admin.Hash = hasher.Hash
		var problems []account.ImportProblem
		report, err := admin.Import(ctx, records, account.ImportOptions{Batch: o.Batch, DryRun: o.DryRun, ContactsVerified: o.ContactsVerified,
			// A long import shows its progress at --log-level info.
			Progress: func(r account.ImportReport) {
				op.log.InfoContext(ctx, "import progress", "read", r.Read, "imported", r.Imported, "skipped", r.Skipped, "failed", r.Failed)
			},
			Problem: func(p account.ImportProblem) {
				if c.JSON {
					problems = append(problems, p)
				} else {
					fmt.Fprintf(env.Stderr, "%s: %v\n", env.Prog, p)
				}
			}})
		if c.JSON {
			cmdline.WriteJSON(env.Stdout, struct {
				account.ImportReport
				DryRun   bool                    `json:"dry_run,omitempty"`
				Problems []account.ImportProblem `json:"problems"`
			}{report, o.DryRun, append([]account.ImportProblem{}, problems...)})
		} else {
			verb := "imported"
			if o.DryRun {
				verb = "would import"
			}
			fmt.Fprintf(env.Stdout, "read %d, %s %d, skipped %d (imported before), failed %d\n", report.Read, verb, report.Imported, report.Skipped, report.Failed)
		}
		if err != nil {
			return err
		}
		if report.Failed > 0 {
			return cmdline.ErrReported
		}
		return nil
	})
}

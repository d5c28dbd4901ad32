package letter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

// Command is one `gosid letters` subcommand ("export", "sent", "list"):
// its options, its checks before the database is opened, and its work.
type Command struct {
	Name, Synopsis string
	s              *cmdline.Set
	out, site      string
	tracking       string
	status         string
}

// Commands are the `gosid letters` subcommands; run parses one's options
// (Register), opens the database and the keys, and calls its Run
// (cmd/gosid holds the database options).
func Commands(run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	defs := []struct{ name, synopsis string }{
		{"export", "write the ordered letters (PDF) and the post office's register (CSV) into --out DIR, making their codes"},
		{"sent", "record the tracking numbers of sent letters from --tracking FILE.csv (letter id, tracking number)"},
		{"list", "list the letters (--status to choose one status)"},
		{"cancel", "withdraw a letter not yet sent (a lost or spoilt printout): the citizen may order again at once"},
	}
	out := make([]cmdline.Command, len(defs))
	for i, d := range defs {
		out[i] = cmdline.Command{Name: d.name, Synopsis: d.synopsis, Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			return run(ctx, env, args, &Command{Name: d.name, Synopsis: d.synopsis})
		}}
	}
	return out
}

// Register adds the subcommand's options to s.
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	switch c.Name {
	case "export":
		s.String(&c.out, "out", "", "Directory to write the letters PDF and the register CSV into (created if missing; files are never overwritten).")
		s.String(&c.site, "public-url", "http://localhost:8080", "Public URL of the identity provider, printed in the letters as where to enter the code.")
	case "sent":
		s.String(&c.tracking, "tracking", "", "CSV file of sent letters: letter id, tracking number (14 digits, or 13 characters like RA123456785RU); a header line is allowed. All lines are applied or none.")
	case "list":
		all := []string{"", string(Ordered), string(Exported), string(Sent), string(Confirmed), string(Spent), string(Expired), string(Cancelled)}
		s.Enum(&c.status, "status", "", all, "Only letters of this status.")
	case "cancel":
		s.AllowArgs("LETTER_ID")
	}
}

// Check adds the problems of the options given.
func (c *Command) Check(p *cmdline.Problems) {
	switch {
	case c.Name == "export" && c.out == "":
		p.Add("%s: required", c.s.Source("out"))
	case c.Name == "sent" && c.tracking == "":
		p.Add("%s: required", c.s.Source("tracking"))
	case c.Name == "cancel" && (len(c.s.Args()) != 1 || !validID(c.s.Args()[0])):
		p.Add("give exactly one letter id")
	}
}

// Run does the subcommand on db with the keys km, writing to w.
func (c *Command) Run(ctx context.Context, db *sqldb.DB, km *keys.Manager, w io.Writer) error {
	st := NewStore(db, km, km, audit.New(db, km, time.Now), time.Now)
	switch c.Name {
	case "export":
		if err := os.MkdirAll(c.out, 0o700); err != nil {
			return cmdline.Usage(err)
		}
		b, err := Export(ctx, st, c.out, c.site, time.Now())
		if err != nil {
			return err
		}
		if b.Letters == 0 {
			fmt.Fprintln(w, "no letters to export")
			return nil
		}
		fmt.Fprintf(w, "%d letters\n%s\n%s\n", b.Letters, b.PDF, b.Register)
		return nil
	case "sent":
		f, err := os.Open(c.tracking)
		if err != nil {
			return cmdline.Usage(err)
		}
		defer f.Close()
		good, bad, err := ParseTracking(f)
		if err != nil {
			return cmdline.Usage(fmt.Errorf("%s: %w", c.tracking, err))
		}
		if len(bad) == 0 {
			var n int
			n, err = st.Sent(ctx, good, audit.Actor{Kind: audit.ActorAdmin, ID: "cli"})
			var se *SentError
			if errors.As(err, &se) {
				bad = se.Lines
			} else if err != nil {
				return err
			}
			if err == nil {
				fmt.Fprintf(w, "%d letters sent (%d lines already recorded)\n", n, len(good)-n)
				return nil
			}
		}
		slices.SortFunc(bad, func(a, b LineError) int { return a.Line - b.Line })
		msgs := make([]string, len(bad))
		for i, b := range bad {
			msgs[i] = c.tracking + ":" + b.Error()
		}
		return cmdline.Usage(fmt.Errorf("nothing recorded; fix these lines and run again:\n%s", strings.Join(msgs, "\n")))
	case "cancel":
		if err := st.Cancel(ctx, c.s.Args()[0], audit.Actor{Kind: audit.ActorAdmin, ID: "cli"}); err != nil {
			return err
		}
		fmt.Fprintln(w, "cancelled")
		return nil
	}
	ls, err := st.List(ctx, Status(c.status))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-36s  %-9s  %-20s  %-14s  %s\n", "LETTER", "STATUS", "ORDERED", "TRACKING", "TRIES")
	for _, l := range ls {
		fmt.Fprintf(w, "%-36s  %-9s  %-20s  %-14s  %d\n", l.ID, l.Status, cmdline.Time(l.OrderedAt), cmp.Or(l.Tracking, "-"), l.Tries)
	}
	return nil
}

package portal

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/notify"
)

// NotifyCommand is `gosid portal notify`: send news to a category's
// subscribers. The servers' bulk queue does the sending; the command
// records the broadcast, enqueues it and (with --wait, the default)
// prints its progress until it is done.
type NotifyCommand struct {
	Category, Title, BodyFile string
	Wait                      bool
	Every                     time.Duration
	body                      string
}

// Synopsis is the command's one line of help.
const NotifySynopsis = "send news to the subscribers of a category (--category, --title, --body-file) and follow its progress"

// Register adds the command's options.
func (c *NotifyCommand) Register(s *cmdline.Set) {
	s.String(&c.Category, "category", "", fmt.Sprintf("The category of news: one of %v.", notify.Categories))
	s.String(&c.Title, "title", "", "The title: one line, up to 200 characters (the e-mail's subject, the push's title).")
	s.String(&c.BodyFile, "body-file", "", "A UTF-8 text file with the body; blank lines separate paragraphs.")
	s.Bool(&c.Wait, "wait", true, "Print progress until every subscriber has been sent to.")
	s.Duration(&c.Every, "every", 2*time.Second, "How often --wait prints progress.")
}

// Check reads the body file and validates the broadcast, naming the flag.
func (c *NotifyCommand) Check(s *cmdline.Set, p *cmdline.Problems) {
	if c.BodyFile == "" {
		p.Add("%s: required", s.Source("body-file"))
	} else if b, err := os.ReadFile(c.BodyFile); err != nil {
		p.Add("%s: %v", s.Source("body-file"), err)
	} else {
		c.body = string(b)
	}
	if err := (Broadcast{Category: notify.Category(c.Category), Title: c.Title, Body: c.body}).Validate(); err != nil {
		if be, ok := err.(*BroadcastError); ok && !(be.Field == "body" && c.body == "") {
			name := be.Field
			if name == "body" {
				name = "body-file"
			}
			p.Add("%s: %s", s.Source(name), be.Problem)
		}
	}
	if c.Every <= 0 {
		p.Add("%s: must be positive", s.Source("every"))
	}
}

// Run starts the broadcast on db and follows it.
func (c *NotifyCommand) Run(ctx context.Context, db *sqldb.DB, out io.Writer) error {
	q, err := jobs.New(db, jobs.Config{})
	if err != nil {
		return err
	}
	if err := RegisterBroadcastKinds(q); err != nil {
		return err
	}
	id, total, err := StartBroadcast(ctx, db, q, Broadcast{Category: notify.Category(c.Category), Title: c.Title, Body: c.body}, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "broadcast %s: %d subscribers of %s\n", id, total, c.Category)
	if !c.Wait {
		return nil
	}
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for {
		p, err := Progress(ctx, db, id)
		if err != nil {
			return err
		}
		elapsed := time.Since(p.Started).Seconds()
		fmt.Fprintf(out, "%s: %d of %d sent (%.0f/s)\n", p.Status, p.Done, p.Total, float64(p.Done)/max(elapsed, 0.001))
		if p.Status == "done" {
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "stopped following; the broadcast goes on (gosid_portal_broadcast_done{id=%q})\n", id)
			return nil
		case <-t.C:
		}
	}
}

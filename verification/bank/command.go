package bank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one `gosid banks` subcommand ("add", "list", "update",
// "remove"): its options on the set, its checks before the database is
// opened, and its work on it.
type Command struct {
	name string
	o    Options
	s    *cmdline.Set
	bank Bank
}

// NewCommand registers subcommand name's options on s.
func NewCommand(name string, s *cmdline.Set) *Command {
	c := &Command{name: name, s: s}
	if name == "add" || name == "update" {
		c.o.Register(s)
	}
	if name == "update" || name == "remove" {
		s.AllowArgs("BANK_ID")
	}
	return c
}

// Check adds the problems of the options given.
func (c *Command) Check(p *cmdline.Problems) {
	switch c.name {
	case "update", "remove":
		if len(c.s.Args()) != 1 {
			p.Add("give exactly one bank id")
		}
	case "add":
		var probs []string
		c.bank, probs = c.o.Bank()
		for _, pr := range probs {
			p.Add("%s", pr)
		}
	}
}

// Run does the subcommand on db, writing a list to w.
func (c *Command) Run(ctx context.Context, db *sqldb.DB, w io.Writer) error {
	st := NewStore(db, time.Now)
	switch c.name {
	case "add":
		return st.Add(ctx, c.bank)
	case "list":
		banks, err := st.List(ctx)
		if err == nil {
			WriteList(w, banks)
		}
		return err
	case "remove":
		return st.Remove(ctx, c.s.Args()[0])
	}
	old, err := st.Get(ctx, c.s.Args()[0])
	if err != nil {
		return err
	}
	b, probs := c.o.Over(*old)
	if len(probs) > 0 {
		return cmdline.Usage(errors.New(strings.Join(probs, "; ")))
	}
	return st.Update(ctx, b)
}

// CheckPartner reports whether id ("" for none) names a bank a client may
// act for at the partner API.
func CheckPartner(ctx context.Context, db *sqldb.DB, id string) error {
	if id == "" {
		return nil
	}
	_, err := NewStore(db, time.Now).Get(ctx, id)
	if errors.Is(err, sqldb.ErrNotFound) {
		return fmt.Errorf("--partner: no bank %q (see gosid banks list)", id)
	}
	return err
}

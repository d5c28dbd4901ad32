package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gosid/gosid/portal/catalog"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one subcommand of `gosid portal services` (import, export,
// list): its options, its checks before the database is opened (import
// reads and checks its files there, so a broken file is refused with
// nothing opened or written), and its work on the database. cmd/gosid
// opens the portal's database and runs it.
type Command struct {
	Name, Synopsis string
	sub            string
	s              *cmdline.Set
	filter         Filter
	loaded         []catalog.Service
}

// Env is what a command works on.
type Env struct {
	DB   *sqldb.DB
	Out  io.Writer
	JSON bool
	Now  func() time.Time
}

// Commands are the subcommands of `gosid portal services`, each run by run,
// which parses the options Register adds and calls Check and Run.
func Commands(run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	var out []cmdline.Command
	for _, sc := range [][2]string{
		{"import", "import service definitions from YAML files, all or nothing (services with the same id are replaced)"},
		{"export", "write every service of the catalogue to DIR as ID.yaml, ready to edit and import back"},
		{"list", "list the services of the catalogue, by category and agency"},
	} {
		c := &Command{Name: "portal services " + sc[0], Synopsis: sc[1], sub: sc[0]}
		out = append(out, cmdline.Command{Name: sc[0], Synopsis: sc[1], Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			return run(ctx, env, args, c)
		}})
	}
	return out
}

// Register adds the subcommand's options to s.
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	switch c.sub {
	case "import":
		s.AllowArgs("FILE.yaml...")
	case "export":
		s.AllowArgs("DIR")
	case "list":
		s.String(&c.filter.Category, "category", "", "Only the services of this category (passports, taxes, family…).")
		s.String(&c.filter.Agency, "agency", "", "Only the services of this agency code (mvd, fns, sfr…).")
	}
}

// Check adds the problems of the arguments: import reads and checks every
// file given and adds each problem, naming the file, the service and the
// field.
func (c *Command) Check(p *cmdline.Problems) {
	args := c.s.Args()
	switch c.sub {
	case "import":
		if len(args) == 0 {
			p.Add("give one or more YAML files of services")
			return
		}
		var files []catalog.File
		for _, name := range args {
			data, err := readFile(name)
			if err != nil {
				p.Add("%s: %v", name, err)
				continue
			}
			files = append(files, catalog.File{Name: name, Data: data})
		}
		svcs, err := catalog.Load(files)
		var probs catalog.Problems
		if errors.As(err, &probs) {
			for _, line := range probs {
				p.Add("%s", line)
			}
		}
		c.loaded = svcs
	case "export":
		if len(args) != 1 {
			p.Add("give exactly one directory to export to")
		}
	case "list":
		if _, ok := catalog.Categories[c.filter.Category]; c.filter.Category != "" && !ok {
			p.Add("%s: unknown category %q", c.s.Source("category"), c.filter.Category)
		}
	}
}

// readFile reads a definitions file of at most catalog.MaxFileSize bytes.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, catalog.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > catalog.MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", catalog.MaxFileSize)
	}
	return data, nil
}

// Run does the subcommand.
func (c *Command) Run(ctx context.Context, env Env) error {
	now := env.Now
	if now == nil {
		now = time.Now
	}
	st := NewStore(env.DB, now)
	switch c.sub {
	case "import":
		v, err := st.Import(ctx, c.loaded)
		if err != nil {
			return err
		}
		if env.JSON {
			cmdline.WriteJSON(env.Out, map[string]int64{"imported": int64(len(c.loaded)), "version": v})
		} else {
			fmt.Fprintf(env.Out, "Imported %d services; the catalogue is at version %d.\n", len(c.loaded), v)
		}
	case "export":
		files, err := st.Export(ctx, c.s.Args()[0])
		if err != nil {
			return err
		}
		if env.JSON {
			cmdline.WriteJSON(env.Out, map[string]any{"files": files})
		} else {
			fmt.Fprintf(env.Out, "Exported %d services to %s.\n", len(files), c.s.Args()[0])
		}
	case "list":
		svcs, err := st.List(ctx, c.filter)
		if err != nil {
			return err
		}
		type row struct {
			ID       string        `json:"id"`
			Title    string        `json:"title"`
			Category string        `json:"category"`
			Agency   string        `json:"agency"`
			Kind     catalog.Kind  `json:"kind"`
			Level    catalog.Level `json:"level"`
		}
		rows := []row{}
		var table [][]string
		for _, s := range svcs {
			rows = append(rows, row{s.ID, s.Title.RU, s.Category, s.Agency.Code, s.Kind, s.Level})
			table = append(table, []string{s.ID, string(s.Kind), s.Agency.Code, string(s.Level), s.Title.RU})
		}
		if env.JSON {
			cmdline.WriteJSON(env.Out, rows)
		} else {
			cmdline.WriteTable(env.Out, []string{"ID", "KIND", "AGENCY", "LEVEL", "TITLE"}, table)
		}
	}
	return nil
}

package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a YAML file of service definitions:
//
//	services:
//	  - id: passport-20
//	    title: {ru: …, en: …}
//	    …
type File struct {
	Name string // as the operator named it; messages use it
	Data []byte
}

// MaxFileSize bounds one definitions file.
const MaxFileSize = 4 << 20

// fileBody is a file's one YAML document.
type fileBody struct {
	Services []Service `yaml:"services"`
}

// Problems is every problem of the files given to Load, one per line, each
// naming the file, the service and the field.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// IsProblems reports whether err lists definitions' problems (nothing was
// written) rather than a storage failure.
func IsProblems(err error) bool {
	var p Problems
	return errors.As(err, &p)
}

// Load decodes and checks files and returns their services in the order
// given. It returns Problems naming every problem of every file — unknown
// keys, wrong types, invalid definitions, an id given twice — and no
// services when there is any.
func Load(files []File) ([]Service, error) {
	var out []Service
	var probs Problems
	seen := map[string]string{}  // id → file
	ogrns := map[string]string{} // agency code → the first OGRN given
	for _, f := range files {
		svcs, err := decode(f.Data)
		if err != nil {
			probs = append(probs, f.Name+": "+err.Error())
			continue
		}
		if len(svcs) == 0 {
			probs = append(probs, f.Name+": no services (the file needs a list under services:)")
		}
		for i, s := range svcs {
			who := s.ID
			if who == "" {
				who = fmt.Sprintf("services[%d]", i)
			}
			for _, p := range s.Check() {
				probs = append(probs, f.Name+": "+who+": "+p)
			}
			if prev, dup := seen[s.ID]; dup && s.ID != "" {
				probs = append(probs, f.Name+": "+who+": id: also defined in "+prev)
			}
			seen[s.ID] = f.Name
			if prev := ogrns[s.Agency.Code]; prev == "" {
				ogrns[s.Agency.Code] = s.Agency.OGRN
			} else if s.Agency.OGRN != prev && s.Agency.OGRN != "" {
				probs = append(probs, f.Name+": "+who+": agency.ogrn: "+s.Agency.Code+" is given OGRN "+prev+" elsewhere")
			}
		}
		out = append(out, svcs...)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

// decode reads a file's single YAML document strictly: unknown keys are
// errors, and so is a second document.
func decode(data []byte) ([]Service, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var body fileBody
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	return body.Services, nil
}

// yamlError makes the decoder's message one line without its "yaml: "
// prefix: "line 7: field titel not found in type catalog.Service".
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// Marshal writes services as one file's YAML, which Load reads back into
// the same definitions.
func Marshal(services []Service) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(fileBody{Services: services}); err != nil {
		return nil, fmt.Errorf("catalog: marshal: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("catalog: marshal: %w", err)
	}
	return b.Bytes(), nil
}

//go:embed services/*.yaml
var defaults embed.FS

// Defaults returns the embedded default catalogue (services/*.yaml), checked
// as an import would check it.
func Defaults() ([]Service, error) { return Load(DefaultFiles()) }

// DefaultFiles returns the embedded default files, named services/NAME.yaml.
func DefaultFiles() []File {
	names, err := fs.Glob(defaults, "services/*.yaml")
	if err != nil {
		panic(err) // a constant pattern
	}
	slices.Sort(names)
	var files []File
	for _, n := range names {
		data, err := defaults.ReadFile(n)
		if err != nil {
			panic(err) // embedded at build time
		}
		files = append(files, File{Name: path.Join("services", path.Base(n)), Data: data})
	}
	return files
}

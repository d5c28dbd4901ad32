package cmdline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseFile reads the YAML config file: one mapping from option names to
// values. Every problem starts with "config file PATH".
func (s *Set) parseFile(path string, probs *Problems) sourceValues {
	sv := newSourceValues()
	prefix := "config file " + path
	data, err := s.readFile(path)
	if err != nil {
		probs.Add("%s: cannot read: %s", prefix, readError(err))
		return sv
	}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return sv // empty file
	} else if err != nil {
		probs.Add("%s: %s", prefix, yamlError(err))
		return sv
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		probs.Add("%s: line %d: a second YAML document; put every option in one mapping", prefix, more.Line)
	} else if !errors.Is(err, io.EOF) {
		probs.Add("%s: %s", prefix, yamlError(err))
	}

	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return sv
		}
		root = root.Content[0]
	}
	root = resolve(root)
	if root == nil || isNull(root) {
		return sv // a file holding only comments or "---"
	}
	if root.Kind != yaml.MappingNode {
		probs.Add("%s: line %d: expected a mapping of option names to values, as in \"data-dir: /var/lib/gosid\"", prefix, root.Line)
		return sv
	}

	seen := make(map[string]int) // key → line
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		at := fmt.Sprintf("%s: line %d", prefix, k.Line)
		if k.Kind != yaml.ScalarNode {
			probs.Add("%s: a key must be an option name", at)
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			probs.Add("%s: key %q appears again (first on line %d)", at, name, first)
			continue
		}
		seen[name] = k.Line
		o := s.byName[name]
		switch {
		case name == configName:
			probs.Add("%s: %q cannot be set in a config file; use --config or GOSID_CONFIG", at, name)
			continue
		case o == nil:
			probs.Add("%s: unknown key %q%s", at, name, s.suggest(name, ""))
			continue
		}
		where := at + ": " + name
		val, ok := fileValue(o, v, where, probs)
		if ok {
			sv.vals[o], sv.where[o] = val, where
		}
	}
	return sv
}

// fileValue converts one YAML value to the option's type, or adds a problem.
func fileValue(o *option, v *yaml.Node, where string, probs *Problems) (any, bool) {
	switch {
	case v == nil || isNull(v):
		probs.Add("%s: has no value", where)
		return nil, false
	case o.kind == kindList && v.Kind == yaml.SequenceNode:
		l := []string{}
		for _, e := range v.Content {
			e = resolve(e)
			if e == nil || e.Kind != yaml.ScalarNode || isNull(e) {
				probs.Add("%s: must be a list of strings", where)
				return nil, false
			}
			l = append(l, e.Value)
		}
		return l, true
	case v.Kind != yaml.ScalarNode:
		if o.kind == kindList {
			probs.Add("%s: must be a list of strings or one comma-separated string", where)
		} else {
			probs.Add("%s: must be a single value, not a list or mapping", where)
		}
		return nil, false
	case o.kind == kindList:
		return splitList(v.Value), true
	default:
		return o.parse(v.Value, where, probs)
	}
}

// resolve follows aliases to the anchored node. yaml.v3 rejects an anchor
// that contains itself, but the depth is bounded anyway.
func resolve(n *yaml.Node) *yaml.Node {
	for range 16 {
		if n == nil || n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// yamlError returns the YAML library's message without its "yaml: " prefix,
// e.g. "line 3: mapping values are not allowed in this context".
func yamlError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return strings.Join(strings.Fields(msg), " ")
}

package help

import "strings"

// Block is a piece of an article's body: a paragraph (Text) or a list
// (Items).
type Block struct {
	Text  string
	Items []string
}

// Blocks splits a body into paragraphs and lists: blocks are separated by
// blank lines; a block whose every line starts with "- " is a list, one
// item a line; another block is a paragraph whose lines are joined with
// spaces. The texts are plain: the portal's templates escape them.
func Blocks(body string) []Block {
	var out []Block
	var lines []string
	flush := func() {
		if len(lines) == 0 {
			return
		}
		list := true
		for _, l := range lines {
			if !strings.HasPrefix(l, "- ") {
				list = false
				break
			}
		}
		if list {
			items := make([]string, 0, len(lines))
			for _, l := range lines {
				if it := strings.TrimSpace(l[2:]); it != "" {
					items = append(items, it)
				}
			}
			if len(items) > 0 {
				out = append(out, Block{Items: items})
			}
		} else {
			out = append(out, Block{Text: strings.Join(lines, " ")})
		}
		lines = lines[:0]
	}
	for _, l := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			flush()
			continue
		}
		lines = append(lines, l)
	}
	flush()
	return out
}

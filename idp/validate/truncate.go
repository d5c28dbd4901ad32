package validate

// Truncate cuts s to at most n bytes at a rune boundary, for storing or
// logging text of unbounded length (a user agent, an origin) without
// splitting a character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

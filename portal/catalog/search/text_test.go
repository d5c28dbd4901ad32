package search

import (
	"slices"
	"testing"
)

// Text on its own, over documents that are not services: a match names
// the document by its position, needs every word, and scores a title hit
// above any other, an exact hit above a typo.
func TestText(t *testing.T) {
	ix := NewText([]Doc{
		{Titles: []string{"Забыли пароль", "Forgot your password"}, Keywords: []string{"восстановление"}, Texts: []string{"Нажмите «Забыли пароль?»."}},
		{Titles: []string{"Вход заблокирован"}, Texts: []string{"После трёх неверных паролей вход блокируется."}},
		{Titles: []string{"Запись на приём"}, Keywords: []string{"талон"}},
	})
	score := func(q string) map[int]float64 {
		ms, _ := ix.Find(q)
		out := map[int]float64{}
		for _, m := range ms {
			out[m.Doc] = m.Score
		}
		return out
	}
	s := score("пароля")
	if len(s) != 2 || s[0] <= s[1] || s[0] < titleBonus || s[1] >= titleBonus {
		t.Errorf("«пароля»: %v, want the title hit (0) above the text hit (1)", s)
	}
	if s := score("пароль вход"); len(s) != 1 || s[1] == 0 {
		t.Errorf("«пароль вход»: %v, want only 1 (every word must occur)", s)
	}
	if s := score("password"); len(s) != 1 || s[0] == 0 {
		t.Errorf("English: %v", s)
	}
	exact, typo := score("талон"), score("тплон")
	if exact[2] == 0 || typo[2] == 0 || typo[2] >= exact[2] {
		t.Errorf("a typo's score %v, the exact one's %v", typo, exact)
	}
	if ms, words := ix.Find("и на"); words != 0 || ms != nil {
		t.Errorf("stop words only: %d words, %v", words, ms)
	}
	if ms, words := ix.Find("космодром пароль"); words != 2 || len(ms) != 0 {
		t.Errorf("an unknown word: %d words, %v", words, ms)
	}
	ms, _ := ix.Find("запись")
	if !slices.EqualFunc(ms, []Match{{Doc: 2}}, func(a, b Match) bool { return a.Doc == b.Doc }) {
		t.Errorf("«запись»: %v", ms)
	}
}

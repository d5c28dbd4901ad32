package validate

import (
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	valid := []struct{ in, want, key string }{
		{"ivan@mail.ru", "ivan@mail.ru", "ivan@mail.ru"},
		{"  Ivan.Petrov@Mail.RU ", "Ivan.Petrov@mail.ru", "ivan.petrov@mail.ru"},
		{"ivan+gosid@yandex.ru", "ivan+gosid@yandex.ru", "ivan+gosid@yandex.ru"},
		{"i_v-an@sub.domain.example.com", "i_v-an@sub.domain.example.com", "i_v-an@sub.domain.example.com"},
		{"ivan@почта.рф", "ivan@почта.рф", "ivan@почта.рф"},
		{"ivan@ПОЧТА.РФ", "ivan@почта.рф", "ivan@почта.рф"},
		{"a@b.co", "a@b.co", "a@b.co"},
		{"user@xn--80a1acny.xn--p1ai", "user@xn--80a1acny.xn--p1ai", "user@xn--80a1acny.xn--p1ai"},
		{"1@123.ru", "1@123.ru", "1@123.ru"},
		{strings.Repeat("a", 64) + "@mail.ru", strings.Repeat("a", 64) + "@mail.ru", strings.Repeat("a", 64) + "@mail.ru"},
	}
	for _, tt := range valid {
		got, err := Email(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Email(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if key, err := EmailKey(tt.in); err != nil || key != tt.key {
			t.Errorf("EmailKey(%q) = %q, %v", tt.in, key, err)
		}
	}
	long := strings.Repeat("a", 63)
	invalid := []struct{ in, code string }{
		{"", "required"},
		{"ivan", "format"},
		{"ivan@", "format"},
		{"@mail.ru", "format"},
		{"ivan@@mail.ru", "format"},
		{"ivan@petrov@mail.ru", "format"},
		{"ivan@mail", "format"},
		{"ivan@localhost", "format"},
		{"ivan@mail.ru.", "format"},
		{"ivan@.mail.ru", "format"},
		{"ivan@mail..ru", "format"},
		{"ivan@-mail.ru", "format"},
		{"ivan@mail-.ru", "format"},
		{"ivan@mail.r", "format"},
		{"ivan@1.2.3.4", "format"},
		{"ivan@[1.2.3.4]", "format"},
		{"ivan@mail_ru.ru", "format"},
		{"ivan petrov@mail.ru", "format"},
		{"ivan@mail .ru", "format"},
		{"\"ivan\"@mail.ru", "format"},
		{"ivan(comment)@mail.ru", "format"},
		{".ivan@mail.ru", "format"},
		{"ivan.@mail.ru", "format"},
		{"iv..an@mail.ru", "format"},
		{"иван@mail.ru", "format"},
		{"ivan@mail.ru\n", ""}, // trailing newline is trimmed: valid
		{"ivan@ma\nil.ru", "format"},
		{"ivan@" + long + "a.ru", "format"}, // 64-character label
		{strings.Repeat("a", 65) + "@mail.ru", "too_long"},
		{"a@" + long + "." + long + "." + long + "." + long + ".ru", "too_long"}, // 260 bytes
	}
	for _, tt := range invalid {
		_, err := Email(tt.in)
		if tt.code == "" {
			if err != nil {
				t.Errorf("Email(%q): %v", tt.in, err)
			}
			continue
		}
		wantFieldErr(t, tt.in, err, "email", tt.code)
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ivan@mail.ru":        "iv***@mail.ru",
		"Ivan.Petrov@Mail.ru": "Iv***@mail.ru",
		"ab@mail.ru":          "a***@mail.ru",
		"a@mail.ru":           "a***@mail.ru",
		"not an address":      "",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

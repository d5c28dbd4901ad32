package sandbox

import (
	"crypto/rand"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// card is a checked card: its digits (kept only for the length of the
// request, to pick the test scenario) and its masked form (kept).
type card struct {
	number string
	masked string
}

// checkCard validates the card form as a payment page would: the number by
// length and Luhn, the expiry as MM/YY not in the past, the CVC as three
// digits, the holder (optional) as Latin letters. Errors are per field in
// the page's language.
func checkCard(number, expiry, cvc, holder string, now time.Time, lang string) (card, map[string]string) {
	t := func(ru, en string) string {
		if lang == "en" {
			return en
		}
		return ru
	}
	errs := map[string]string{}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, number)
	switch {
	case strings.TrimSpace(number) == "":
		errs["card_number"] = t("Введите номер карты.", "Enter the card number.")
	case !allDigits(digits) || len(digits) < 13 || len(digits) > 19 || !luhn(digits):
		errs["card_number"] = t("Номер карты введён с ошибкой — проверьте цифры.", "The card number is mistyped — check the digits.")
	}
	if msg := checkExpiry(expiry, now, t); msg != "" {
		errs["expiry"] = msg
	}
	cvc = strings.TrimSpace(cvc)
	if len(cvc) != 3 || !allDigits(cvc) {
		errs["cvc"] = t("CVC — три цифры на обратной стороне карты.", "The CVC is the three digits on the back of the card.")
	}
	if h := strings.TrimSpace(holder); h != "" {
		ok := len(h) <= 26
		for _, r := range h {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ' || r == '.' || r == '-' || r == '\'') {
				ok = false
			}
		}
		if !ok {
			errs["holder"] = t("Имя держателя — латинскими буквами, как на карте.", "The holder's name in Latin letters, as on the card.")
		}
	}
	if len(errs) > 0 {
		return card{}, errs
	}
	return card{number: digits, masked: mask(digits)}, nil
}

func checkExpiry(expiry string, now time.Time, t func(ru, en string) string) string {
	e := strings.ReplaceAll(strings.TrimSpace(expiry), " ", "")
	if e == "" {
		return t("Введите срок действия в виде ММ/ГГ.", "Enter the expiry date as MM/YY.")
	}
	mm, yy, ok := strings.Cut(e, "/")
	if !ok && len(e) == 4 {
		mm, yy = e[:2], e[2:]
	}
	bad := t("Срок действия — в виде ММ/ГГ, например 12/29.", "The expiry date is MM/YY, for example 12/29.")
	if len(mm) < 1 || len(mm) > 2 || (len(yy) != 2 && len(yy) != 4) || !allDigits(mm) || !allDigits(yy) {
		return bad
	}
	m, _ := strconv.Atoi(mm)
	y, _ := strconv.Atoi(yy)
	if len(yy) == 2 {
		y += 2000
	}
	if m < 1 || m > 12 {
		return bad
	}
	// A card is valid through the last day of its month.
	end := time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC)
	if !now.Before(end) {
		return t("Срок действия карты истёк.", "The card has expired.")
	}
	if end.After(now.AddDate(20, 0, 0)) {
		return bad
	}
	return ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// luhn is the card number's check digit (ISO/IEC 7812).
func luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// mask keeps the first six (the issuer) and the last four digits, as
// receipts do: 411111******1111.
func mask(digits string) string {
	return digits[:6] + strings.Repeat("*", len(digits)-10) + digits[len(digits)-4:]
}

// oneTimeCode is the 5-digit code the sandbox shows on its confirmation
// page in place of an SMS from the card's bank.
func oneTimeCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	s := strconv.FormatInt(n.Int64(), 10)
	return strings.Repeat("0", 5-len(s)) + s
}

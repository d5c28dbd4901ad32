package idptest

import (
	"fmt"
	"sync/atomic"

	"github.com/gosid/gosid/idp/validate"
)

var snilsSeq atomic.Int64

// NextSNILS returns a valid SNILS (checksum right, in the issued range),
// canonical (123-456-789 01), that no other test of the process uses.
func NextSNILS() string {
	for {
		n := 200_000_000 + snilsSeq.Add(1)*7919
		d := fmt.Sprintf("%09d", n)
		sum := 0
		for i, c := range d {
			sum += int(c-'0') * (9 - i)
		}
		switch {
		case sum < 100:
		case sum == 100 || sum == 101:
			sum = 0
		default:
			if sum %= 101; sum == 100 {
				sum = 0
			}
		}
		if s, err := validate.SNILS(fmt.Sprintf("%s%02d", d, sum)); err == nil {
			return s
		}
	}
}

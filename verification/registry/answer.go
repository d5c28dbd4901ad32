package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gosid/gosid/idp/validate"
)

// maxFields bounds a mismatch's fields; a registry record has fewer.
const maxFields = 16

// wireAnswer is a gateway's verdict as sent; see Gateway.
type wireAnswer struct {
	Status    string   `json:"status"`
	Fields    []string `json:"fields"`
	INN       string   `json:"inn"`
	RecordID  string   `json:"record_id"`
	CheckedAt string   `json:"checked_at"`
}

// parseAnswer reads a gateway's 200 answer (untrusted input). It accepts
// only a known status; fields exactly for a mismatch (1–16 distinct claim
// names of lower-case letters, digits and underscores, at most 64 bytes
// each); an INN that passes the checksum of a citizen's INN; a record id
// of 1–128 visible ASCII characters; and an RFC 3339 checked_at. Members
// it does not know are ignored. Errors never quote the answer.
func parseAnswer(data []byte) (Result, error) {
	var w wireAnswer
	if err := json.Unmarshal(data, &w); err != nil {
		return Result{}, errors.New("not a JSON object of the protocol")
	}
	res := Result{Status: Status(w.Status), INN: w.INN, RecordID: w.RecordID}
	switch res.Status {
	case Confirmed, NotFound, Invalid:
		if len(w.Fields) > 0 {
			return Result{}, fmt.Errorf("fields in a %s answer", res.Status)
		}
	case Mismatch:
		if len(w.Fields) == 0 || len(w.Fields) > maxFields {
			return Result{}, errors.New("a mismatch needs 1 to 16 fields")
		}
		for i, f := range w.Fields {
			if !validFieldName(f) || slices.Contains(w.Fields[:i], f) {
				return Result{}, errors.New("a field name that is not a claim name, or repeated")
			}
		}
		res.Fields = w.Fields
	default:
		return Result{}, errors.New("unknown status")
	}
	if w.INN != "" {
		if v, err := validate.PersonINN(w.INN); err != nil || v != w.INN {
			return Result{}, errors.New("inn is not a valid 12-digit INN")
		}
	}
	if !validID(w.RecordID) {
		return Result{}, errors.New("record_id missing or not 1–128 visible ASCII characters")
	}
	at, err := time.Parse(time.RFC3339, w.CheckedAt)
	if err != nil {
		return Result{}, errors.New("checked_at missing or not RFC 3339")
	}
	res.CheckedAt = at
	return res, nil
}

func validFieldName(f string) bool {
	if f == "" || len(f) > 64 {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

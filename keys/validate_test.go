package keys

import (
	"slices"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want []string
	}{
		{Options{RotationPeriod: DefaultRotationPeriod, MaxTokenLifetime: DefaultMaxTokenLifetime, RefreshInterval: DefaultRefreshInterval}, nil},
		{Options{}, []string{"key-rotation-period", "max-token-lifetime", "key-refresh-interval"}},
		{Options{RotationPeriod: 90 * 24 * time.Hour, MaxTokenLifetime: time.Hour, RefreshInterval: time.Hour}, []string{"key-refresh-interval"}},
		{Options{RotationPeriod: 2 * time.Hour, MaxTokenLifetime: time.Hour, RefreshInterval: time.Minute}, []string{"key-rotation-period"}},
	} {
		var got []string
		tc.o.Validate(func(option, _ string) { got = append(got, option) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: problems with %v, want %v", tc.o, got, tc.want)
		}
	}
}

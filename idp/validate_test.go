package idp

import (
	"slices"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/password"
)

func goodConfig() Config {
	return Config{LockoutThreshold: 3, LockoutDuration: 30 * time.Minute, SessionIdleTimeout: 30 * time.Minute,
		SessionLifetime: 12 * time.Hour, SessionIdleMin: 5 * time.Minute, SessionIdleMax: 4 * time.Hour,
		ReauthMaxAge: 10 * time.Minute, DeletionGrace: 30 * 24 * time.Hour, Argon2: password.DefaultParams(),
		Tokens: oidc.Lifetimes{AccessToken: 10 * time.Minute, IDToken: time.Hour, RefreshToken: 30 * 24 * time.Hour,
			Code: time.Minute, RefreshGrace: 10 * time.Second}}
}

// TestConfigValidate: each rule of the policy names the option it is
// about, and a good policy has no problem.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"good", func(*Config) {}, nil},
		{"zero lifetimes", func(c *Config) { c.Tokens.AccessToken, c.Tokens.Code = 0, -time.Second },
			[]string{"access-token-lifetime", "code-lifetime"}},
		{"grace", func(c *Config) { c.Tokens.RefreshGrace = 2 * time.Minute }, []string{"refresh-token-grace"}},
		{"long code", func(c *Config) { c.Tokens.Code = time.Hour }, []string{"code-lifetime"}},
		{"lockout", func(c *Config) { c.LockoutThreshold = 0 }, []string{"lockout-threshold"}},
		{"idle bounds", func(c *Config) { c.SessionIdleMin = 5 * time.Hour }, []string{"session-idle-timeout-min"}},
		{"deletion", func(c *Config) { c.DeletionGrace = time.Hour }, []string{"deletion-grace-period"}},
		{"idle over lifetime", func(c *Config) { c.SessionIdleTimeout = 13 * time.Hour }, []string{"session-idle-timeout"}},
		{"reauth", func(c *Config) { c.ReauthMaxAge = 2 * time.Hour }, []string{"reauth-max-age"}},
		{"argon2", func(c *Config) { c.Argon2.Memory = 1 }, []string{"argon2-memory"}},
	} {
		c := goodConfig()
		tc.mod(&c)
		var got []string
		c.Validate(func(option, _ string) { got = append(got, option) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems with %v, want %v", tc.name, got, tc.want)
		}
	}
}

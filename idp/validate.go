package idp

import "time"

// Validate reports each problem with the policy to problem, naming the
// option as the command line does (lockout-threshold, session-lifetime …).
// Issuer and Secure are the server's, checked with its address.
func (c Config) Validate(problem func(option, message string)) {
	positive := []struct {
		name string
		v    time.Duration
	}{{"access-token-lifetime", c.Tokens.AccessToken}, {"id-token-lifetime", c.Tokens.IDToken},
		{"refresh-token-lifetime", c.Tokens.RefreshToken}, {"code-lifetime", c.Tokens.Code},
		{"lockout-duration", c.LockoutDuration}, {"session-idle-timeout", c.SessionIdleTimeout},
		{"session-lifetime", c.SessionLifetime}, {"reauth-max-age", c.ReauthMaxAge}}
	for _, d := range positive {
		if d.v <= 0 {
			problem(d.name, "must be positive")
		}
	}
	if c.Tokens.RefreshGrace < time.Second || c.Tokens.RefreshGrace > time.Minute {
		problem("refresh-token-grace", "between 1s and 1m: long enough for a retry after a lost answer, short enough that reuse is still caught")
	}
	if c.Tokens.Code > 10*time.Minute {
		problem("code-lifetime", "at most 10m (RFC 6749 recommends a short life)")
	}
	if c.PasswordWait < 0 || c.PasswordWait > time.Minute {
		problem("password-wait", "between 0 (no bound) and 1m")
	}
	if c.LockoutThreshold < 1 {
		problem("lockout-threshold", "must be at least 1")
	}
	if c.SessionIdleMin > c.SessionIdleMax {
		problem("session-idle-timeout-min", "must not exceed session-idle-timeout-max")
	}
	if c.DeletionGrace < 24*time.Hour {
		problem("deletion-grace-period", "at least 24h, so that a citizen can change their mind")
	}
	if c.SessionIdleTimeout > c.SessionLifetime {
		problem("session-idle-timeout", "must not exceed session-lifetime")
	}
	if c.ReauthMaxAge > time.Hour {
		problem("reauth-max-age", "at most 1h: a stolen session must not be able to change the password or a contact for long")
	}
	if err := c.Argon2.Validate(); err != nil {
		problem("argon2-memory", err.Error())
	}
}

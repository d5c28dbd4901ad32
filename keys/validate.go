package keys

import "time"

// Validate reports each problem with the options to problem, naming the
// option as the command line does (key-rotation-period,
// max-token-lifetime, key-refresh-interval). Zero values are problems here:
// the defaults are the command line's.
func (o Options) Validate(problem func(option, message string)) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"key-rotation-period", o.RotationPeriod}, {"max-token-lifetime", o.MaxTokenLifetime}, {"key-refresh-interval", o.RefreshInterval}} {
		if d.v <= 0 {
			problem(d.name, "must be positive")
		}
	}
	if o.MaxTokenLifetime > 0 && o.RefreshInterval >= o.MaxTokenLifetime {
		problem("key-refresh-interval", "must be shorter than max-token-lifetime ("+o.MaxTokenLifetime.String()+"), or replicas could sign with a key others do not publish yet")
	}
	if o.MaxTokenLifetime > 0 && o.RotationPeriod > 0 && o.RotationPeriod <= 2*o.MaxTokenLifetime {
		problem("key-rotation-period", "must exceed twice max-token-lifetime ("+o.MaxTokenLifetime.String()+")")
	}
}

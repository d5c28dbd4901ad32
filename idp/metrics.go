package idp

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the identity provider's metrics for the management
// listener: the sign-ins waiting for a password-hashing slot; with a cache
// (Cache not nil), the userinfo cache's hits and misses and whether this
// replica's caches are trusted.
func (i *IdP) Collectors() []prometheus.Collector {
	out := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gosid_password_waiting",
			Help: "Password checks waiting for a hashing slot on this replica now (--password-wait refuses those that could not be answered in time)."},
			func() float64 { return float64(i.Recovery.Passwords.Waiting()) }),
	}
	w := i.Cache
	if w == nil {
		return out
	}
	return append(out,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gosid_userinfo_cache_hits_total",
			Help: "Userinfo answers served from this replica's cache, without the database."},
			func() float64 { h, _ := i.Provider.UserinfoCacheStats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gosid_userinfo_cache_misses_total",
			Help: "Userinfo requests this replica's cache could not answer (read from the database)."},
			func() float64 { _, m := i.Provider.UserinfoCacheStats(); return float64(m) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gosid_cache_trusted",
			Help: "1 while this replica's last read of the cache invalidation log is recent enough (--cache-bound) for its caches to answer; 0: they answer nothing, every request reads the database."},
			func() float64 {
				if w.Trusted() {
					return 1
				}
				return 0
			}))
}

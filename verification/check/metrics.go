package check

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/verification/registry"
)

// MetricsRegisterer is where the checks' metrics go.
type MetricsRegisterer = prometheus.Registerer

// metrics are the checks': answers by registry and outcome, checks ended
// by status and outcome, and — read from the database at each scrape, so
// that every replica reports the one queue — how many checks are pending
// and how old the oldest is.
type metrics struct {
	answers  *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	finishes *prometheus.CounterVec
	batches  *prometheus.CounterVec
}

func newMetrics(reg MetricsRegisterer, s *Service) (*metrics, error) {
	m := &metrics{
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gosid_verification_registry_answers_total",
			Help: "Registry answers to checks, by registry and outcome (confirmed, mismatch, not_found, invalid, unavailable, bad_request)."},
			[]string{"source", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gosid_verification_registry_seconds",
			Help: "Time a registry took to answer a check.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{"source"}),
		finishes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gosid_verification_checks_total",
			Help: "Checks ended, by status (confirmed, rejected, unavailable) and outcome."}, []string{"status", "outcome"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gosid_verification_check_batches_total",
			Help: "Batches of confirmations committed together (committed), or split to be committed one by one because one of them could not be (split)."},
			[]string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gosid_verification_checks_pending",
		Help: "Checks waiting for the registries (all replicas)."}, func() float64 {
		n, _ := s.pending(context.Background())
		return float64(n)
	})
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gosid_verification_oldest_pending_seconds",
		Help: "Age of the oldest pending check, 0 when none."}, func() float64 {
		return s.oldestPending(context.Background()).Seconds()
	})
	for _, c := range []prometheus.Collector{m.answers, m.seconds, m.finishes, m.batches, depth, oldest} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(src registry.Source, outcome string, start, end time.Time) {
	m.answers.WithLabelValues(string(src), outcome).Inc()
	m.seconds.WithLabelValues(string(src)).Observe(end.Sub(start).Seconds())
}

func (m *metrics) finished(status, outcome string) {
	m.finishes.WithLabelValues(status, outcome).Inc()
}

func (s *Service) pending(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM verification_checks WHERE status = $1`, Pending).Scan(&n)
	return n, sqldb.Classify(err)
}

func (s *Service) oldestPending(ctx context.Context) time.Duration {
	var oldest *int64
	if err := s.db.QueryRow(ctx, `SELECT MIN(created_at) FROM verification_checks WHERE status = $1`, Pending).Scan(&oldest); err != nil || oldest == nil {
		return 0
	}
	return s.now().Sub(sqldb.Time(*oldest))
}

// MetricsFinished is the counter of checks ended with status and outcome
// (tests).
func (s *Service) MetricsFinished(status, outcome string) prometheus.Counter {
	return s.metrics.finishes.WithLabelValues(status, outcome)
}

// MetricsBatches is the counter of confirmation batches with result
// "committed" or "split" (tests).
func (s *Service) MetricsBatches(result string) prometheus.Counter {
	return s.metrics.batches.WithLabelValues(result)
}

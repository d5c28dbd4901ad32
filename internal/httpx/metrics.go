package httpx

import (
	"database/sql"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the HTTP request metrics recorded by Wrap.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

// NewMetrics creates the HTTP metrics and registers them with reg (unless
// reg is nil). Calling it twice with one registry returns metrics backed by
// the collectors registered first. Any other registration error is a
// programming error and panics.
//
//	gosid_http_requests_total{server,route,method,code}
//	gosid_http_request_duration_seconds{server,route,method}
//	gosid_http_requests_in_flight{server}
//
// route is the ServeMux pattern ("GET /keys") or "unmatched", never the raw
// path, which would make one series per URL a client cares to invent.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gosid_http_requests_total",
			Help: "HTTP requests served, by server, route pattern, method and status code.",
		}, []string{"server", "route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gosid_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by server, route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"server", "route", "method"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gosid_http_requests_in_flight",
			Help: "HTTP requests being served, by server.",
		}, []string{"server"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.duration = register(reg, m.duration)
		m.inFlight = register(reg, m.inFlight)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("httpx: register metrics: " + err.Error())
}

// NewRegistry returns a registry with the Go runtime and process collectors
// already registered.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// MetricsHandler serves g in the Prometheus exposition format.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// NewDBStatsCollector exposes a database/sql connection pool's statistics
// under the names client_golang's collectors.NewDBStatsCollector uses
// (go_sql_*{db_name=name}), so that existing dashboards work; it takes a
// function rather than a *sql.DB so that stores need not hand out their
// handle. stats is called on every scrape.
func NewDBStatsCollector(name string, stats func() sql.DBStats) prometheus.Collector {
	labels := prometheus.Labels{"db_name": name}
	desc := func(n, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_sql_"+n, help, nil, labels)
	}
	return &dbStatsCollector{
		stats:             stats,
		maxOpen:           desc("max_open_connections", "Maximum number of open connections to the database."),
		open:              desc("open_connections", "The number of established connections both in use and idle."),
		inUse:             desc("in_use_connections", "The number of connections currently in use."),
		idle:              desc("idle_connections", "The number of idle connections."),
		waitCount:         desc("wait_count_total", "The total number of connections waited for."),
		waitDuration:      desc("wait_duration_seconds_total", "The total time blocked waiting for a new connection."),
		maxIdleClosed:     desc("max_idle_closed_total", "The total number of connections closed due to SetMaxIdleConns."),
		maxIdleTimeClosed: desc("max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime."),
		maxLifetimeClosed: desc("max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime."),
	}
}

type dbStatsCollector struct {
	stats func() sql.DBStats

	maxOpen, open, inUse, idle                          *prometheus.Desc
	waitCount, waitDuration                             *prometheus.Desc
	maxIdleClosed, maxIdleTimeClosed, maxLifetimeClosed *prometheus.Desc
}

func (c *dbStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitDuration,
		c.maxIdleClosed, c.maxIdleTimeClosed, c.maxLifetimeClosed,
	} {
		ch <- d
	}
}

func (c *dbStatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.maxOpen, float64(s.MaxOpenConnections))
	gauge(c.open, float64(s.OpenConnections))
	gauge(c.inUse, float64(s.InUse))
	gauge(c.idle, float64(s.Idle))
	counter(c.waitCount, float64(s.WaitCount))
	counter(c.waitDuration, s.WaitDuration.Seconds())
	counter(c.maxIdleClosed, float64(s.MaxIdleClosed))
	counter(c.maxIdleTimeClosed, float64(s.MaxIdleTimeClosed))
	counter(c.maxLifetimeClosed, float64(s.MaxLifetimeClosed))
}

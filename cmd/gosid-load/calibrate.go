package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosid/gosid/internal/argon2"
)

// rate is a raw operation's throughput measured on this machine.
type rate struct {
	Name     string  `json:"name"`
	Single   float64 `json:"per_s_1_goroutine"`           // one goroutine
	Parallel float64 `json:"per_s_gomaxprocs_goroutines"` // GOMAXPROCS goroutines
	Note     string  `json:"note,omitempty"`
	// Before and After are the two measurements (1 goroutine, parallel)
	// when the limits were measured before and after the load.
	Before []float64 `json:"before,omitempty"`
	After  []float64 `json:"after,omitempty"`
}

// unstable reports whether the two measurements differ by more than 25%.
func (r *rate) unstable() bool {
	if len(r.Before) != 2 || len(r.After) != 2 {
		return false
	}
	for i := range 2 {
		lo, hi := min(r.Before[i], r.After[i]), max(r.Before[i], r.After[i])
		if lo < 0.75*hi {
			return true
		}
	}
	return false
}

// calibration holds the raw limits, keyed by "sign:ES256", "verify:RS256",
// "argon2id" and "http".
type calibration struct {
	GOMAXPROCS int              `json:"gomaxprocs"`
	NumCPU     int              `json:"num_cpu"`
	Rates      map[string]*rate `json:"rates"`
	order      []string
}

func (c *calibration) add(key string, r *rate) {
	if c.Rates == nil {
		c.Rates = map[string]*rate{}
	}
	c.Rates[key] = r
	c.order = append(c.order, key)
}

// mergeMax keeps, for every rate, the higher of c's and o's figures.
func (c *calibration) mergeMax(o *calibration) {
	for k, r := range c.Rates {
		a := o.Rates[k]
		if a == nil {
			continue
		}
		r.Before = []float64{r.Single, r.Parallel}
		r.After = []float64{a.Single, a.Parallel}
		r.Single, r.Parallel = max(r.Single, a.Single), max(r.Parallel, a.Parallel)
	}
}

// measure runs fn on workers goroutines for at least d (and at least
// minOps calls in all) and returns calls per second.
func measure(workers int, d time.Duration, minOps int64, fn func() error) (float64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for time.Since(start) < d || n.Load() < minOps {
				if err := fn(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// idTokenDigest is the SHA-256 of a typical ID token's signing input: the
// signature costs the same for any digest.
var idTokenDigest = sha256.Sum256([]byte(`eyJhbGciOiJFUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ.` +
	`eyJpc3MiOiJodHRwczovL2lkLmdvc2lkLmV4YW1wbGUiLCJzdWIiOiIwYjZmMWE1MiIsImF1ZCI6InBvcnRhbCJ9`))

// calibrate measures the raw limits: ES256 and RS256 signatures and
// verifications (RSA with the modulus size the server publishes), argon2id
// with the server's parameters, and a loopback HTTP round trip to a
// trivial in-process handler serving body, through a transport set up like
// the load's.
func calibrate(ctx context.Context, cfg *config, rsaBits int, body []byte) (*calibration, error) {
	procs := runtime.GOMAXPROCS(0)
	c := &calibration{GOMAXPROCS: procs, NumCPU: runtime.NumCPU()}
	d := cfg.Calibrate
	both := func(key, name string, minOps int64, fn func() error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := &rate{Name: name}
		d := d
		if key == "argon2id" {
			d = max(d, time.Second) // a hash takes tens of milliseconds
		}
		var err error
		if r.Single, err = measure(1, d, minOps, fn); err != nil {
			return fmt.Errorf("calibrate %s: %w", name, err)
		}
		if r.Parallel, err = measure(procs, d, minOps, fn); err != nil {
			return fmt.Errorf("calibrate %s: %w", name, err)
		}
		c.add(key, r)
		return nil
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if rsaBits < 2048 {
		rsaBits = 2048
	}
	rk, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, err
	}
	digest := idTokenDigest[:]
	ecSig, _ := ecdsa.SignASN1(rand.Reader, ec, digest)
	rsaSig, _ := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, digest)

	if err := both("sign:ES256", "ES256 sign", 10, func() error {
		_, err := ecdsa.SignASN1(rand.Reader, ec, digest)
		return err
	}); err != nil {
		return nil, err
	}
	if err := both("sign:RS256", fmt.Sprintf("RS256 sign (%d-bit)", rsaBits), 10, func() error {
		_, err := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, digest)
		return err
	}); err != nil {
		return nil, err
	}
	if err := both("verify:ES256", "ES256 verify", 10, func() error {
		if !ecdsa.VerifyASN1(&ec.PublicKey, digest, ecSig) {
			return fmt.Errorf("bad signature")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := both("verify:RS256", fmt.Sprintf("RS256 verify (%d-bit)", rsaBits), 10, func() error {
		return rsa.VerifyPKCS1v15(&rk.PublicKey, crypto.SHA256, digest, rsaSig)
	}); err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	pw := []byte("Zk7#vLq2!mWp-load")
	if err := both("argon2id", fmt.Sprintf("argon2id hash (m=%d KiB, t=%d, p=%d)", cfg.Argon2Memory, cfg.Argon2Time, cfg.Argon2Threads),
		int64(10*procs), func() error {
			argon2.IDKey(pw, salt, cfg.Argon2Time, cfg.Argon2Memory, cfg.Argon2Threads, 32)
			return nil
		}); err != nil {
		return nil, err
	}
	runtime.GC() // give back argon2's memory before the load

	r, err := httpFloor(ctx, cfg, body)
	if err != nil {
		return nil, fmt.Errorf("calibrate HTTP: %w", err)
	}
	c.add("http", r)
	return c, nil
}

// httpFloor measures GET round trips against an in-process loopback server
// that writes body and nothing else, with cfg.Concurrency clients: what
// net/http on this machine does when the handler costs nothing.
func httpFloor(ctx context.Context, cfg *config, body []byte) (*rate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	tr := newTransport(cfg.Concurrency, true)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout}
	target := "http://" + ln.Addr().String() + "/"
	get := func() error {
		req, _ := http.NewRequestWithContext(ctx, "GET", target, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}
	r := &rate{Name: fmt.Sprintf("HTTP GET, trivial in-process handler (%d B body)", len(body)),
		Note: fmt.Sprintf("client and handler both in gosid-load; single=1 client, parallel=%d clients", cfg.Concurrency)}
	if r.Single, err = measure(1, cfg.Calibrate, 10, get); err != nil {
		return nil, err
	}
	if r.Parallel, err = measure(cfg.Concurrency, cfg.Calibrate, 10, get); err != nil {
		return nil, err
	}
	return r, nil
}

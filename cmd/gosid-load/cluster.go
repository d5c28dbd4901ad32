package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A cluster is what the soak runs against: replicas of `gosid serve` on
// one database, behind a round-robin reverse proxy of ours, so that every
// request of a journey may land on another replica, as behind a load
// balancer. The proxy's address is the issuer every replica is told. The
// citizen portal inside every replica sits behind a second round-robin
// proxy, whose address is the portal's public URL: a portal request, and
// the portal's own calls to the identity provider, may land on any
// replica too.

// replica is one `gosid serve` process.
type replica struct {
	n      int
	cmd    *exec.Cmd
	url    string   // its own listener
	portal string   // its portal's listener
	admin  string   // its management listener (/readyz, /metrics)
	log    *os.File // its standard output and error
	exited chan struct{}
	err    error
}

// logText is what the replica has logged so far.
func (r *replica) logText() string {
	b, _ := os.ReadFile(r.log.Name())
	return string(b)
}

// alive reports whether the process still runs.
func (r *replica) alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

type cluster struct {
	bin     string
	dataDir string
	dbURL   string
	extra   []string // more serve flags (a small pool, …)
	// replicaEnv, when set, is more environment for replica i (a fault).
	replicaEnv func(i int) []string
	issuer     string
	proxy      *rrProxy
	srv        *http.Server
	// portal is the portal's public URL: portalProxy's address.
	portal      string
	portalProxy *rrProxy
	portalSrv   *http.Server
	replicas    []*replica
}

// storage is the flags that name the cluster's data dir; the database
// URL, which may hold a password, goes in the environment (env), out of
// sight of ps.
func (c *cluster) storage() []string { return []string{"--data-dir", c.dataDir} }

func (c *cluster) env(more ...string) []string {
	env := append(os.Environ(), more...)
	if c.dbURL != "" {
		env = append(env, "GOSID_DATABASE_URL="+c.dbURL)
	}
	return env
}

// gosid runs a gosid command on the cluster's database and returns its
// standard output.
func (c *cluster) gosid(ctx context.Context, env []string, args ...string) ([]byte, error) {
	return c.gosidArgs(ctx, env, append(args, c.storage()...)...)
}

// gosidArgs is gosid with the arguments as given (the storage flags among
// them, before a positional argument).
func (c *cluster) gosidArgs(ctx context.Context, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env(env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("gosid %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// startCluster migrates the database, runs setup (gosid commands before
// any replica runs: a client made then is known to every replica at
// once), starts the proxy and n replicas, one after another (the first
// creates the signing keys), and waits until each is ready.
func startCluster(ctx context.Context, bin, dataDir, dbURL string, n int, extra []string, replicaEnv func(int) []string, setup func(*cluster) error) (*cluster, error) {
	c := &cluster{bin: bin, dataDir: dataDir, dbURL: dbURL, extra: extra, replicaEnv: replicaEnv}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	// One master key for every replica, made here so that none races
	// another to create it.
	mk := filepath.Join(dataDir, "master.key")
	if _, err := os.Stat(mk); err != nil {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		if err := os.WriteFile(mk, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	if _, err := c.gosid(ctx, nil, "migrate"); err != nil {
		return nil, err
	}
	if err := setup(c); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.issuer = "http://" + ln.Addr().String()
	c.proxy = newRRProxy()
	c.srv = &http.Server{Handler: c.proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.stop()
		return nil, err
	}
	c.portal = "http://" + pln.Addr().String()
	c.portalProxy = newRRProxy()
	c.portalSrv = &http.Server{Handler: c.portalProxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.portalSrv.Serve(pln) }()
	for i := range n {
		r, err := c.start(ctx, i)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.replicas = append(c.replicas, r)
		c.proxy.add(r.url)
		c.portalProxy.add(r.portal)
	}
	return c, nil
}

// start starts replica i and waits until /readyz answers 200.
func (c *cluster) start(ctx context.Context, i int) (*replica, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--public-url", c.issuer, "--portal-addr", "127.0.0.1:0", "--portal-public-url", c.portal,
		"--admin-addr", "127.0.0.1:0", "--sandbox-bank-addr", "off", "--log-format", "json"}, c.storage()...)
	args = append(args, c.extra...)
	logf, err := os.Create(filepath.Join(c.dataDir, fmt.Sprintf("replica-%d.log", i)))
	if err != nil {
		return nil, err
	}
	r := &replica{n: i, cmd: exec.Command(c.bin, args...), log: logf, exited: make(chan struct{})}
	r.cmd.Env = c.env()
	if c.replicaEnv != nil {
		r.cmd.Env = append(r.cmd.Env, c.replicaEnv(i)...)
	}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { r.err = r.cmd.Wait(); close(r.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !r.alive() {
			return nil, fmt.Errorf("replica %d exited: %v\n%s", i, r.err, tail(r.logText(), 2000))
		}
		if r.url == "" {
			sc := bufio.NewScanner(strings.NewReader(r.logText()))
			for sc.Scan() {
				var rec map[string]any
				if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "gosid serving" {
					r.url, _ = rec["idp"].(string)
					r.admin, _ = rec["admin"].(string)
					r.portal, _ = rec["portal"].(string)
				}
			}
		}
		if r.admin != "" {
			if resp, err := http.Get(r.admin + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return r, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = r.cmd.Process.Kill()
	return nil, fmt.Errorf("replica %d not ready within 60s:\n%s", i, tail(r.logText(), 2000))
}

// stop ends every replica (SIGTERM, then SIGKILL after 20 s) and the proxy.
func (c *cluster) stop() {
	for _, r := range c.replicas {
		if r.alive() {
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, r := range c.replicas {
		select {
		case <-r.exited:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	for _, r := range c.replicas {
		r.log.Close()
	}
	for _, srv := range []*http.Server{c.srv, c.portalSrv} {
		if srv != nil {
			_ = srv.Close()
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// rrProxy is a round-robin reverse proxy. A backend that refuses the
// connection (a replica gone) is skipped for a second and the request
// goes to the next one, as a load balancer's health check would; a
// request whose replica died while answering it gets 502, which the
// journey retries. A GET on a kept-alive connection that broke before its
// answer began is sent again by the transport itself, and on to the other
// replica when the first is gone — as browsers and load balancers
// (nginx's proxy_next_upstream) do: the replicas must bear a GET sent
// twice, the first answer lost.
type rrProxy struct {
	mu       sync.RWMutex
	backends []*backend
	next     atomic.Uint64
	tr       *http.Transport
	// rerouted counts requests sent on to another replica after a refused
	// connection.
	rerouted atomic.Int64
	// dropped counts requests a replica took and never answered in full
	// (the connection failed after the request was sent, or while the
	// answer was being read): what a replica's exit cost in flight.
	dropped atomic.Int64
	// firstDrop is the first dropped request's error, for the report.
	firstDrop atomic.Pointer[string]
	// unread counts requests a stopping replica closed the connection on
	// before reading them (backend.stopping); the journey sends them again.
	unread atomic.Int64
}

// counts are the requests rerouted and dropped, the first drop's error,
// and the requests a stopping replica closed on unread.
func (p *rrProxy) counts() (rerouted, dropped int64, first string, unread int64) {
	if f := p.firstDrop.Load(); f != nil {
		first = *f
	}
	return p.rerouted.Load(), p.dropped.Load(), first, p.unread.Load()
}

// proxyCounts sums counts over the identity provider's proxy and the
// portal's (nil when the run has no portal).
func (c *cluster) proxyCounts() (rerouted, dropped int64, first string, unread int64) {
	rerouted, dropped, first, unread = c.proxy.counts()
	if c.portalProxy != nil {
		r, d, f, u := c.portalProxy.counts()
		rerouted, dropped, unread = rerouted+r, dropped+d, unread+u
		if first == "" {
			first = f
		}
	}
	return rerouted, dropped, first, unread
}

// drop counts a request a replica took and never answered in full.
func (p *rrProxy) drop(r *http.Request, err error) {
	p.dropped.Add(1)
	msg := r.Method + " " + r.URL.Path + ": " + err.Error()
	p.firstDrop.CompareAndSwap(nil, &msg)
}

type backend struct {
	url       *url.URL
	downUntil atomic.Int64 // unix nanoseconds
	// stopping: the replica was sent SIGTERM. Its graceful shutdown
	// closes kept-alive connections it is not reading a request from; a
	// request the proxy wrote on one just then is answered EOF and was
	// never read: refused at the close, not dropped in flight.
	stopping atomic.Bool
}

// stopping marks the replica at raw (its URL as added) as sent SIGTERM.
func (p *rrProxy) stopping(raw string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, b := range p.backends {
		if b.url.String() == raw {
			b.stopping.Store(true)
		}
	}
}

func newRRProxy() *rrProxy {
	return &rrProxy{tr: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}
}

func (p *rrProxy) add(raw string) {
	u, _ := url.Parse(raw)
	p.mu.Lock()
	p.backends = append(p.backends, &backend{url: u})
	p.mu.Unlock()
}

const maxProxiedBody = 1 << 20

func (p *rrProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxiedBody))
	if err != nil {
		http.Error(w, "proxy: reading the request", http.StatusBadRequest)
		return
	}
	p.mu.RLock()
	backends := p.backends
	p.mu.RUnlock()
	n := uint64(len(backends))
	first := p.next.Add(1)
	now := time.Now().UnixNano()
	for i := range n {
		b := backends[(first+i)%n]
		if b.downUntil.Load() > now && i < n-1 {
			continue
		}
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = b.url.Scheme, b.url.Host
		out.RequestURI = ""
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		// A request that met a kept-alive connection the replica had
		// just closed, before a byte was written, is sent again on a
		// new one: the transport may, with the body to rewind.
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		var reused bool
		out = out.WithContext(httptrace.WithClientTrace(out.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := p.tr.RoundTrip(out)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				// Nothing was sent: another replica may take it.
				b.downUntil.Store(time.Now().Add(time.Second).UnixNano())
				p.rerouted.Add(1)
				continue
			}
			switch {
			case r.Context().Err() != nil: // the client gone (a run's end)
			case b.stopping.Load() && reused && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
				strings.Contains(err.Error(), "server closed idle connection")):
				p.unread.Add(1)
			default:
				p.drop(r, err)
			}
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		if err := copyAnswer(w, resp.Body); err != nil && r.Context().Err() == nil {
			p.drop(r, err)
		}
		resp.Body.Close()
		return
	}
	http.Error(w, "proxy: no replica answers", http.StatusBadGateway)
}

// copyAnswer copies a replica's answer to the client. It returns only a
// failure to read the answer (the replica's side); a client that went
// away meanwhile is no drop.
func copyAnswer(w io.Writer, answer io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := answer.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// poolWaits sums go_sql_wait_count_total over the replicas still running:
// how often a request waited for a pooled connection.
func (c *cluster) poolWaits(ctx context.Context) int64 {
	var n float64
	for _, r := range c.replicas {
		v, _ := r.metric(ctx, "go_sql_wait_count_total")
		n += v
	}
	return int64(n)
}

// metric reads one sample of a metric from the replica's /metrics (the
// sum of its series); ok is false when the replica is gone or lacks it.
func (r *replica) metric(ctx context.Context, name string) (v float64, ok bool) {
	if !r.alive() {
		return 0, false
	}
	req, err := http.NewRequestWithContext(ctx, "GET", r.admin+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if line == name || strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			var x float64
			if _, err := fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &x); err == nil {
				v, ok = v+x, true
			}
		}
	}
	return v, ok
}

// delayProxy stands between the replicas and PostgreSQL and holds every
// chunk a replica sends for the delay in force: each statement's round
// trip takes that much longer, as with a database that has become slow.
type delayProxy struct {
	ln     net.Listener
	target func(ctx context.Context) (net.Conn, error)
	delay  atomic.Int64 // nanoseconds
	url    string       // the database URL through the proxy
}

// newDelayProxy listens where a database URL can point (a Unix socket
// directory for a socket URL, 127.0.0.1:0 otherwise) and forwards to the
// database of rawURL.
func newDelayProxy(rawURL, dir string) (*delayProxy, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	p := &delayProxy{}
	var d net.Dialer
	if host := q.Get("host"); strings.HasPrefix(host, "/") {
		port := q.Get("port")
		if port == "" {
			port = "5432"
		}
		real := filepath.Join(host, ".s.PGSQL."+port)
		if p.ln, err = net.Listen("unix", filepath.Join(dir, ".s.PGSQL."+port)); err != nil {
			return nil, err
		}
		p.target = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", real) }
		q.Set("host", dir)
		u.RawQuery = q.Encode()
	} else {
		real := u.Host
		if p.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
		p.target = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", real) }
		u.Host = p.ln.Addr().String()
	}
	p.url = u.String()
	go p.serve()
	return p, nil
}

func (p *delayProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *delayProxy) pipe(client net.Conn) {
	defer client.Close()
	server, err := p.target(context.Background())
	if err != nil {
		return
	}
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if d := time.Duration(p.delay.Load()); d > 0 {
					time.Sleep(d)
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}()
	<-done
}

func (p *delayProxy) close() { _ = p.ln.Close() }

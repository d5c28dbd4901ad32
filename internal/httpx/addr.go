package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// CheckAddr validates a host:port listen address.
func CheckAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. localhost:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}

// CheckPublicURL validates the URL a server is published at, which is also
// the OpenID issuer: absolute http(s), no query, fragment or user.
func CheckPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL (e.g. https://id.example.ru)", raw)
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("scheme must be https (or http for local use)")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("must not have a query or fragment (it is the OpenID issuer)")
	case u.User != nil:
		return errors.New("must not carry user information")
	}
	return nil
}

// BoundURL puts the port a listener got into a URL derived from a listen
// address with port 0 (tests), keeping the host as configured: localhost
// must stay a name, for passkeys and for the browser's secure context.
func BoundURL(derived string, bound net.Addr) string {
	u, err := url.Parse(derived)
	if err != nil || u.Port() != "0" {
		return derived
	}
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return derived
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

// PublicURLOf is the public URL of a server that has none configured,
// derived from its listen address: http://addr, or https://addr when it
// speaks TLS itself (an http issuer would also mean no HSTS and no Secure
// cookies). An address that names no host gives an error: clients must be
// able to reach the URL.
func PublicURLOf(addr string, tls bool) (string, error) {
	if host, _, err := net.SplitHostPort(addr); err == nil && (host == "" || net.ParseIP(host).IsUnspecified()) {
		return "", fmt.Errorf("required when addr (%s) names no host, since the issuer must be a URL clients can reach", addr)
	}
	if tls {
		return "https://" + addr, nil
	}
	return "http://" + addr, nil
}

// ListenURL is the URL of a listener bound at bound for the listen address
// addr (https when tls), as a person should open it: the host as
// configured (localhost stays a name: http://127.0.0.1 is another origin
// for the browser, where the cookies of localhost are missing and passkeys
// refuse to work) with the port bound; the bound address itself when addr
// names no host or an unspecified one (":8080", "0.0.0.0:8080").
func ListenURL(addr string, bound net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, _, err := net.SplitHostPort(addr)
	_, port, berr := net.SplitHostPort(bound.String())
	if err != nil || berr != nil || host == "" || net.ParseIP(host).IsUnspecified() {
		return scheme + "://" + bound.String()
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

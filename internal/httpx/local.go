package httpx

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// NotLocal says why a server listening on addr and published at publicURL
// can be reached from elsewhere, or returns "" when both are loopback
// (localhost, 127.0.0.0/8, ::1; names under localhost are not taken on
// trust). A loopback listener behind a reverse proxy is not local: the
// public URL says who the clients are. Development conveniences (a message
// sink that shows one-time codes, a master key made on the spot) are
// allowed only when this is "".
func NotLocal(addr, publicURL string) string {
	if host, _, err := net.SplitHostPort(addr); err != nil || !loopbackHost(host) {
		return fmt.Sprintf("addr %s is not", addr)
	}
	u, err := url.Parse(publicURL)
	if err != nil || !loopbackHost(u.Hostname()) {
		return fmt.Sprintf("public-url %s is not", publicURL)
	}
	return ""
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package blob

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ParseS3URL reads a bucket's location from one URL, as an option takes it:
//
//	s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[?region=R][&tls=false][&path_style=true]
//
// TLS is on unless tls=false (a store on the same private network);
// path_style=true suits most self-hosted stores. Errors never quote the
// URL: it holds a secret.
func ParseS3URL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("not a URL (s3://ACCESS_KEY:SECRET_KEY@host/bucket)")
	}
	if u.Scheme != "s3" {
		return Config{}, errors.New("the scheme must be s3://")
	}
	secret, _ := u.User.Password()
	c := Config{Endpoint: u.Host, AccessKey: u.User.Username(), SecretKey: secret, UseTLS: true}
	if len(u.Path) > 1 {
		c.Bucket = u.Path[1:]
	}
	q := u.Query()
	c.Region = q.Get("region")
	for name, dst := range map[string]*bool{"tls": &c.UseTLS, "path_style": &c.PathStyle} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("%s=%q is not true or false", name, v)
			}
			*dst = b
		}
	}
	switch {
	case c.Endpoint == "":
		return Config{}, errors.New("no host")
	case c.Bucket == "" || ValidKey(c.Bucket) != nil || strings.Contains(c.Bucket, "/"):
		return Config{}, errors.New("no bucket, or not one path segment")
	case c.AccessKey == "" || c.SecretKey == "":
		return Config{}, errors.New("no access key and secret key (s3://ACCESS_KEY:SECRET_KEY@…)")
	}
	return c, nil
}

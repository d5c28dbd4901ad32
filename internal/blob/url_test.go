package blob

import (
	"strings"
	"testing"
)

func TestParseS3URL(t *testing.T) {
	c, err := ParseS3URL("s3://AKID:s3cr%2Ft@minio.internal:9000/attachments?region=ru-1&path_style=true&tls=false")
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "minio.internal:9000" || c.Bucket != "attachments" || c.AccessKey != "AKID" || c.SecretKey != "s3cr/t" ||
		c.Region != "ru-1" || !c.PathStyle || c.UseTLS {
		t.Fatalf("parsed %+v", c)
	}
	if c, _ := ParseS3URL("s3://a:b@s3.example/b"); !c.UseTLS || c.PathStyle {
		t.Fatalf("defaults %+v", c)
	}
	for _, bad := range []string{"", "https://a:b@h/b", "s3://a:b@/b", "s3://a:b@h", "s3://a:b@h/b/c", "s3://h/b", "s3://a@h/b",
		"s3://a:b@h/b?tls=maybe", "s3://a:SECRETVALUE@h/"} {
		_, err := ParseS3URL(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("%q: the error quotes the secret: %v", bad, err)
		}
	}
}

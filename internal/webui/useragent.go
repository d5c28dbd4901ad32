package webui

import "strings"

// DescribeUA names the browser and the operating system of a User-Agent,
// roughly, for people: "Chrome", "Android".
func DescribeUA(ua string) (browser, system string) {
	for _, b := range []struct{ key, name string }{{"YaBrowser", "Яндекс Браузер"}, {"Edg/", "Edge"}, {"OPR/", "Opera"},
		{"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}} {
		if strings.Contains(ua, b.key) {
			browser = b.name
			break
		}
	}
	for _, s := range []struct{ key, name string }{{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}} {
		if strings.Contains(ua, s.key) {
			system = s.name
			break
		}
	}
	if browser == "" {
		browser = "—"
	}
	if system == "" {
		system = "—"
	}
	return browser, system
}

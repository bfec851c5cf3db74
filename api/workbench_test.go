package api_test

import "strings"

// staticName names a file the {name} of a route path may stand for.
func staticName(path string) string {
	if strings.HasPrefix(path, "/static/") {
		return "case.js"
	}
	return "monthly-2025-03.html"
}

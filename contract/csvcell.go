package contract

import "strings"

// SafeCell neutralises a value written to a CSV file a person may open in
// a spreadsheet: one that starts with a character spreadsheets read as a
// formula (= + - @, or a tab or carriage return before one) gets a leading
// apostrophe, so =HYPERLINK(…) in an item name stays text (OWASP "CSV
// injection"). Every other value is unchanged. Numbers are never passed
// through it: a negative amount is written by the caller as is.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	if strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

package contract

import (
	"errors"
	"fmt"
	"time"
)

// GB 11643-1999 (ISO 7064 MOD 11-2) weights and check characters.
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idChecks  = "10X98765432"
)

// IDCheckChar returns the check character for the first 17 digits of a
// resident ID number. first17 must be 17 ASCII digits.
func IDCheckChar(first17 string) byte {
	s := 0
	for i := 0; i < 17; i++ {
		s += int(first17[i]-'0') * idWeights[i]
	}
	return idChecks[s%11]
}

// ID number problems, distinguishable with errors.Is.
var (
	ErrIDLength     = errors.New("ID number must have 18 characters")
	ErrIDCharset    = errors.New("ID number must be 17 digits and a digit or X")
	ErrIDCheckDigit = errors.New("ID number check digit is wrong (GB 11643)")
	ErrIDBirthDate  = errors.New("ID number digits 7-14 are not a valid birth date")
)

// NormalizeIDNumber upper-cases a trailing x; other characters are untouched.
func NormalizeIDNumber(s string) string {
	if len(s) == 18 && s[17] == 'x' {
		return s[:17] + "X"
	}
	return s
}

// IDNumber is a parsed, checked 18-character resident ID number.
type IDNumber struct {
	Region    string    // digits 1-6: region of registration
	BirthDate time.Time // digits 7-14, UTC midnight
	Sex       int       // 1 male (17th digit odd), 2 female (even)
}

// ParseIDNumber checks length, charset, the embedded birth date and the
// check digit of an (already normalised) ID number.
func ParseIDNumber(s string) (IDNumber, error) {
	if len(s) != 18 {
		return IDNumber{}, fmt.Errorf("%w (got %d)", ErrIDLength, len(s))
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return IDNumber{}, ErrIDCharset
		}
	}
	if c := s[17]; (c < '0' || c > '9') && c != 'X' {
		return IDNumber{}, ErrIDCharset
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil {
		return IDNumber{}, ErrIDBirthDate
	}
	if want := IDCheckChar(s[:17]); s[17] != want {
		return IDNumber{}, fmt.Errorf("%w: expected %c", ErrIDCheckDigit, want)
	}
	sex := 2
	if (s[16]-'0')%2 == 1 {
		sex = 1
	}
	return IDNumber{Region: s[:6], BirthDate: birth, Sex: sex}, nil
}

// MaskIDNumber keeps the first 6 and last 4 characters: 330106********123X.
// It counts characters, not bytes, so a malformed number with full-width
// digits is masked to the same length and stays valid UTF-8; ten characters
// or fewer are masked entirely.
func MaskIDNumber(s string) string {
	r := []rune(s)
	for i := range r {
		if len(r) <= 10 || i >= 6 && i < len(r)-4 {
			r[i] = '*'
		}
	}
	return string(r)
}

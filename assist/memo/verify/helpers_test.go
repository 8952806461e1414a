package verify_test

import "unicode/utf8"

func isValid(s string) bool { return utf8.ValidString(s) }

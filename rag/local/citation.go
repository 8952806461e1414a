package local

import (
	"regexp"
	"strings"
	"unicode"
)

// A query that names a provision exactly ("§ 19 WoGG", "§ 28 Abs. 1
// VwVfG", "Art. 3 GG", "Anlage 2 WoGG") asks for that provision. BM25 alone
// ranks a long § that cites "§ 19" several times above § 19 itself, so
// chunks whose citation equals a provision named in the query are put first.

// citeRe finds "<§|Art.|Artikel|Anlage> <number> [Abs./Satz/Nr. n]... <law>"
// where the law may end in a numeral ("SGB 10", "SGB X").
var citeRe = regexp.MustCompile(`(?i)(§|art\.?|artikel|anlage)\s*(\d+[a-z]?)\b((?:\s*(?:abs\.?|absatz|satz|s\.|nr\.?|nummer)\s*\d+[a-z]?\b)*)\s+(\p{L}[\p{L}\d-]*)(\s+(?:[IVX]+|\d+)\b)?`)

// citationKey normalises a provision and its law for comparison:
// ("§ 19", "WoGG") → "§19|wogg", ("Art. 3", "GG") → "art3|gg". It returns
// "" when either part is missing.
func citationKey(section, law string) string {
	s, l := normCite(section), normCite(law)
	if s == "" || l == "" {
		return ""
	}
	return s + "|" + l
}

func normCite(s string) string {
	s = strings.ToLower(s)
	s = strings.Replace(s, "artikel", "art", 1)
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '.' {
			return -1
		}
		return r
	}, s)
}

// queryCitationKeys returns the keys of the provisions named in query, in
// order of appearance.
func queryCitationKeys(query string) []string {
	var keys []string
	for _, m := range citeRe.FindAllStringSubmatch(query, 4) {
		section := m[1] + m[2]
		if m[5] != "" {
			keys = append(keys, citationKey(section, m[4]+m[5]))
		}
		keys = append(keys, citationKey(section, m[4]))
	}
	return keys
}

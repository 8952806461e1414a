package lexical

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// German compounds are written as one word ("Wohngeldberechtigung",
// "Streitwertfestsetzung") where a question may use the parts ("Wohngeld",
// "Festsetzung des Streitwertes"), and vice versa. Without a dictionary,
// the index's own vocabulary decides what a part is: a query word matches
// the indexed compounds that consist of it and another known word
// (expansion), and a long query word that splits into two known words also
// searches for them (decomposition). Both happen at search time, so the
// postings stay exact and the result does not depend on insertion order.

// vocabulary is the sorted list of word terms, forwards and reversed, for
// prefix and suffix lookups. It is rebuilt lazily after the index changed.
type vocabulary struct {
	gen   uint64
	fwd   []string
	rev   []string // reversed terms, sorted
	size  atomic.Int64
	cache sync.Map // query word → *compoundInfo, valid for this vocabulary
}

// compoundInfo is what the vocabulary says about one query word.
type compoundInfo struct {
	exp     []uint32 // term ids of indexed compounds containing the word
	variant string   // spelling with or without a linking s
	parts   []string // known modifier and head of the word
}

// compounds returns the compound information for query word q, computed
// once per vocabulary.
func (ix *Index) compounds(v *vocabulary, q string) *compoundInfo {
	if ci, ok := v.cache.Load(q); ok {
		return ci.(*compoundInfo)
	}
	ci := &compoundInfo{variant: ix.variant(q)}
	if params.expandWeight > 0 && len(q) >= params.minExpand {
		for _, t := range ix.expansions(v, q, params.maxExpand) {
			ci.exp = append(ci.exp, ix.termIDs[t])
		}
	}
	if params.splitWeight > 0 {
		ci.parts = ix.decompose(q)
	}
	// Bound the cache: query words are open-ended user input.
	if v.size.Add(1) <= maxCached {
		v.cache.Store(q, ci)
	}
	return ci
}

const maxCached = 1 << 16

// minPart is the shortest compound part, in bytes, that is looked up: short
// parts ("amt", "geld") are too ambiguous to split on.
const minPart = 4

// fugen are the linking elements between compound parts.
var fugen = []string{"ens", "es", "en", "er", "s", "n", "e"}

func isWordTerm(t string) bool {
	if len(t) < minPart {
		return false
	}
	for _, r := range t {
		if !unicode.IsLower(r) {
			return false
		}
	}
	return true
}

func reverse(s string) string {
	rs := []rune(s)
	slices.Reverse(rs)
	return string(rs)
}

// vocab returns the current vocabulary; the caller holds the read lock.
func (ix *Index) vocab() *vocabulary {
	if v := ix.voc.Load(); v != nil && v.gen == ix.gen {
		return v
	}
	// Without new words only the cached lookups are stale (document
	// frequencies changed): keep the sorted lists, which are the expensive
	// part. Terms of removed documents stay in the lists; lookups check
	// their document frequency.
	if old := ix.voc.Load(); old != nil && len(old.fwd) == len(ix.words) {
		v := &vocabulary{gen: ix.gen, fwd: old.fwd, rev: old.rev}
		ix.voc.Store(v)
		return v
	}
	v := &vocabulary{gen: ix.gen, fwd: slices.Clone(ix.words), rev: slices.Clone(ix.revWords)}
	slices.Sort(v.fwd)
	slices.Sort(v.rev)
	ix.voc.Store(v)
	return v
}

// known reports whether s, possibly after removing a linking element at
// the given end, is a word of the index. A modifier (trimEnd) is a surface
// form ("einkommens" → "einkommen") and may need stemming to match; a head
// is already a stem, being the end of a stemmed compound.
func (ix *Index) known(s string, trimEnd bool) (string, bool) {
	try := func(c string) bool {
		if len(c) < minPart-1 {
			return false
		}
		id, ok := ix.termIDs[c]
		return ok && ix.df[id] > 0
	}
	cands := [1 + 7]string{s}
	n := 1
	for _, f := range fugen {
		if trimEnd && strings.HasSuffix(s, f) {
			cands[n] = s[:len(s)-len(f)]
			n++
		} else if !trimEnd && strings.HasPrefix(s, f) {
			cands[n] = s[len(f):]
			n++
		}
	}
	// Plain lookups first: they are cheap and usually decide.
	for _, c := range cands[:n] {
		if try(c) {
			return c, true
		}
	}
	if trimEnd {
		for _, c := range cands[:n] {
			if st := ix.a.stemOf(c); st != c && try(st) {
				return st, true
			}
		}
	}
	return "", false
}

// expansions returns up to max indexed compounds that contain q as their
// first or last part, the other part being a known word.
func (ix *Index) expansions(v *vocabulary, q string, max int) []string {
	var out []string
	// q as the modifier: q + [Fuge] + head.
	// Examining candidates costs lookups and stemming; bound it for short,
	// prolific words ("recht").
	limit := 2 * max
	i, _ := slices.BinarySearch(v.fwd, q)
	for end := min(len(v.fwd), i+limit); i < end && strings.HasPrefix(v.fwd[i], q) && len(out) < max; i++ {
		t := v.fwd[i]
		rest := t[len(q):]
		if len(rest) >= minPart {
			if _, ok := ix.known(rest, false); ok {
				out = append(out, t)
			}
		}
	}
	// q as the head: modifier + [Fuge] + q.
	rq := reverse(q)
	i, _ = slices.BinarySearch(v.rev, rq)
	for end := min(len(v.rev), i+limit); i < end && strings.HasPrefix(v.rev[i], rq) && len(out) < max; i++ {
		t := reverse(v.rev[i])
		rest := t[:len(t)-len(q)]
		if len(rest) >= minPart-1 {
			if _, ok := ix.known(rest, true); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

// decompose splits a long query word into a known modifier and a known
// head, preferring the longest head (the head carries the meaning).
func (ix *Index) decompose(q string) []string {
	if utf8.RuneCountInString(q) < 2*minPart {
		return nil
	}
	for i := minPart; i+minPart <= len(q); i++ {
		if !utf8.RuneStart(q[i]) {
			continue
		}
		head := q[i:]
		id, ok := ix.termIDs[head]
		if !ok || ix.df[id] == 0 {
			continue
		}
		if mod, ok := ix.known(q[:i], true); ok {
			return []string{mod, head}
		}
	}
	return nil
}

// variant returns the indexed spelling of q that differs only by a linking
// "s" before a known head ("Körperschaftssteuer" / "Körperschaftsteuer"),
// or "".
func (ix *Index) variant(q string) string {
	has := func(t string) bool {
		id, ok := ix.termIDs[t]
		return ok && ix.df[id] > 0
	}
	for i := minPart; i+minPart <= len(q); i++ {
		if !utf8.RuneStart(q[i]) || !has(q[i:]) {
			continue
		}
		if q[i-1] == 's' {
			if v := q[:i-1] + q[i:]; has(v) {
				return v
			}
		} else if v := q[:i] + "s" + q[i:]; has(v) {
			return v
		}
	}
	return ""
}

package classify

import (
	"math"
	"slices"
	"strings"
	"unicode"
)

// Feature namespaces keep a word, a bigram and a character n-gram that happen
// to spell the same bytes apart.
const (
	nsWord   byte = 'w'
	nsBigram byte = 'b'
	nsChar   byte = 'c'
)

// folder lower-cases and folds German umlauts and ß, so that "Drucker",
// "drucker", "Größe" and "groesse" meet.
var folder = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss")

// words returns the lower-cased, umlaut-folded words of text: runs of
// letters and digits.
func words(text string) []string {
	t := folder.Replace(strings.ToLower(text))
	return strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// maxWords bounds the work per text: the features of a ticket are in its
// first few thousand words, and hostile input must not make prediction slow.
const maxWords = 5000

// FNV-1a, inlined so that hashing an n-gram allocates nothing: prediction
// latency is dominated by the character n-grams of long tickets.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

func hashWord(ns byte, w string) uint64 { return fnvString(fnvByte(fnvOffset, ns), w) }

func hashBigram(a, b string) uint64 {
	return fnvString(fnvByte(fnvString(fnvByte(fnvOffset, nsBigram), a), ' '), b)
}

// rawFeatures is one text's feature counts by hashed key, in two blocks
// (words and character n-grams) that are weighted and normalised
// separately. Keys are sorted and distinct: sorting a slice is cheaper than
// counting in a map and allocates once, which keeps prediction latency flat.
type rawFeatures struct {
	word, char counts
}

type counts struct {
	keys []uint64
	n    []float32
}

// countKeys sorts keys in place and folds runs into counts.
func countKeys(keys []uint64) counts {
	if len(keys) == 0 {
		return counts{}
	}
	slices.Sort(keys)
	c := counts{keys: keys[:0], n: make([]float32, 0, len(keys))}
	for i, k := range keys {
		if i > 0 && k == c.keys[len(c.keys)-1] {
			c.n[len(c.n)-1]++
			continue
		}
		c.keys = append(c.keys, k)
		c.n = append(c.n, 1)
	}
	return c
}

// extract counts the hashed features of text. Character n-grams are taken
// within word boundaries (each word padded with spaces), as scikit-learn's
// char_wb analyser does: they carry German compounds and misspellings.
func (c *featureConfig) extract(text string) rawFeatures {
	ws := words(text)
	if len(ws) > maxWords {
		ws = ws[:maxWords]
	}
	wk := make([]uint64, 0, 2*len(ws))
	for i, w := range ws {
		wk = append(wk, hashWord(nsWord, w))
		if c.Bigrams && i > 0 {
			wk = append(wk, hashBigram(ws[i-1], w))
		}
	}
	rf := rawFeatures{word: countKeys(wk)}
	if c.CharMax >= c.CharMin && c.CharMin > 0 {
		ck := make([]uint64, 0, 16*len(ws))
		// offs holds the byte offsets of the runes of " word " so that an
		// n-gram is a substring, hashed without building it.
		var offs []int
		for _, w := range ws {
			p := " " + w + " "
			offs = offs[:0]
			for i := range p {
				offs = append(offs, i)
			}
			offs = append(offs, len(p))
			nr := len(offs) - 1
			for n := c.CharMin; n <= c.CharMax && n <= nr; n++ {
				for i := 0; i+n <= nr; i++ {
					ck = append(ck, hashWord(nsChar, p[offs[i]:offs[i+n]]))
				}
			}
		}
		rf.char = countKeys(ck)
	}
	return rf
}

// featureConfig says how texts become vectors; it is stored with the model.
type featureConfig struct {
	Bigrams          bool
	CharMin, CharMax int
	// Raw uses plain counts without tf-idf or normalisation (naive Bayes).
	Raw bool
	// CharWeight scales the character block against the word block
	// before the final normalisation; 0 means 1.
	CharWeight float32
}

// sparse is a feature vector over the model's compact feature ids.
type sparse struct {
	idx []int32
	val []float32
}

// vectorizer maps hashed keys to compact ids and holds their idf weights.
type vectorizer struct {
	cfg featureConfig
	ids map[uint64]int32
	idf []float32
}

// vectorize turns raw counts into a sublinear-tf, idf-weighted vector whose
// word and character blocks are each l2-normalised and then scaled so the
// whole vector has unit length.
func (v *vectorizer) vectorize(rf rawFeatures) sparse {
	var s sparse
	s.idx = make([]int32, 0, len(rf.word.keys)+len(rf.char.keys))
	s.val = make([]float32, 0, cap(s.idx))
	add := func(c counts, weight float32) {
		start := len(s.idx)
		var norm float64
		for j, k := range c.keys {
			tf := c.n[j]
			id, ok := v.ids[k]
			if !ok {
				continue
			}
			x := tf
			if !v.cfg.Raw {
				x = (1 + float32(math.Log(float64(tf)))) * v.idf[id]
				norm += float64(x) * float64(x)
			}
			s.idx = append(s.idx, id)
			s.val = append(s.val, x)
		}
		if !v.cfg.Raw && norm > 0 {
			inv := weight * float32(1/math.Sqrt(norm))
			for i := start; i < len(s.val); i++ {
				s.val[i] *= inv
			}
		}
	}
	add(rf.word, 1)
	cw := v.cfg.CharWeight
	if cw <= 0 {
		cw = 1
	}
	add(rf.char, cw)
	if !v.cfg.Raw {
		var norm float64
		for _, x := range s.val {
			norm += float64(x) * float64(x)
		}
		if norm > 0 {
			inv := float32(1 / math.Sqrt(norm))
			for i := range s.val {
				s.val[i] *= inv
			}
		}
	}
	return s
}

// fitVectorizer builds the vocabulary of features that occur in at least
// minDF training texts, with smoothed idf weights.
func fitVectorizer(cfg featureConfig, raws []rawFeatures, minDF int) *vectorizer {
	df := map[uint64]int32{}
	for _, rf := range raws {
		for _, k := range rf.word.keys {
			df[k]++
		}
		for _, k := range rf.char.keys {
			df[k]++
		}
	}
	keys := make([]uint64, 0, len(df))
	for k, n := range df {
		if int(n) >= minDF {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // deterministic ids
	v := &vectorizer{cfg: cfg, ids: make(map[uint64]int32, len(keys)), idf: make([]float32, len(keys))}
	n := float64(len(raws))
	for i, k := range keys {
		v.ids[k] = int32(i)
		v.idf[i] = float32(math.Log((1+n)/(1+float64(df[k]))) + 1)
	}
	return v
}

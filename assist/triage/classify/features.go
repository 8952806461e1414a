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
// (words and character n-grams) that are weighted and normalised separately.
type rawFeatures struct {
	word map[uint64]float32
	char map[uint64]float32
}

// extract counts the hashed features of text. Character n-grams are taken
// within word boundaries (each word padded with spaces), as scikit-learn's
// char_wb analyser does: they carry German compounds and misspellings.
func (c *featureConfig) extract(text string) rawFeatures {
	ws := words(text)
	if len(ws) > maxWords {
		ws = ws[:maxWords]
	}
	rf := rawFeatures{word: make(map[uint64]float32, 2*len(ws))}
	for i, w := range ws {
		rf.word[hashWord(nsWord, w)]++
		if c.Bigrams && i > 0 {
			rf.word[hashBigram(ws[i-1], w)]++
		}
	}
	if c.CharMax >= c.CharMin && c.CharMin > 0 {
		rf.char = make(map[uint64]float32, 8*len(ws))
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
					rf.char[hashWord(nsChar, p[offs[i]:offs[i+n]])]++
				}
			}
		}
	}
	return rf
}

// featureConfig says how texts become vectors; it is stored with the model.
type featureConfig struct {
	Bigrams          bool
	CharMin, CharMax int
	// Raw uses plain counts without tf-idf or normalisation (naive Bayes).
	Raw bool
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
	add := func(m map[uint64]float32) {
		start := len(s.idx)
		var norm float64
		for k, tf := range m {
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
			inv := float32(1 / math.Sqrt(norm))
			for i := start; i < len(s.val); i++ {
				s.val[i] *= inv
			}
		}
	}
	add(rf.word)
	if rf.char != nil {
		add(rf.char)
	}
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
	sortSparse(&s)
	return s
}

func sortSparse(s *sparse) {
	type pair struct {
		i int32
		v float32
	}
	ps := make([]pair, len(s.idx))
	for i := range s.idx {
		ps[i] = pair{s.idx[i], s.val[i]}
	}
	slices.SortFunc(ps, func(a, b pair) int { return int(a.i) - int(b.i) })
	for i, p := range ps {
		s.idx[i], s.val[i] = p.i, p.v
	}
}

// fitVectorizer builds the vocabulary of features that occur in at least
// minDF training texts, with smoothed idf weights.
func fitVectorizer(cfg featureConfig, raws []rawFeatures, minDF int) *vectorizer {
	df := map[uint64]int32{}
	for _, rf := range raws {
		for k := range rf.word {
			df[k]++
		}
		for k := range rf.char {
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

package pdf

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Layout thresholds, in multiples of the font size. They were tuned on the
// Bundesgesetzblatt and Bundestag protocol PDFs of the shared data.
const (
	// wordGap: a horizontal gap wider than this between two glyphs is a
	// space, even when the PDF draws no space glyph.
	wordGap = 0.15
	// segmentGap: a gap wider than this splits a line into segments (table
	// cells, columns); segments are what the reading-order cut works on.
	segmentGap = 1.0
	// labelGap: a smaller gap that still splits off a short label of at
	// most three glyphs at the start of a line.
	labelGap = 0.5
	// baselineTol: glyphs whose baselines differ by less than this share a
	// line (superscripts included).
	baselineTol = 0.45
	// paragraphGap: a vertical distance between baselines larger than this
	// starts a new paragraph.
	paragraphGap = 1.75
)

// segment is a run of glyphs on one baseline with no wide gap inside.
type segment struct {
	glyphs      []glyph
	x0, x1, y   float64 // extent and baseline
	size        float64 // largest glyph size
	text        string
	bottom, top float64 // vertical extent used for cutting
	order       int     // position in the page's baseline order
	dropped     bool    // running header/footer
	repeatKey   string
}

// line is a piece of output text with its baseline, in reading order.
type line struct {
	text string
	y    float64
	size float64
	x0   float64
}

// pageLayout holds the segments of one page before header detection.
type pageLayout struct {
	paints bool // draws images or paths (see interpreter.paints)
	segs   []*segment
	width  float64
	height float64
}

// buildSegments clusters glyphs into baselines and cuts baselines at wide
// gaps.
func buildSegments(glyphs []glyph) []*segment {
	if len(glyphs) == 0 {
		return nil
	}
	// Filtering in place is safe: the lines built below are fresh slices,
	// so the caller may reuse glyphs for the next page.
	gs := glyphs[:0]
	for _, g := range glyphs {
		if g.size <= 0 || math.IsNaN(g.x) || math.IsNaN(g.y) || math.IsInf(g.x, 0) || math.IsInf(g.y, 0) || math.IsNaN(g.size) || math.IsInf(g.size, 0) {
			continue
		}
		gs = append(gs, g)
	}
	lines := clusterLines(gs)

	var segs []*segment
	for li, ln := range lines {
		var seg *segment
		var prevEnd float64
		start := 0
		for i, g := range ln {
			gap := g.x - prevEnd
			if seg != nil && (gap > segmentGap*math.Max(g.size, seg.size) ||
				// Margin labels ("(B)", line numbers) sit a little apart
				// from the text; as segments of their own they are found
				// as repeated or at least do not join the line's words.
				gap > labelGap*math.Max(g.size, seg.size) && i-start <= 3) {
				seg.glyphs = ln[start:i:i]
				segs = append(segs, seg)
				seg = nil
			}
			if seg == nil {
				seg = &segment{x0: g.x, y: g.y, order: li}
				start = i
				prevEnd = g.x + g.w
			}
			if g.size > seg.size {
				seg.size = g.size
				seg.y = g.y
			}
			prevEnd = math.Max(prevEnd, g.x+g.w)
		}
		if seg != nil {
			seg.glyphs = ln[start:len(ln):len(ln)]
			segs = append(segs, seg)
		}
	}
	segs = splitTrailingLabels(segs)
	for _, s := range segs {
		s.finish()
	}
	return segs
}

// splitTrailingLabels cuts a short label of at most three glyphs off the
// end of a segment when it stands apart (a right-margin "(D)").
func splitTrailingLabels(segs []*segment) []*segment {
	out := segs[:0:0]
	for _, s := range segs {
		n := len(s.glyphs)
		cut := -1
		for k := n - 1; k >= max(1, n-3); k-- {
			prev := s.glyphs[k-1]
			if s.glyphs[k].x-(prev.x+prev.w) > labelGap*math.Max(prev.size, s.glyphs[k].size) {
				cut = k
				break
			}
		}
		if cut < 0 {
			out = append(out, s)
			continue
		}
		head := &segment{glyphs: s.glyphs[:cut], x0: s.x0, y: s.y, order: s.order}
		tail := &segment{glyphs: s.glyphs[cut:], x0: s.glyphs[cut].x, y: s.y, order: s.order}
		for _, part := range []*segment{head, tail} {
			for _, g := range part.glyphs {
				if g.size > part.size {
					part.size, part.y = g.size, g.y
				}
			}
		}
		out = append(out, head, tail)
	}
	return out
}

// run is a stretch of glyphs the content stream shows left to right on one
// baseline: usually a word, a line or a line of a column. Sorting runs
// instead of glyphs keeps layout analysis cheap. A run is the index range
// [start, end) of the page's glyphs; indexes instead of a slice keep runs
// free of pointers.
type run struct {
	start, end int
	y, size    float64
	x0, right  float64
}

// clusterLines groups glyphs into lines (top to bottom), each sorted left
// to right.
func clusterLines(gs []glyph) [][]glyph {
	runs := make([]run, 0, len(gs)/8+1)
	for i := range gs {
		g := &gs[i]
		if n := len(runs); n > 0 {
			r := &runs[n-1]
			if math.Abs(g.y-gs[i-1].y) < 0.1*g.size && g.x >= r.right-0.3*g.size && g.x <= r.right+3*g.size {
				r.end = i + 1
				r.right = math.Max(r.right, g.x+g.w)
				if g.size > r.size {
					r.size, r.y = g.size, g.y
				}
				continue
			}
		}
		runs = append(runs, run{start: i, end: i + 1, y: g.y, size: g.size, x0: g.x, right: g.x + g.w})
	}
	// Content stream order breaks ties: it is the reading order within a
	// line for nearly every producer.
	slices.SortFunc(runs, func(a, b run) int {
		if c := cmp.Compare(b.y, a.y); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	var lines [][]glyph
	first := 0
	var curY, curSize float64
	for i, r := range runs {
		if i > first && math.Abs(r.y-curY) <= baselineTol*math.Max(curSize, r.size) {
			if r.size > curSize {
				// The line's baseline is the one of its main text, not of
				// a superscript or a drop of smaller text.
				curY, curSize = r.y, r.size
			}
			continue
		}
		if i > first {
			lines = append(lines, joinRuns(gs, runs[first:i]))
		}
		first = i
		curY, curSize = r.y, r.size
	}
	if first < len(runs) {
		lines = append(lines, joinRuns(gs, runs[first:]))
	}
	return lines
}

// joinRuns orders the runs of one line left to right and concatenates
// their glyphs; runs drawn twice (fake bold, shadows) are dropped, and
// interleaved runs fall back to sorting glyphs.
func joinRuns(gs []glyph, rs []run) []glyph {
	if len(rs) == 1 {
		// Most lines are one run: no copy. The slice aliases the page's
		// glyph buffer, which is only reused after the page's segments are
		// finished.
		return gs[rs[0].start:rs[0].end]
	}
	slices.SortFunc(rs, func(a, b run) int {
		if c := cmp.Compare(a.x0, b.x0); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	n := 0
	for _, r := range rs {
		n += r.end - r.start
	}
	out := make([]glyph, 0, n)
	sorted := true
	var prev *run
	for i := range rs {
		r := &rs[i]
		if prev != nil && sameRun(gs, prev, r) {
			continue
		}
		if len(out) > 0 && r.x0 < out[len(out)-1].x-0.2*r.size {
			sorted = false
		}
		out = append(out, gs[r.start:r.end]...)
		prev = r
	}
	if !sorted {
		for i := range out {
			out[i].seq = int32(i)
		}
		slices.SortFunc(out, func(a, b glyph) int {
			if c := cmp.Compare(a.x, b.x); c != 0 {
				return c
			}
			return cmp.Compare(a.seq, b.seq)
		})
		out = dedupe(out)
	}
	return out
}

func sameRun(gs []glyph, a, b *run) bool {
	if a.end-a.start != b.end-b.start || math.Abs(a.x0-b.x0) > 0.2*b.size || math.Abs(a.y-b.y) > 0.2*b.size {
		return false
	}
	for i := range a.end - a.start {
		x, y := &gs[a.start+i], &gs[b.start+i]
		if x.s != y.s || x.sn != y.sn {
			return false
		}
	}
	return true
}

// dedupe drops glyphs drawn twice at nearly the same place (fake bold,
// shadows), which would otherwise double letters.
func dedupe(ln []glyph) []glyph {
	out := ln[:0]
	for _, g := range ln {
		dup := false
		for k := len(out) - 1; k >= 0 && k >= len(out)-4; k-- {
			p := out[k]
			if p.s == g.s && p.sn == g.sn && math.Abs(p.x-g.x) < 0.2*g.size && math.Abs(p.y-g.y) < 0.2*g.size {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, g)
		}
	}
	return out
}

func (s *segment) finish() {
	n := 0
	for i := range s.glyphs {
		n += int(s.glyphs[i].sn) + 1
	}
	b := make([]byte, 0, n)
	end := 0.0
	for i := range s.glyphs {
		g := &s.glyphs[i]
		if i > 0 {
			prev := &s.glyphs[i-1]
			gap := g.x - end
			if prev.space || gap > wordGap*math.Max(g.size, prev.size) {
				b = append(b, ' ')
			}
		}
		b = append(b, g.text()...)
		if i == 0 || g.x+g.w > end {
			end = g.x + g.w
		}
	}
	s.x1 = math.Max(end, s.x0)
	s.text = strings.TrimSpace(string(b))
	s.bottom = s.y - 0.2*s.size
	s.top = s.y + 0.7*s.size
}

// order returns the segments in reading order by recursive XY cuts: a
// vertical gutter that runs through the whole region splits it into
// columns (left first); otherwise the widest horizontal gap splits it
// into a top and a bottom part.
func order(segs []*segment, pageWidth float64) []*segment {
	out := make([]*segment, 0, len(segs))
	var cut func(region []*segment, depth int)
	cut = func(region []*segment, depth int) {
		if len(region) <= 1 || depth > 2000 {
			out = append(out, sortedByLine(region)...)
			return
		}
		if l, r, ok := verticalCut(region, pageWidth); ok {
			cut(l, depth+1)
			cut(r, depth+1)
			return
		}
		if parts := horizontalCuts(region); parts != nil {
			for _, p := range parts {
				cut(p, depth+1)
			}
			return
		}
		out = append(out, sortedByLine(region)...)
	}
	cut(segs, 0)
	return out
}

func sortedByLine(region []*segment) []*segment {
	r := slices.Clone(region)
	sort.SliceStable(r, func(i, j int) bool {
		if r[i].order != r[j].order {
			return r[i].order < r[j].order
		}
		return r[i].x0 < r[j].x0
	})
	return r
}

// verticalCut finds the widest gutter: an x interval no segment overlaps,
// with enough text on both sides to be a column rather than the numbers
// of a list with hanging indents.
func verticalCut(region []*segment, pageWidth float64) (left, right []*segment, ok bool) {
	r := slices.Clone(region)
	slices.SortFunc(r, func(a, b *segment) int { return cmp.Compare(a.x0, b.x0) })
	minX := r[0].x0
	maxX := r[0].x1
	for _, s := range r {
		maxX = math.Max(maxX, s.x1)
	}
	minSide := math.Max(0.12*pageWidth, 40)
	best, bestAt := 0.0, -1
	reach := r[0].x1
	for i := 1; i < len(r); i++ {
		if gap := r[i].x0 - reach; gap > 0 {
			leftW := reach - minX
			rightW := maxX - r[i].x0
			if gap > best && leftW >= minSide && rightW >= minSide {
				best, bestAt = gap, i
			}
		}
		reach = math.Max(reach, r[i].x1)
	}
	if bestAt < 0 || baselines(r[:bestAt]) < 2 || baselines(r[bestAt:]) < 2 ||
		looseTable(r[:bestAt], r[bestAt:]) || numericTable(r[:bestAt], r[bestAt:]) {
		return nil, nil, false
	}
	return r[:bestAt], r[bestAt:], true
}

// baselines counts the distinct baselines of segs (up to 2). A column has several; a
// gap that only one line has on one side is a wide word space of
// justified text, not a gutter.
func baselines(segs []*segment) int {
	n := 0
	var ys []float64
	for _, s := range segs {
		dup := false
		for _, y := range ys {
			if math.Abs(y-s.y) < 0.5*s.size {
				dup = true
				break
			}
		}
		if !dup {
			ys = append(ys, s.y)
			n++
			if n >= 2 {
				return n
			}
		}
	}
	return n
}

// looseTable reports whether left and right are the columns of a table
// whose rows stand apart: nearly every segment has a partner on the same
// baseline across the gutter, and rows are spaced wider than lines of
// running text. Such tables read best row by row. Columns of text or of
// dense lists (names) are cut as columns.
func looseTable(left, right []*segment) bool {
	if len(left) < 2 || len(right) < 2 {
		return false
	}
	if !partnered(left, right) || !partnered(right, left) {
		return false
	}
	ys := make([]float64, 0, len(left))
	sizes := make([]float64, 0, len(left))
	for _, s := range left {
		ys = append(ys, s.y)
		sizes = append(sizes, s.size)
	}
	slices.Sort(ys)
	slices.Sort(sizes)
	var gaps []float64
	for i := 1; i < len(ys); i++ {
		if d := ys[i] - ys[i-1]; d > 0.3*sizes[len(sizes)/2] {
			gaps = append(gaps, d)
		}
	}
	if len(gaps) == 0 {
		return false
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2] >= 1.6*sizes[len(sizes)/2]
}

// partnered reports whether most segments of a have a segment of b on the
// same baseline.
func partnered(a, b []*segment) bool {
	n := 0
	for _, s := range a {
		for _, o := range b {
			if math.Abs(s.y-o.y) < 0.3*s.size {
				n++
				break
			}
		}
	}
	return 10*n >= 7*len(a)
}

// numericTable reports whether right holds the figures of a table whose
// rows start in left: every figure beside a label, and right mostly
// numbers. Statistical
// tables read best row by row (a label with its figures).
func numericTable(left, right []*segment) bool {
	// Only the figures need a row label beside them: labels may wrap
	// onto lines of their own.
	if len(left) < 2 || len(right) < 2 || !partnered(right, left) {
		return false
	}
	numeric := 0
	for _, s := range right {
		letters, digits := 0, 0
		for _, r := range s.text {
			switch {
			case unicode.IsLetter(r):
				letters++
			case unicode.IsDigit(r):
				digits++
			}
		}
		if digits >= letters || letters <= 2 {
			numeric++
		}
	}
	return 10*numeric >= 6*len(right)
}

// horizontalCuts splits at the widest y interval no segment overlaps, and
// at once at every other gap nearly as wide: evenly spaced lines then
// fall apart in one step instead of one line per recursion.
func horizontalCuts(region []*segment) [][]*segment {
	r := slices.Clone(region)
	slices.SortFunc(r, func(a, b *segment) int { return cmp.Compare(b.top, a.top) })
	gaps := make([]float64, len(r))
	best := 0.0
	reach := r[0].bottom
	for i := 1; i < len(r); i++ {
		if gap := reach - r[i].top; gap > 0 {
			gaps[i] = gap
			best = math.Max(best, gap)
		}
		reach = math.Min(reach, r[i].bottom)
	}
	if best == 0 {
		return nil
	}
	var parts [][]*segment
	start := 0
	for i := 1; i < len(r); i++ {
		if gaps[i] > 0 && gaps[i] >= 0.8*best {
			parts = append(parts, r[start:i])
			start = i
		}
	}
	return append(parts, r[start:])
}

// linesOf joins segments that follow each other on one baseline.
func linesOf(segs []*segment) []line {
	var out []line
	for _, s := range segs {
		if s.dropped || s.text == "" {
			continue
		}
		if n := len(out); n > 0 && math.Abs(out[n-1].y-s.y) < baselineTol*s.size && s.x0 > out[n-1].x0 {
			out[n-1].text += " " + s.text
			continue
		}
		out = append(out, line{text: s.text, y: s.y, size: s.size, x0: s.x0})
	}
	return out
}

// render joins lines into text: hyphenated line ends are rejoined, larger
// vertical gaps become paragraph breaks.
func render(lines []line) string {
	var b []byte
	for i, ln := range lines {
		if i > 0 {
			prev := lines[i-1]
			switch {
			case joinHyphen(string(b[max(0, len(b)-8):]), ln.text):
				// The hyphen is the last rune written: drop it.
				_, n := utf8.DecodeLastRune(b)
				b = b[:len(b)-n]
			case keepHyphen(string(b[max(0, len(b)-8):]), ln.text):
				// "E-" + "Government": a real hyphen, no space.
			case prev.y-ln.y > paragraphGap*math.Max(ln.size, prev.size):
				// Only a gap downwards: a jump up is the next column, where
				// the sentence usually goes on.
				b = append(b, "\n\n"...)
			default:
				b = append(b, '\n')
			}
		}
		b = append(b, ln.text...)
	}
	return string(b)
}

// conjunctions follow a suspended compound ("Landes- und Bundesrecht"):
// the hyphen before them is real.
var conjunctions = map[string]bool{"und": true, "oder": true, "bis": true, "sowie": true, "bzw.": true, "beziehungsweise": true, "als": true, "noch": true, "wie": true}

func isHyphen(r rune) bool { return r == '-' || r == '\u00ad' || r == '\u2010' || r == '\u2011' }

// joinHyphen reports whether prev ends with a word broken at the line end
// ("Verwal-") that continues in next ("tung").
func joinHyphen(prev, next string) bool {
	last, n := utf8.DecodeLastRuneInString(prev)
	if !isHyphen(last) {
		return false
	}
	before, _ := utf8.DecodeLastRuneInString(prev[:len(prev)-n])
	if !unicode.IsLetter(before) {
		return false
	}
	first, _ := utf8.DecodeRuneInString(next)
	if last == '\u00ad' {
		return true
	}
	if !unicode.IsLower(first) {
		return false
	}
	word, _, _ := strings.Cut(next, " ")
	return !conjunctions[word]
}

// keepHyphen reports whether prev ends with a hyphen that belongs to a
// compound continued in next ("E-" / "Government", "Wohngeld-" /
// "Verordnung").
func keepHyphen(prev, next string) bool {
	last, n := utf8.DecodeLastRuneInString(prev)
	if !isHyphen(last) {
		return false
	}
	before, _ := utf8.DecodeLastRuneInString(prev[:len(prev)-n])
	first, _ := utf8.DecodeRuneInString(next)
	word, _, _ := strings.Cut(next, " ")
	return unicode.IsLetter(before) && (unicode.IsUpper(first) || unicode.IsDigit(first)) && !conjunctions[word]
}

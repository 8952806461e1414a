package pdf

import (
	"context"
	"math"
	"strings"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"
)

// glyph is one shown character (or ligature) in user space: (x, y) is the
// start of its baseline, w its advance width without character or word
// spacing, size the effective font size.
type glyph struct {
	x, y, w, size float64
	// s is the glyph's text, at most glyphText bytes (a letter, a
	// ligature): kept inline so that glyphs hold no pointers, which makes
	// sorting and copying them cheap for the garbage collector.
	s  [glyphText]byte
	sn uint8
	// space reports that the content stream showed a space glyph right
	// after this one; the space itself is dropped so that it cannot hide
	// a column gutter.
	space bool
	seq   int32 // position in the content stream, set by buildSegments
}

const glyphText = 14

// setText stores t, cut at a rune boundary if it is longer than fits.
func (g *glyph) setText(t string) {
	if len(t) > glyphText {
		n := glyphText
		for n > 0 && !utf8.RuneStart(t[n]) {
			n--
		}
		t = t[:n]
	}
	g.sn = uint8(copy(g.s[:], t))
}

func (g *glyph) text() []byte { return g.s[:g.sn] }

// matrix is an affine transform [a b c d e f] as in PDF: x' = a*x + c*y + e,
// y' = b*x + d*y + f.
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m·n (apply m first, then n).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// font is what the interpreter needs of a PDF font: how to cut a string into
// codes, what each code means and how wide it is.
type font struct {
	enc     lpdf.TextEncoding
	twoByte bool
	first   int
	widths  []float64       // simple fonts, from FirstChar
	cidW    map[int]float64 // composite fonts
	dw      float64         // default width (glyph space units)
	// Decode caches: fonts repeat the same codes.
	small   [256]*decoded
	decoded map[int]decoded
}

func newFont(v lpdf.Value) *font {
	f := &font{decoded: make(map[int]decoded)}
	lf := lpdf.Font{V: v}
	if tu := v.Key("ToUnicode"); tu.Kind() == lpdf.Stream && !balanced(streamBytes(tu)) {
		// A damaged map would hang the library's parser: keep the codes.
		f.enc = passthrough{}
	} else if f.enc = lf.Encoder(); f.enc == nil {
		f.enc = passthrough{}
	}
	if v.Key("Subtype").Name() == "Type0" {
		f.twoByte = true
		f.dw = 1000
		d := v.Key("DescendantFonts").Index(0)
		if dw := d.Key("DW"); dw.Kind() == lpdf.Integer || dw.Kind() == lpdf.Real {
			f.dw = dw.Float64()
		}
		f.cidW = make(map[int]float64)
		w := d.Key("W")
		for i := 0; i < w.Len() && i < 1<<16; {
			start := int(w.Index(i).Int64())
			next := w.Index(i + 1)
			if next.Kind() == lpdf.Array {
				for j := 0; j < next.Len() && j < 1<<16; j++ {
					f.cidW[start+j] = next.Index(j).Float64()
				}
				i += 2
				continue
			}
			end := int(next.Int64())
			wd := w.Index(i + 2).Float64()
			for c := start; c <= end && c-start < 1<<16; c++ {
				f.cidW[c] = wd
			}
			i += 3
		}
		return f
	}
	f.first = int(v.Key("FirstChar").Int64())
	ws := v.Key("Widths")
	for i := 0; i < ws.Len() && i < 1<<16; i++ {
		f.widths = append(f.widths, ws.Index(i).Float64())
	}
	return f
}

// width returns the advance of code in glyph space units (1/1000 em).
func (f *font) width(code int) float64 {
	if f.twoByte {
		if w, ok := f.cidW[code]; ok {
			return w
		}
		return f.dw
	}
	if i := code - f.first; i >= 0 && i < len(f.widths) && f.widths[i] > 0 {
		return f.widths[i]
	}
	// Standard 14 fonts come without widths: half an em is a fair guess
	// for proportional Latin text.
	return 500
}

// decoded is the text of one code and whether it is blank (a space).
type decoded struct {
	text  string
	blank bool
}

func (f *font) decode(code int, raw string) decoded {
	if code < len(f.small) {
		if d := f.small[code]; d != nil {
			return *d
		}
	} else if d, ok := f.decoded[code]; ok {
		return d
	}
	text := f.enc.Decode(raw)
	d := decoded{text: text, blank: strings.TrimSpace(text) == ""}
	if code < len(f.small) {
		f.small[code] = &d
	} else {
		f.decoded[code] = d
	}
	return d
}

type passthrough struct{}

func (passthrough) Decode(raw string) string { return raw }

// abort carries a context error out of the interpreter callback.
type abort struct{ err error }

// Bounds against hostile content: form XObjects nested in cycles or drawn
// over and over, and pages with absurd numbers of glyphs.
const (
	maxFormDepth  = 8
	maxFormsPage  = 2000
	maxGlyphsPage = 500_000
)

// interpreter extracts glyphs from content streams. Fonts are cached per
// document by the identity of their dictionary so that ToUnicode maps are
// parsed once, not once per page or per Tf.
type interpreter struct {
	ctx   context.Context
	fonts map[string]*font
	// byName caches fontFor per resource dictionary and name for the
	// current page: computing the identity key is not free either.
	byName map[fontRef]*font
	ops    int
	forms  int // form XObjects run on the current page
	// paints reports that the current page draws something besides
	// text (an image, a filled or stroked path): a page without text that
	// paints is a scan or outlined text and needs OCR; one that paints
	// nothing is blank.
	paints bool
	args   []operand // operand buffer reused across operators
	glyphs []glyph
}

type gstate struct {
	ctm                 matrix
	tc, tw, th, tl, tfs float64
	trise               float64
	font                *font
}

type fontRef struct {
	res  string
	name string
}

func (in *interpreter) fontFor(res lpdf.Value, resKey, name string) *font {
	ref := fontRef{resKey, name}
	if f, ok := in.byName[ref]; ok {
		return f
	}
	f := in.lookupFont(res, name)
	in.byName[ref] = f
	return f
}

func (in *interpreter) lookupFont(res lpdf.Value, name string) *font {
	fonts := res.Key("Font")
	// The printed font resource dictionary shows each font as a reference
	// ("/F1 12 0 R"): that names the font object without resolving it,
	// which the library does by parsing it anew every time.
	key := ""
	if ref, ok := fontRefOf(fonts.String(), name); ok {
		key = ref
		if f, ok := in.fonts[key]; ok {
			return f
		}
	}
	v := fonts.Key(name)
	if v.IsNull() {
		return nil
	}
	if key == "" {
		// A direct font dictionary: its printed form names the objects
		// it refers to (widths, ToUnicode stream) and is a good key.
		key = v.String()
		if f, ok := in.fonts[key]; ok {
			return f
		}
	}
	f := newFont(v)
	in.fonts[key] = f
	return f
}

// fontRefOf finds "/name N G R" in a printed dictionary and returns
// "N G R".
func fontRefOf(dict, name string) (string, bool) {
	pat := "/" + name + " "
	for off := 0; ; {
		i := strings.Index(dict[off:], pat)
		if i < 0 {
			return "", false
		}
		rest := dict[off+i+len(pat):]
		off += i + len(pat)
		f := strings.Fields(rest)
		if len(f) >= 3 && strings.TrimRight(f[2], ">") == "R" && isDigits(f[0]) && isDigits(f[1]) {
			return f[0] + " " + f[1] + " R", true
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// run interprets one content stream with its resources under ctm.
func (in *interpreter) run(strm, res lpdf.Value, ctm matrix, depth int, resKey string) {
	g := gstate{ctm: ctm, th: 1}
	var stack []gstate
	var tm, tlm matrix
	show := func(s string) {
		f := g.font
		if f == nil {
			return
		}
		step := 1
		if f.twoByte {
			step = 2
		}
		// Showing a glyph only moves the text matrix along its own x
		// axis, so the rendering matrix is computed once per string and
		// glyph origins follow from the accumulated advance.
		m := matrix{g.tfs * g.th, 0, 0, g.tfs, 0, g.trise}.mul(tm).mul(g.ctm)
		sx := math.Hypot(m[0], m[1]) / (g.tfs * g.th)
		sy := math.Hypot(m[2], m[3])
		if g.tfs*g.th == 0 {
			sx = 0
		}
		ux, uy := tm.mul(g.ctm)[0], tm.mul(g.ctm)[1] // user-space step per text-space unit
		adv := 0.0
		for i := 0; i+step <= len(s); i += step {
			raw := s[i : i+step]
			code := int(raw[0])
			if step == 2 {
				code = code<<8 | int(raw[1])
			}
			w0 := f.width(code) / 1000
			d := f.decode(code, raw)
			if d.blank {
				if n := len(in.glyphs); n > 0 {
					in.glyphs[n-1].space = true
				}
			} else if len(in.glyphs) < maxGlyphsPage {
				gl := glyph{x: m[4] + adv*ux, y: m[5] + adv*uy, w: w0 * g.tfs * g.th * sx, size: sy}
				gl.setText(d.text)
				in.glyphs = append(in.glyphs, gl)
			}
			tx := w0*g.tfs + g.tc
			if step == 1 && code == ' ' {
				tx += g.tw
			}
			adv += tx * g.th
		}
		tm = matrix{1, 0, 0, 1, adv, 0}.mul(tm)
	}
	num := func(args []operand, i int) float64 { return args[i].num }
	lx := lexer{data: streamBytes(strm)}
	stk := in.args[:0]
	for {
		o, op, ok := lx.next()
		if !ok {
			break
		}
		if op == "" || op == "true" || op == "false" || op == "null" {
			if len(stk) >= 1024 { // operands without an operator: garbage
				stk = stk[:0]
			}
			stk = append(stk, o)
			continue
		}
		in.ops++
		if in.ops&1023 == 0 {
			if err := in.ctx.Err(); err != nil {
				panic(abort{err})
			}
		}
		args := stk
		n := len(args)
		stk = stk[:0]
		switch op {
		case "q":
			if len(stack) < 256 {
				stack = append(stack, g)
			}
		case "Q":
			if len(stack) > 0 {
				g = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
		case "cm":
			if n == 6 {
				var m matrix
				for i := range m {
					m[i] = num(args, i)
				}
				g.ctm = m.mul(g.ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tc":
			if n == 1 {
				g.tc = num(args, 0)
			}
		case "Tw":
			if n == 1 {
				g.tw = num(args, 0)
			}
		case "Tz":
			if n == 1 {
				g.th = num(args, 0) / 100
			}
		case "TL":
			if n == 1 {
				g.tl = num(args, 0)
			}
		case "Ts":
			if n == 1 {
				g.trise = num(args, 0)
			}
		case "Tf":
			if n == 2 {
				g.font = in.fontFor(res, resKey, args[0].str)
				g.tfs = num(args, 1)
			}
		case "TD", "Td":
			if n == 2 {
				if op == "TD" {
					g.tl = -num(args, 1)
				}
				tlm = matrix{1, 0, 0, 1, num(args, 0), num(args, 1)}.mul(tlm)
				tm = tlm
			}
		case "Tm":
			if n == 6 {
				for i := range tm {
					tm[i] = num(args, i)
				}
				tlm = tm
			}
		case "T*":
			tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(tlm)
			tm = tlm
		case "Tj":
			if n == 1 {
				show(args[0].str)
			}
		case "'", "\"":
			if op == "\"" && n == 3 {
				g.tw, g.tc = num(args, 0), num(args, 1)
				args = args[2:]
				n = 1
			}
			tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(tlm)
			tm = tlm
			if n == 1 {
				show(args[0].str)
			}
		case "TJ":
			if n != 1 {
				continue
			}
			for _, x := range args[0].arr {
				switch x.kind {
				case 's':
					show(x.str)
				case 'n':
					tx := -x.num / 1000 * g.tfs * g.th
					tm = matrix{1, 0, 0, 1, tx, 0}.mul(tm)
				}
			}
		case "BI":
			in.paints = true
			lx.skipInlineImage()
		case "f", "F", "f*", "S", "s", "B", "B*", "b", "b*", "sh":
			in.paints = true
		case "Do":
			if n != 1 || depth >= maxFormDepth || in.forms >= maxFormsPage {
				continue
			}
			xo := res.Key("XObject").Key(args[0].str)
			if xo.Kind() != lpdf.Stream {
				continue
			}
			if xo.Key("Subtype").Name() == "Image" {
				in.paints = true
				continue
			}
			if xo.Key("Subtype").Name() != "Form" {
				continue
			}
			m := identity
			if mv := xo.Key("Matrix"); mv.Len() == 6 {
				for i := range m {
					m[i] = mv.Index(i).Float64()
				}
			}
			fres := xo.Key("Resources")
			if fres.IsNull() {
				fres = res
			}
			in.forms++
			in.run(xo, fres, m.mul(g.ctm), depth+1, resKey+"/"+args[0].str)
		}
	}
	in.args = stk
}

package pdf

import (
	"bytes"
	"regexp"
	"strconv"

	"amtsassist/assist"
)

// The library trusts the cross-reference data: an object number of a
// billion in an xref subsection or /Size makes it allocate a table of that
// many entries (tens of gigabytes), a huge /W width a buffer of that size,
// and a /Prev chain that loops makes it spin forever. guardXref checks
// these numbers in the raw file before the library sees it.

var (
	sizeEntry  = regexp.MustCompile(`/Size\s+(\d+)`)
	prevEntry  = regexp.MustCompile(`/Prev\s+(\d+)(\s+\d+\s+R)?`)
	indexEntry = regexp.MustCompile(`/Index\s*\[([\d\s]*)\]`)
	wEntry     = regexp.MustCompile(`/W\s*\[([\d\s]*)\]`)
	startxref  = regexp.MustCompile(`startxref\s+(\d+)`)
)

// maxObjectNumber bounds object numbers for a file of n bytes: every
// object takes a few bytes even compressed in an object stream, and PDF
// itself limits indirect objects to 8,388,607.
func maxObjectNumber(n int) int64 {
	return min(8_388_607, 64*int64(n)+1024)
}

func damaged(format string, args ...any) error {
	return assist.Errorf(assist.Invalid, op, "truncated or damaged PDF: "+format, args...)
}

func guardXref(data []byte) error {
	limit := maxObjectNumber(len(data))
	for _, m := range sizeEntry.FindAllSubmatch(data, -1) {
		if n, err := strconv.ParseInt(string(m[1]), 10, 64); err != nil || n > limit {
			return damaged("cross-reference size %s is out of range", clip(string(m[1]), 20))
		}
	}
	// Objects listed in a classic table stand uncompressed in the file,
	// each taking more than a dozen bytes.
	if err := guardXrefTables(data, min(limit, int64(len(data))/2+1024)); err != nil {
		return err
	}
	// Cross-reference stream dictionaries are never compressed: look
	// around every /XRef for its /Index and /W.
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("/XRef"))
		if i < 0 {
			break
		}
		i += off
		off = i + 5
		window := data[max(0, i-1024):min(len(data), i+1024)]
		for _, m := range indexEntry.FindAllSubmatch(window, -1) {
			nums := bytes.Fields(m[1])
			for k := 0; k+1 < len(nums); k += 2 {
				start, err1 := strconv.ParseInt(string(nums[k]), 10, 64)
				count, err2 := strconv.ParseInt(string(nums[k+1]), 10, 64)
				if err1 != nil || err2 != nil || start+count > limit {
					return damaged("cross-reference stream index is out of range")
				}
			}
		}
		for _, m := range wEntry.FindAllSubmatch(window, -1) {
			for _, f := range bytes.Fields(m[1]) {
				if w, err := strconv.Atoi(string(f)); err != nil || w > 8 {
					return damaged("cross-reference stream field width is out of range")
				}
			}
		}
	}
	return guardPrevChain(data)
}

// guardXrefTables checks the subsection headers ("start count") of every
// classic xref table, reading tokens the way the library does: line
// breaks do not matter to it.
func guardXrefTables(data []byte, limit int64) error {
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("xref"))
		if i < 0 {
			return nil
		}
		i += off
		off = i + 4
		if i >= 5 && string(data[i-5:i]) == "start" {
			continue
		}
		rest := data[i+4 : min(len(data), i+4+(16<<20))]
		toks := bytes.Fields(rest)
		for k := 0; k+1 < len(toks); {
			if bytes.HasPrefix(toks[k], []byte("trailer")) {
				break
			}
			start, err1 := strconv.ParseInt(string(toks[k]), 10, 64)
			count, err2 := strconv.ParseInt(string(toks[k+1]), 10, 64)
			if err1 != nil || err2 != nil {
				break // the library reports it as malformed
			}
			if start < 0 || count < 0 || start+count > limit {
				return damaged("cross-reference subsection %d+%d is out of range", start, count)
			}
			k += 2 + 3*int(count)
		}
	}
}

// guardPrevChain rejects /Prev offsets that would make the chain of
// cross-reference sections loop: every section is reachable only once, so
// the offsets must be distinct and none may be the last startxref.
func guardPrevChain(data []byte) error {
	seen := map[string]bool{}
	if all := startxref.FindAllSubmatch(data, -1); len(all) > 0 {
		seen[string(all[len(all)-1][1])] = true
	}
	for _, m := range prevEntry.FindAllSubmatch(data, -1) {
		if len(m[2]) > 0 {
			continue // "/Prev 12 0 R": an outline item, not an offset
		}
		off := string(bytes.TrimLeft(m[1], "0"))
		if seen[off] {
			return damaged("cross-reference sections form a loop")
		}
		seen[off] = true
	}
	return nil
}

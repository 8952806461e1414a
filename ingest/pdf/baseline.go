package pdf

import (
	"bytes"
	"fmt"
	"io"

	lpdf "github.com/ledongthuc/pdf"

	"amtsassist/assist"
)

// LibraryPlainText returns the text of the whole PDF as
// github.com/ledongthuc/pdf's own GetPlainText produces it: lines glued
// together, columns mixed. It exists only as the baseline of the
// extraction benchmark (eval/extraction), so that this package stays the
// only importer of the library. Use Extract for real work.
func LibraryPlainText(data []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", recovered(r)
		}
	}()
	if err := checkHeader(data); err != nil {
		return "", err
	}
	if err := guardXref(data); err != nil {
		return "", err
	}
	r, err := lpdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", &assist.Error{Op: op, Kind: assist.Invalid, Msg: "truncated or damaged PDF", Err: err}
	}
	rd, err := r.GetPlainText()
	if err != nil {
		return "", &assist.Error{Op: op, Kind: assist.Invalid, Msg: "GetPlainText failed", Err: fmt.Errorf("%w", err)}
	}
	b, err := io.ReadAll(rd)
	return string(b), err
}

package classify

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"amtsassist/assist"
)

// ReadCSV reads examples from a CSV file with a header row. The text of a
// row is its textCols joined by blank lines; its label is labelCol, or empty
// when labelCol is "". Rows whose label is empty are skipped and counted
// when a label is wanted. source names the file in error messages; a
// missing column is Invalid and names the column and the file.
func ReadCSV(r io.Reader, source string, textCols []string, labelCol string) (ex []Example, skipped int, err error) {
	const op = "read tickets csv"
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, assist.Errorf(assist.Invalid, op, "%s is empty (no header row)", source)
	}
	if err != nil {
		return nil, 0, &assist.Error{Op: op, Kind: assist.Invalid, Msg: source + " is not valid CSV", Err: err}
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	find := func(name string) (int, error) {
		i, ok := col[name]
		if !ok {
			return 0, assist.Errorf(assist.Invalid, op, "%s has no column %q (columns: %s)", source, name, strings.Join(head, ", "))
		}
		return i, nil
	}
	if len(textCols) == 0 {
		return nil, 0, assist.Errorf(assist.Invalid, op, "no text columns given for %s", source)
	}
	var ti []int
	for _, c := range textCols {
		i, err := find(strings.TrimSpace(c))
		if err != nil {
			return nil, 0, err
		}
		ti = append(ti, i)
	}
	li := -1
	if labelCol != "" {
		if li, err = find(labelCol); err != nil {
			return nil, 0, err
		}
	}
	var parts []string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, &assist.Error{Op: op, Kind: assist.Invalid, Msg: source + " is not valid CSV", Err: err}
		}
		parts = parts[:0]
		for _, i := range ti {
			if i < len(rec) && strings.TrimSpace(rec[i]) != "" {
				parts = append(parts, strings.TrimSpace(rec[i]))
			}
		}
		e := Example{Text: strings.Join(parts, "\n\n")}
		if li >= 0 {
			if li < len(rec) {
				e.Label = strings.TrimSpace(rec[li])
			}
			if e.Label == "" {
				skipped++
				continue
			}
		}
		ex = append(ex, e)
	}
	return ex, skipped, nil
}

package classify_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"strings"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/triage/classify"
)

func newGzip(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

func FuzzLoad(f *testing.F) {
	m, err := classify.Train(context.Background(), []classify.Example{{"a b", "x"}, {"c d", "y"}}, classify.Config{MinDF: 1, CalibrationFraction: -1})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	classify.Save(&buf, m)
	f.Add(buf.Bytes())
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := classify.Load(bytes.NewReader(data))
		if err != nil {
			if assist.KindOf(err) != assist.Invalid {
				t.Fatalf("kind %v for %v", assist.KindOf(err), err)
			}
			return
		}
		m.Predict("a b c")
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add("subject,body,queue\nA,b,Q\n")
	f.Add("subject,queue\n\"unterminated,Q\n")
	f.Fuzz(func(t *testing.T, data string) {
		_, _, err := classify.ReadCSV(strings.NewReader(data), "f.csv", []string{"subject", "body"}, "queue")
		if err != nil && assist.KindOf(err) != assist.Invalid {
			t.Fatalf("kind %v for %v", assist.KindOf(err), err)
		}
	})
}

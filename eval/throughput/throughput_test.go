package throughput_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"amtsassist/eval/throughput"
)

func TestRunMeasuresEveryStageOnTheSharedData(t *testing.T) {
	const data = "../../../shared/data"
	if _, err := os.Stat(data); err != nil {
		t.Skipf("shared data not present at %s", data)
	}
	if testing.Short() {
		t.Skip("ingests all shared laws, PDFs and tickets")
	}
	var out bytes.Buffer
	rep, err := throughput.Run(context.Background(), data, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	want := map[string]int{"§§": 700, "pages": 100, "tickets": 9000}
	for _, s := range rep.Stages {
		if s.Units < want[s.Unit] || s.PerSecond <= 0 {
			t.Errorf("stage %s: %d %s", s.Name, s.Units, s.Unit)
		}
		// The only source the shared data may fail on is a PDF without a
		// readable text layer (BGBl 203 anlage-1, a form with scrambled fonts).
		for _, f := range s.Failures {
			if !strings.Contains(f, "needs OCR") {
				t.Errorf("stage %s: unexpected failure %s", s.Name, f)
			}
		}
		delete(want, s.Unit)
	}
	if len(want) != 0 {
		t.Errorf("stages missing: %v", want)
	}
}

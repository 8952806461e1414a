package throughput_test

import (
	"bytes"
	"context"
	"os"
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
		if s.Failed != 0 || s.Units < want[s.Unit] || s.PerSecond <= 0 {
			t.Errorf("stage %s: %d %s, %d failed", s.Name, s.Units, s.Unit, s.Failed)
		}
		delete(want, s.Unit)
	}
	if len(want) != 0 {
		t.Errorf("stages missing: %v", want)
	}
}

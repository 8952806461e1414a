package draft_test

import (
	"syscall"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/draft"
)

// benchRequests are memo requests on different laws of the federal corpus,
// written for the benchmark.
func benchRequests() []memo.Request {
	base := func(az, betreff, facts, q string) memo.Request {
		return memo.Request{Aktenzeichen: az, Betreff: betreff, Type: memo.Aktenvermerk, Facts: facts, Instructions: q, Authority: "Landeshauptstadt Dresden", Author: "Bench"}
	}
	return []memo.Request{
		wohngeldCase(),
		base("32.1-2026/17", "Anhörung vor Rücknahme eines Bewilligungsbescheides",
			"Der Bescheid vom 4. Januar 2026 bewilligte eine Leistung. Nachträglich wurde bekannt, dass die Angaben zum Einkommen unvollständig waren. Eine Anhörung ist bisher nicht erfolgt.",
			"Ist vor der Rücknahme eine Anhörung erforderlich, und darf die Rücknahme für die Vergangenheit erfolgen?"),
		base("40.3-BAF-2026/88", "Antrag auf Ausbildungsförderung, Herr Max Beispiel",
			"Herr Beispiel (22) studiert im dritten Semester Maschinenbau an einer Hochschule und wohnt nicht bei seinen Eltern. Die Eltern verdienen zusammen 48.000 Euro brutto im Jahr.",
			"Besteht ein Anspruch auf Ausbildungsförderung und wie hoch ist der Bedarf für Studierende?"),
		base("10.2-DS-2026/5", "Auskunftsersuchen nach Datenschutzrecht",
			"Ein Bürger verlangt Auskunft über alle zu seiner Person gespeicherten Daten der Meldebehörde. Teile der Daten stammen aus einem laufenden Ermittlungsverfahren.",
			"Muss die Auskunft erteilt werden, und darf sie eingeschränkt werden?"),
	}
}

func overheadConfig(tb testing.TB) draft.Config {
	tb.Helper()
	return draft.Config{Index: federalIndex(tb), Prompts: loadPrompts(tb), Options: assist.ChatOptions{NumCtx: 8192, NumPredict: 1024}}
}

func TestOverheadMeasuresEveryPart(t *testing.T) {
	rep, err := draft.Overhead(t.Context(), overheadConfig(t), benchRequests(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.Memos != 12 || rep.P50 <= 0 || rep.P95 < rep.P50 || rep.RetrievalP95 <= 0 || rep.VerifyP95 <= 0 || rep.RenderP95 <= 0 || rep.FirstDeltaP95 <= 0 || rep.Sources < 1 {
		t.Errorf("incomplete report %+v", rep)
	}
}

// BenchmarkOverhead reports the service's own time per memo on the federal
// laws index, without model time: go test -bench Overhead -run ^$
// ./assist/memo/draft. Targets: p95 < 50 ms; first token → first delta
// p95 < 5 ms.
func BenchmarkOverhead(b *testing.B) {
	cfg := overheadConfig(b)
	reqs := benchRequests()
	// Warm the index's caches and the verifier's norm lookups once.
	if _, err := draft.Overhead(b.Context(), cfg, reqs, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime(b)
	rep, err := draft.Overhead(b.Context(), cfg, reqs, max(1, b.N))
	if err != nil {
		b.Fatal(err)
	}
	// CPU time per memo does not depend on what else the machine runs;
	// the wall-clock quantiles do.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(rep.Memos), "cpu-ms/memo")
	b.ReportMetric(float64(rep.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rep.P95.Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(rep.FirstDeltaP95.Nanoseconds())/1000, "first-delta-p95-µs")
	b.Log(rep)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

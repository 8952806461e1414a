package service

import (
	"fmt"
	"strings"

	"amtsassist/assist/triage"
)

// Note renders s as a German plain-text internal note for the ticket
// system: category and priority with their confidence or "unsicher" and the
// alternatives, the similar tickets, and the suggested answer with its
// sources. The answer is quoted and attributed, never presented as the
// note's own words.
func Note(s triage.Suggestion) string {
	var b strings.Builder
	b.WriteString("Triage-Vorschlag (automatisch erstellt, bitte prüfen)\n")
	if s.TicketID != "" {
		fmt.Fprintf(&b, "Ticket: %s\n", s.TicketID)
	}
	b.WriteByte('\n')
	writePrediction(&b, "Kategorie", s.Category)
	writePrediction(&b, "Priorität", s.Priority)
	if len(s.Similar) > 0 {
		b.WriteString("\nÄhnliche gelöste Tickets:\n")
		for _, sim := range s.Similar {
			fmt.Fprintf(&b, "- #%s %s", sim.ID, sim.Subject)
			if sim.Category != "" {
				fmt.Fprintf(&b, " [%s]", sim.Category)
			}
			fmt.Fprintf(&b, " (Ähnlichkeit %s)\n", percent(sim.Score))
		}
	}
	switch s.Answer.Mode {
	case "llm":
		fmt.Fprintf(&b, "\nAntwortvorschlag (vom Sprachmodell aus den Quellen formuliert; Quellen: %s):\n", sources(s.Answer.Sources))
		b.WriteString(quote(s.Answer.Text))
	case "extractive":
		fmt.Fprintf(&b, "\nAntwortvorschlag (unverändert übernommene Antwort aus Ticket %s):\n", sources(s.Answer.Sources))
		b.WriteString(quote(s.Answer.Text))
	default:
		b.WriteString("\nKein Antwortvorschlag: keine passende gelöste Anfrage gefunden.\n")
	}
	return b.String()
}

func writePrediction(b *strings.Builder, name string, p triage.Prediction) {
	if p.Label == "" {
		return
	}
	if p.Unsure {
		fmt.Fprintf(b, "%s: unsicher – am ehesten %s (%s)", name, p.Label, percent(p.Confidence))
	} else {
		fmt.Fprintf(b, "%s: %s (Konfidenz %s)", name, p.Label, percent(p.Confidence))
	}
	if p.Fallback {
		b.WriteString(" [nur Klassifikator: Sprachmodell-Ausgabe unbrauchbar]")
	}
	b.WriteByte('\n')
	if len(p.Alternatives) > 1 {
		alts := make([]string, 0, len(p.Alternatives)-1)
		for _, a := range p.Alternatives {
			if a.Label != p.Label {
				alts = append(alts, fmt.Sprintf("%s (%s)", a.Label, percent(a.Confidence)))
			}
		}
		fmt.Fprintf(b, "  Alternativen: %s\n", strings.Join(alts, ", "))
	}
}

func percent(x float64) string { return fmt.Sprintf("%.0f %%", x*100) }

func sources(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "#" + id
	}
	return strings.Join(out, ", ")
}

func quote(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

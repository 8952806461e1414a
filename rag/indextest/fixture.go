package indextest

import (
	"amtsassist/assist"
	"amtsassist/rag"
)

// Dimension is the dimension of the fixture's vectors.
const Dimension = 8

// EmbeddingModel is the model the dense tests bind.
var EmbeddingModel = assist.ModelInfo{Name: "indextest-embed", Dimension: Dimension}

// commonWord occurs in every fixture chunk, so that a lexical search for it
// returns the whole index and filters alone decide what is left.
const commonWord = "Testfall"

// fixtureChunk describes one chunk of the fixture compactly.
type fixtureChunk struct {
	anchor string
	text   string
	cite   assist.Citation
	meta   map[string]string
}

type fixtureDoc struct {
	info   rag.DocInfo
	chunks []fixtureChunk
}

// fixtureDocs is a small corpus written for these tests: two laws, an
// administrative case with an Aktenzeichen, and two tickets.
var fixtureDocs = []fixtureDoc{
	{
		info: rag.DocInfo{ID: "WoGG", Corpus: assist.CorpusRegulations, Title: "Wohngeldgesetz", Source: "laws/WoGG.xml", Format: "lawxml", Hash: "h-wogg-1"},
		chunks: []fixtureChunk{
			{anchor: "§1", text: "Das Wohngeld dient der wirtschaftlichen Sicherung angemessenen und familiengerechten Wohnens. Testfall.",
				cite: assist.Citation{Law: "WoGG", Section: "§ 1", Heading: "Zweck des Wohngeldes"}, meta: map[string]string{"kind": "paragraph"}},
			{anchor: "§19", text: "Das ungerundete monatliche Wohngeld für bis zu zwölf zu berücksichtigende Haushaltsmitglieder beträgt den berechneten Betrag. Testfall.",
				cite: assist.Citation{Law: "WoGG", Section: "§ 19", Heading: "Höhe des Wohngeldes"}, meta: map[string]string{"kind": "paragraph"}},
			{anchor: "Anlage1", text: "Tabelle der Werte a, b und c nach Anzahl der Haushaltsmitglieder. Testfall.",
				cite: assist.Citation{Law: "WoGG", Section: "Anlage 1", Heading: "Werte"}, meta: map[string]string{"kind": "annex"}},
		},
	},
	{
		info: rag.DocInfo{ID: "VwVfG", Corpus: assist.CorpusRegulations, Title: "Verwaltungsverfahrensgesetz", Source: "laws/VwVfG.xml", Format: "lawxml", Hash: "h-vwvfg-1"},
		chunks: []fixtureChunk{
			{anchor: "§28", text: "Bevor ein Verwaltungsakt erlassen wird, der in Rechte eines Beteiligten eingreift, ist diesem Gelegenheit zur Äußerung zu geben. Testfall.",
				cite: assist.Citation{Law: "VwVfG", Section: "§ 28", Heading: "Anhörung Beteiligter"}, meta: map[string]string{"kind": "paragraph"}},
			{anchor: "§35", text: "Verwaltungsakt ist jede Verfügung, Entscheidung oder andere hoheitliche Maßnahme einer Behörde. Testfall.",
				cite: assist.Citation{Law: "VwVfG", Section: "§ 35", Heading: "Begriff des Verwaltungsaktes"}, meta: map[string]string{"kind": "paragraph"}},
		},
	},
	{
		info: rag.DocInfo{ID: "case:bescheid", Corpus: assist.CorpusCases, Title: "Bescheid Wohngeld", Source: "akten/bescheid.pdf", Format: "pdf", Authority: "Stadt Leipzig", Hash: "h-case-1"},
		chunks: []fixtureChunk{
			{anchor: "p1", text: "Bescheid Az. 123-45/2024: Ihr Antrag auf Mietzuschuss wird abgelehnt. Testfall.",
				cite: assist.Citation{Document: "bescheid.pdf", Page: 1}},
			{anchor: "p2", text: "Rechtsbehelfsbelehrung: Gegen diese Entscheidung kann innerhalb eines Monats Widerspruch erhoben werden. Testfall.",
				cite: assist.Citation{Document: "bescheid.pdf", Page: 2}},
		},
	},
	{
		info: rag.DocInfo{ID: "ticket:1", Corpus: assist.CorpusTickets, Title: "VPN gesperrt", Source: "tickets.csv", Format: "ticket", Authority: "IT-Service Dresden", Hash: "h-t1", Meta: map[string]string{"status": "open"}},
		chunks: []fixtureChunk{
			{anchor: "0", text: "Mein VPN Zugang ist gesperrt, bitte Passwort zurücksetzen. Testfall.",
				meta: map[string]string{"status": "open", "category": "access", "priority": "high"}},
		},
	},
	{
		info: rag.DocInfo{ID: "ticket:2", Corpus: assist.CorpusTickets, Title: "Drucker", Source: "tickets.csv", Format: "ticket", Authority: "IT-Service Dresden", Hash: "h-t2", Meta: map[string]string{"status": "closed"}},
		chunks: []fixtureChunk{
			{anchor: "0", text: "Der Drucker im zweiten Stock druckt nur leere Seiten. Testfall.",
				meta: map[string]string{"status": "closed", "category": "hardware", "priority": "low"}},
		},
	},
}

// Fixture returns the test corpus as documents to store; with vectors set
// every chunk carries a distinct vector of Dimension, nearest to itself.
func Fixture(vectors bool) []rag.DocumentData {
	var out []rag.DocumentData
	ordinal := 0
	for _, fd := range fixtureDocs {
		d := rag.DocumentData{Info: fd.info}
		d.Info.Chunks = len(fd.chunks)
		d.Info.Embedded = vectors
		for i, fc := range fd.chunks {
			c := assist.Chunk{
				ID:        fd.info.ID + "#" + fc.anchor,
				DocID:     fd.info.ID,
				Corpus:    fd.info.Corpus,
				Authority: fd.info.Authority,
				Source:    fd.info.Source,
				Ordinal:   i,
				Text:      fc.text,
				Citation:  fc.cite,
				Meta:      fc.meta,
				Hash:      "hash-" + fd.info.ID + "#" + fc.anchor,
			}
			if vectors {
				c.Vector = vectorFor(ordinal)
			}
			ordinal++
			d.Chunks = append(d.Chunks, c)
		}
		out = append(out, d)
	}
	return out
}

// vectorFor gives the i-th fixture chunk a vector pointing mostly along one
// axis, so that each chunk is its own nearest neighbour and clearly apart
// from the others.
func vectorFor(i int) []float32 {
	v := make([]float32, Dimension)
	for j := range v {
		v[j] = 0.02 * float32((i+j)%5)
	}
	v[i%Dimension] += 1
	if i >= Dimension {
		v[(i+3)%Dimension] += 0.7
	}
	return v
}

// fixtureChunks returns every chunk of docs, in order.
func fixtureChunks(docs []rag.DocumentData) []assist.Chunk {
	var out []assist.Chunk
	for _, d := range docs {
		out = append(out, d.Chunks...)
	}
	return out
}

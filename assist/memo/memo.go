// Package memo drafts administrative memos (Vermerke) for clerks: it
// retrieves the relevant norms and the case's own documents, asks a chat
// model for a structured draft in German, verifies every citation against
// the retrieved text, and stores the memo with everything needed to
// reproduce it. Without a chat model it builds an extractive skeleton.
package memo

import (
	"time"

	"amtsassist/assist"
)

// Type is the kind of memo; each has its own prompt template.
type Type string

const (
	Aktenvermerk         Type = "aktenvermerk"
	Gespraechsvermerk    Type = "gespraechsvermerk"    // Gesprächs-/Telefonvermerk
	Entscheidungsvermerk Type = "entscheidungsvermerk" // Entscheidungsvermerk/Vorlage
)

// Types lists the valid memo types.
var Types = []Type{Aktenvermerk, Gespraechsvermerk, Entscheidungsvermerk}

// Mode says how a memo was produced.
type Mode string

const (
	ModeLLM        Mode = "llm"        // drafted by the chat model
	ModeExtractive Mode = "extractive" // skeleton from retrieved text only, no model
)

// Request is what the e-file client sends.
type Request struct {
	Aktenzeichen string `json:"aktenzeichen"`
	Betreff      string `json:"betreff"`
	Type         Type   `json:"type"`
	Facts        string `json:"facts"`        // Sachverhalt notes as the clerk wrote them
	Instructions string `json:"instructions"` // the clerk's question or instructions
	// Attachments are ids of ingested case documents. A document of another
	// authority is treated as not found.
	Attachments []string `json:"attachments,omitempty"`
	Authority   string   `json:"authority"`
	Author      string   `json:"author,omitempty"`
	// Date of the memo (YYYY-MM-DD); empty: today.
	Date string `json:"date,omitempty"`
	// Extractive asks for the extractive skeleton instead of a model draft.
	Extractive bool `json:"extractive,omitempty"`
	// AllowExtractive falls back to the extractive skeleton when the chat
	// model is unreachable or missing, instead of failing with Unavailable.
	AllowExtractive bool `json:"allow_extractive,omitempty"`
}

// Section keys, in memo order. The Kopf (header) is not a section: it is
// built from the request, never generated.
const (
	SectionSachverhalt = "sachverhalt"
	SectionWuerdigung  = "wuerdigung"
	SectionErgebnis    = "ergebnis"
	SectionVerfuegung  = "verfuegung"
)

// SectionKeys lists the sections in order.
var SectionKeys = []string{SectionSachverhalt, SectionWuerdigung, SectionErgebnis, SectionVerfuegung}

// SectionTitles are the German headings of the sections.
var SectionTitles = map[string]string{
	SectionSachverhalt: "Sachverhalt",
	SectionWuerdigung:  "Rechtliche Würdigung",
	SectionErgebnis:    "Ergebnis/Vorschlag",
	SectionVerfuegung:  "Verfügung",
}

// Header is the Kopf of a memo, taken from the request.
type Header struct {
	Behoerde     string `json:"behoerde"`
	Aktenzeichen string `json:"aktenzeichen"`
	Datum        string `json:"datum"` // YYYY-MM-DD
	Betreff      string `json:"betreff"`
	Verfasser    string `json:"verfasser,omitempty"`
	Type         Type   `json:"type"`
}

// Source is one retrieved passage given to the model as [N].
type Source struct {
	N        int             `json:"n"` // 1-based marker number
	ChunkID  string          `json:"chunk_id"`
	DocID    string          `json:"doc_id"`
	Corpus   assist.Corpus   `json:"corpus"`
	Citation string          `json:"citation"` // "§ 19 Abs. 1 WoGG", "bescheid.pdf, S. 3"
	Cite     assist.Citation `json:"cite"`
	Text     string          `json:"text"`
	Score    float64         `json:"score"`
}

// Status of a section or a memo after verification.
type Status string

const (
	StatusVerified   Status = "verified"   // every check passed
	StatusWarnings   Status = "warnings"   // findings a clerk must look at (e.g. a norm not among the sources)
	StatusFailed     Status = "failed"     // a citation is wrong: unknown marker, unknown norm, fabricated quote
	StatusUnverified Status = "unverified" // nothing to check (e.g. extractive text, empty section)
)

// FindingKind names a verification finding.
type FindingKind string

const (
	FindingMarkerOutOfRange FindingKind = "marker_out_of_range" // [n] without source n
	FindingUnknownNorm      FindingKind = "unknown_norm"        // "Norm nicht im Bestand"
	FindingNormNotRetrieved FindingKind = "norm_not_retrieved"  // norm exists, but was not among the sources given
	FindingQuoteNotFound    FindingKind = "quote_not_found"     // quoted passage not verbatim in its source
	FindingNoSources        FindingKind = "no_sources"          // a statement of law without any [n]
)

// Finding is one verification result a clerk sees.
type Finding struct {
	Kind    FindingKind `json:"kind"`
	Section string      `json:"section"`
	Text    string      `json:"text"`    // the marker, norm reference or quote concerned
	Message string      `json:"message"` // German, for the clerk: "Norm nicht im Bestand: § 99 WoGG"
	Sources []int       `json:"sources,omitempty"`
	// Severity: "error" makes the section failed, "warning" gives warnings.
	Severity string `json:"severity"`
}

// Citation is one verified reference inside a section.
type Citation struct {
	Section string `json:"section"`
	Marker  int    `json:"marker,omitempty"` // [n]; 0 for a norm reference without marker
	Norm    string `json:"norm,omitempty"`   // normalised norm reference, e.g. "§ 19 Abs. 1 WoGG"
	Source  int    `json:"source,omitempty"` // the source N it resolved to
	Status  Status `json:"status"`
}

// Section is one part of the memo body.
type Section struct {
	Key       string     `json:"key"`
	Title     string     `json:"title"`
	Text      string     `json:"text"`
	Sources   []int      `json:"sources,omitempty"` // markers used in the text
	Citations []Citation `json:"citations,omitempty"`
	Findings  []Finding  `json:"findings,omitempty"`
	Status    Status     `json:"status"`
}

// Verification summarises the checks of the whole memo.
type Verification struct {
	Status   Status         `json:"status"`
	Checked  int            `json:"checked"` // citations checked
	Verified int            `json:"verified"`
	Findings int            `json:"findings"`
	ByKind   map[string]int `json:"by_kind,omitempty"`
}

// Memo is a drafted memo as stored and returned.
type Memo struct {
	ID           string           `json:"id"`
	CreatedAt    time.Time        `json:"created_at"`
	Mode         Mode             `json:"mode"`
	Header       Header           `json:"header"`
	Sections     []Section        `json:"sections"`
	Sources      []Source         `json:"sources"`
	Verification Verification     `json:"verification"`
	Request      Request          `json:"request"`
	Model        assist.ModelInfo `json:"model,omitempty"` // name and digest of the chat model; empty in extractive mode
	PromptHash   string           `json:"prompt_hash,omitempty"`
	PromptName   string           `json:"prompt_name,omitempty"`
	// Draft mark shown on every rendering.
	Mark     string   `json:"mark"` // "KI-Entwurf – nicht geprüft"
	Warnings []string `json:"warnings,omitempty"`
	Timings  Timings  `json:"timings"`
}

// DraftMark is printed on every memo the service produces.
const DraftMark = "KI-Entwurf – nicht geprüft"

// Timings break down where the time went; Overhead excludes the model.
type Timings struct {
	Retrieval time.Duration `json:"retrieval_ns"`
	Packing   time.Duration `json:"packing_ns"`
	Model     time.Duration `json:"model_ns"`
	Verify    time.Duration `json:"verify_ns"`
	Total     time.Duration `json:"total_ns"`
}

// Event is one streaming event of a draft, as sent over SSE.
type Event struct {
	// Type is "delta", "citation", "warning", "done" or "error".
	Type string `json:"-"`
	// delta: a piece of text of one section.
	Section string `json:"section,omitempty"`
	Text    string `json:"text,omitempty"`
	// citation: a verified or flagged reference.
	Citation *Citation `json:"citation,omitempty"`
	// warning: a finding or a notice (e.g. "extractive fallback").
	Finding *Finding `json:"finding,omitempty"`
	Message string   `json:"message,omitempty"`
	// done: the memo id and the verification summary.
	MemoID       string        `json:"memo_id,omitempty"`
	Verification *Verification `json:"verification,omitempty"`
	// error: kind and message.
	Kind string `json:"kind,omitempty"`
}

// Package triage suggests, for each incoming service-desk ticket, a
// category (queue) and a priority with a calibrated confidence or an honest
// "unsicher", the most similar resolved tickets, and an answer with its
// sources; agents' corrections flow back as training data.
//
// This file holds the shared types; the classifier lives in
// triage/classify, the service in triage/service (see their docs).
package triage

import "time"

// Ticket is an incoming ticket as the service desk sends it.
type Ticket struct {
	ID        string            `json:"id,omitempty"`
	Subject   string            `json:"subject"`
	Body      string            `json:"body"`
	Desk      string            `json:"desk"` // service desk / authority: every lookup is filtered by it
	Language  string            `json:"language,omitempty"`
	Created   time.Time         `json:"created,omitempty"`
	Requester string            `json:"requester,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
}

// Text is what classifiers and retrieval read of a ticket.
func (t Ticket) Text() string {
	switch {
	case t.Subject == "":
		return t.Body
	case t.Body == "":
		return t.Subject
	}
	return t.Subject + "\n\n" + t.Body
}

// Alternative is a label with its probability.
type Alternative struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
}

// Prediction is one suggested label. Label is always a label of the
// taxonomy; when Unsure is set it is the most likely one, but the agent
// must choose among Alternatives.
type Prediction struct {
	Label        string        `json:"label"`
	Confidence   float64       `json:"confidence"` // calibrated probability that Label is right
	Unsure       bool          `json:"unsure"`     // confidence below the threshold: "unsicher"
	Alternatives []Alternative `json:"alternatives"`
	// Source says where the prediction came from: "classifier", "llm",
	// "combined", or "fallback" (the LLM answer was unusable).
	Source   string `json:"source"`
	Fallback bool   `json:"fallback,omitempty"`
}

// Similar is a resolved ticket like the incoming one.
type Similar struct {
	ID       string  `json:"id"`
	Subject  string  `json:"subject"`
	Category string  `json:"category,omitempty"`
	Answer   string  `json:"answer,omitempty"`
	Score    float64 `json:"score"`
	Created  string  `json:"created,omitempty"`
}

// Answer is a suggested reply to the requester.
type Answer struct {
	Text    string   `json:"text"`
	Sources []string `json:"sources"` // ids of the tickets and documents it rests on
	Mode    string   `json:"mode"`    // "llm", "extractive" (best past answer), or "none"
}

// Suggestion is the result of triaging one ticket.
type Suggestion struct {
	TicketID string            `json:"ticket_id"`
	Category Prediction        `json:"category"`
	Priority Prediction        `json:"priority"`
	Similar  []Similar         `json:"similar"`
	Answer   Answer            `json:"answer"`
	Models   map[string]string `json:"models"` // classifier and LLM names and versions
	// Note is the suggestion as an internal-note text for the ticket system.
	Note string `json:"note,omitempty"`
}

// Feedback is an agent's verdict on a suggestion.
type Feedback struct {
	TicketID string `json:"ticket_id"`
	Desk     string `json:"desk"`
	// Category and Priority are the labels the agent kept or set;
	// CategoryAccepted says whether the suggestion was right.
	Category         string `json:"category,omitempty"`
	CategoryAccepted bool   `json:"category_accepted"`
	Priority         string `json:"priority,omitempty"`
	PriorityAccepted bool   `json:"priority_accepted"`
	// Answer: "used" as is, "edited" (FinalAnswer holds the sent text) or "rejected".
	Answer      string    `json:"answer,omitempty"`
	FinalAnswer string    `json:"final_answer,omitempty"`
	Agent       string    `json:"agent,omitempty"`
	At          time.Time `json:"at"`
	// Subject and Body of the ticket, so that the correction can train the
	// next model even when the ticket is not in the index.
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
}

package adapters

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"amtsassist/assist"
	"amtsassist/assist/triage"
)

// --- Znuny / OTRS GenericInterface -------------------------------------

type znunyPayload struct {
	Ticket  oneOrMany[znunyTicket]  `json:"Ticket"`
	Article oneOrMany[znunyArticle] `json:"Article"` // TicketCreate: beside the ticket
}

type znunyTicket struct {
	TicketID       flexString              `json:"TicketID"`
	TicketNumber   flexString              `json:"TicketNumber"`
	Title          string                  `json:"Title"`
	Queue          string                  `json:"Queue"`
	Priority       string                  `json:"Priority"`
	State          string                  `json:"State"`
	Type           string                  `json:"Type"`
	Created        string                  `json:"Created"`
	CustomerUserID string                  `json:"CustomerUserID"`
	CustomerUser   string                  `json:"CustomerUser"` // TicketCreate's name for it
	Article        oneOrMany[znunyArticle] `json:"Article"`      // TicketGet: inside the ticket
}

type znunyArticle struct {
	Subject              string     `json:"Subject"`
	Body                 string     `json:"Body"`
	ContentType          string     `json:"ContentType"`
	MimeType             string     `json:"MimeType"`
	From                 string     `json:"From"`
	SenderType           string     `json:"SenderType"`
	IsVisibleForCustomer flexString `json:"IsVisibleForCustomer"`
}

func parseZnuny(data []byte) (triage.Ticket, error) {
	var p znunyPayload
	if err := decode(KindZnuny, data, &p, false); err != nil {
		return triage.Ticket{}, err
	}
	switch n := len(p.Ticket); {
	case n == 0:
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, `znuny payload has no "Ticket" object`)
	case n > 1:
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "znuny payload holds %d tickets; send one per request", n)
	}
	zt := p.Ticket[0]
	articles := append(append([]znunyArticle{}, zt.Article...), p.Article...)
	if len(articles) > maxArticles {
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "znuny payload holds %d articles; the limit is %d", len(articles), maxArticles)
	}
	t := triage.Ticket{ID: string(zt.TicketID), Subject: zt.Title, Requester: firstNonEmpty(zt.CustomerUserID, zt.CustomerUser)}
	if t.ID == "" {
		t.ID = string(zt.TicketNumber)
	}
	var err error
	if t.Created, err = parseTime(KindZnuny, "Ticket.Created", zt.Created); err != nil {
		return triage.Ticket{}, err
	}
	if a, ok := pickZnunyArticle(articles); ok {
		t.Body = articleText(a.Body, firstNonEmpty(a.MimeType, a.ContentType))
		if t.Subject == "" {
			t.Subject = a.Subject
		}
		if t.Requester == "" {
			t.Requester = a.From
		}
	}
	t.Meta = setMeta(t.Meta, "number", string(zt.TicketNumber))
	t.Meta = setMeta(t.Meta, "queue", zt.Queue)
	t.Meta = setMeta(t.Meta, "priority", zt.Priority)
	t.Meta = setMeta(t.Meta, "state", zt.State)
	t.Meta = setMeta(t.Meta, "type", zt.Type)
	t.Meta = setMeta(t.Meta, "source", KindZnuny)
	return t, nil
}

// pickZnunyArticle prefers the first article the customer wrote, then the
// first one visible to the customer: internal agent notes describe the
// agents' view, not the request.
func pickZnunyArticle(as []znunyArticle) (znunyArticle, bool) {
	for _, a := range as {
		if strings.EqualFold(strings.TrimSpace(a.SenderType), "customer") {
			return a, true
		}
	}
	for _, a := range as {
		if strings.TrimSpace(string(a.IsVisibleForCustomer)) != "0" {
			return a, true
		}
	}
	return znunyArticle{}, false
}

// --- Zammad webhook ----------------------------------------------------

type zammadPayload struct {
	Ticket   *zammadTicket   `json:"ticket"`
	Article  *zammadArticle  `json:"article"`
	Articles []zammadArticle `json:"articles"`
}

type zammadTicket struct {
	ID         flexString    `json:"id"`
	Number     flexString    `json:"number"`
	Title      string        `json:"title"`
	Group      named         `json:"group"`
	GroupID    flexString    `json:"group_id"`
	Priority   named         `json:"priority"`
	PriorityID flexString    `json:"priority_id"`
	State      named         `json:"state"`
	CreatedAt  string        `json:"created_at"`
	Customer   *zammadPerson `json:"customer"`
}

type zammadPerson struct {
	Email     string `json:"email"`
	Login     string `json:"login"`
	Firstname string `json:"firstname"`
	Lastname  string `json:"lastname"`
}

type zammadArticle struct {
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"`
	From        string `json:"from"`
	Sender      named  `json:"sender"`
	Internal    bool   `json:"internal"`
}

// named accepts Zammad's two forms of a reference: an expanded object
// ({"name": "Users"}) or the bare name.
type named string

func (n *named) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*n = named(s)
		return nil
	}
	var o struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(bytes.TrimSpace(b)), Type: reflect.TypeOf(*n)}
	}
	*n = named(o.Name)
	return nil
}

func parseZammad(data []byte) (triage.Ticket, error) {
	var p zammadPayload
	if err := decode(KindZammad, data, &p, false); err != nil {
		return triage.Ticket{}, err
	}
	if p.Ticket == nil {
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, `zammad payload has no "ticket" object`)
	}
	zt := p.Ticket
	articles := append([]zammadArticle{}, p.Articles...)
	if p.Article != nil {
		articles = append(articles, *p.Article)
	}
	if len(articles) > maxArticles {
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "zammad payload holds %d articles; the limit is %d", len(articles), maxArticles)
	}
	t := triage.Ticket{ID: string(zt.ID), Subject: zt.Title}
	if t.ID == "" {
		t.ID = string(zt.Number)
	}
	var err error
	if t.Created, err = parseTime(KindZammad, "ticket.created_at", zt.CreatedAt); err != nil {
		return triage.Ticket{}, err
	}
	if c := zt.Customer; c != nil {
		t.Requester = firstNonEmpty(c.Email, c.Login, strings.TrimSpace(c.Firstname+" "+c.Lastname))
	}
	if a, ok := pickZammadArticle(articles); ok {
		t.Body = articleText(a.Body, a.ContentType)
		if t.Subject == "" {
			t.Subject = a.Subject
		}
		if t.Requester == "" {
			t.Requester = a.From
		}
	}
	t.Meta = setMeta(t.Meta, "number", string(zt.Number))
	t.Meta = setMeta(t.Meta, "queue", string(zt.Group))
	if zt.Group == "" {
		t.Meta = setMeta(t.Meta, "group_id", string(zt.GroupID))
	}
	t.Meta = setMeta(t.Meta, "priority", string(zt.Priority))
	if zt.Priority == "" {
		t.Meta = setMeta(t.Meta, "priority_id", string(zt.PriorityID))
	}
	t.Meta = setMeta(t.Meta, "state", string(zt.State))
	t.Meta = setMeta(t.Meta, "source", KindZammad)
	return t, nil
}

// pickZammadArticle prefers the first public article of the customer, then
// the first public one; internal notes are never the ticket's text.
func pickZammadArticle(as []zammadArticle) (zammadArticle, bool) {
	for _, a := range as {
		if !a.Internal && strings.EqualFold(strings.TrimSpace(string(a.Sender)), "customer") {
			return a, true
		}
	}
	for _, a := range as {
		if !a.Internal {
			return a, true
		}
	}
	return zammadArticle{}, false
}

// articleText returns the text of an article body: HTML reduced to text
// when the content type says HTML, or when none is given and the body looks
// like markup.
func articleText(body, contentType string) string {
	ct := strings.ToLower(contentType)
	if strings.Contains(ct, "html") || (strings.TrimSpace(ct) == "" && looksLikeHTML(body)) {
		return StripHTML(body)
	}
	return body
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

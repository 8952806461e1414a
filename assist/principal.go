package assist

import (
	"context"
	"slices"
)

// AccessRole is what a caller may do. A principal may hold several.
type AccessRole string

const (
	// Clerk drafts memos and searches the regulations and the own
	// authority's case documents; uploads become case documents of that
	// authority.
	Clerk AccessRole = "clerk"
	// Agent triages tickets, records feedback and sees the tickets of the
	// service desks the principal works for.
	Agent AccessRole = "agent"
	// Evaluator reads benchmark and evaluation results and the shared
	// regulations; no case content of any authority unless also Clerk.
	Evaluator AccessRole = "evaluator"
	// Admin ingests into the shared regulations corpus, imports tickets for
	// its desks and reads operational details (readiness, metrics).
	Admin AccessRole = "admin"
)

// AccessRoles lists every role, in the order documentation shows them.
var AccessRoles = []AccessRole{Clerk, Agent, Evaluator, Admin}

// ParseAccessRole returns the role named s, or Invalid.
func ParseAccessRole(s string) (AccessRole, error) {
	for _, r := range AccessRoles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Errorf(Invalid, "parse role", "unknown role %q (valid: clerk, agent, evaluator, admin)", s)
}

// Principal is who is calling, as established from credentials the server
// checked (an OIDC token, an API key, or the local principal of the
// unauthenticated demo mode). Nothing below the HTTP layer takes identity
// from a request body or query; the use cases receive a Principal.
type Principal struct {
	// Subject is the stable identifier: the token's "sub", "apikey:<name>",
	// or "local".
	Subject string `json:"subject"`
	// Name is for display (a memo's Verfasser, logs); may be empty.
	Name  string       `json:"name,omitempty"`
	Roles []AccessRole `json:"roles"`
	// Authority is the authority whose case documents and memos the
	// principal may see; empty for principals without one.
	Authority string `json:"authority,omitempty"`
	// Desks are the service desks whose tickets the principal may see.
	Desks []string `json:"desks,omitempty"`
	// Method is how the principal was established: "oidc", "apikey" or
	// "none".
	Method string `json:"method"`
}

// Has reports whether p holds role r.
func (p Principal) Has(r AccessRole) bool { return slices.Contains(p.Roles, r) }

// HasAny reports whether p holds at least one of roles.
func (p Principal) HasAny(roles ...AccessRole) bool {
	for _, r := range roles {
		if p.Has(r) {
			return true
		}
	}
	return false
}

// WorksFor reports whether desk is one of p's service desks.
func (p Principal) WorksFor(desk string) bool { return desk != "" && slices.Contains(p.Desks, desk) }

// Authenticator establishes the principal behind a bearer credential.
type Authenticator interface {
	// Authenticate returns the principal credential stands for. It returns
	// Unauthenticated when the credential is malformed, unknown, expired,
	// revoked or fails any check (the error's cause names the reason for
	// the log; its message stays generic), and Unavailable when the
	// credential cannot be checked right now (identity provider down).
	Authenticate(ctx context.Context, credential string) (Principal, error)
}

package ingest

import (
	"context"

	"amtsassist/assist"
)

func loadTickets(ctx context.Context, name string, data []byte, f Format, opts Options) ([]assist.Document, error) {
	return nil, assist.Errorf(assist.Unavailable, "ingest", "ticket loader pending")
}

package ingest

import (
	"context"

	"amtsassist/assist"
)

// loadFormat calls the loader for format.
func loadFormat(ctx context.Context, format Format, src source, data []byte, opts Options) ([]assist.Document, error) {
	return nil, assist.Errorf(assist.Unavailable, "ingest", "no loader for format %q yet", format)
}

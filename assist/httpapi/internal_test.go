package httpapi

import "testing"

func TestOpenAPIPathRewritesGinParameters(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/v1/search", "/v1/search"},
		{"/v1/documents/:id", "/v1/documents/{id}"},
		{"/v1/documents/:id/chunks/:chunk", "/v1/documents/{id}/chunks/{chunk}"},
		{"/files/*path", "/files/{path}"},
		{"/a:b", "/a:b"}, // a colon inside a segment is literal
	}
	for _, tt := range tests {
		t.Run(tt.in+" becomes "+tt.want, func(t *testing.T) {
			if got := openAPIPath(tt.in); got != tt.want {
				t.Errorf("openAPIPath(%q) = %q", tt.in, got)
			}
		})
	}
}

func TestHumanBytesPicksTheLargestExactUnit(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{1 << 30, "1 GiB"}, {32 << 20, "32 MiB"}, {4 << 10, "4 KiB"}, {1536, "1536 B"}, {1000, "1000 B"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := humanBytes(tt.n); got != tt.want {
				t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

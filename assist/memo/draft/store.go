package draft

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"amtsassist/assist"
	"amtsassist/assist/memo"
)

// Store persists memos as one JSON file each under a directory, so a memo
// can be fetched again (GET /v1/memos/{id}) and reproduced: the file holds
// the request, the sources, the model and its digest and the prompt hash.
type Store struct {
	dir string
}

// maxMemoFileBytes bounds what Get reads; a memo file is written by the
// service itself, so anything larger is damaged or foreign.
const maxMemoFileBytes = 16 << 20

// OpenStore opens (creating it if needed) a memo store in dir. It returns
// Invalid for an empty dir and Unavailable when the directory cannot be
// created.
func OpenStore(dir string) (*Store, error) {
	const op = "memo store open"
	if dir == "" {
		return nil, assist.Errorf(assist.Invalid, op, "no memo directory given")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot create memo directory %s", dir), Err: err}
	}
	return &Store{dir: dir}, nil
}

// idBytes gives 128 random bits: ids cannot be guessed, so knowing one
// memo's id tells nothing about another's.
const idBytes = 16

// NewID returns a random, URL-safe memo id (22 characters of base64url).
func NewID() string {
	b := make([]byte, idBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidID reports whether id has the shape NewID produces. Get checks it
// before touching the file system, which rules out path traversal.
func ValidID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Put writes m crash-safely: to a temporary file that is synced and then
// renamed over the final name, followed by a sync of the directory. A crash
// leaves either the old file or the new one, never a torn memo. It returns
// Invalid for a memo without a valid id.
func (s *Store) Put(ctx context.Context, m *memo.Memo) error {
	const op = "memo store put"
	if m == nil || !ValidID(m.ID) {
		return assist.Errorf(assist.Invalid, op, "memo has no valid id")
	}
	if err := ctx.Err(); err != nil {
		return assist.E(assist.KindOf(err), op, err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return assist.E(assist.Internal, op, err)
	}
	fail := func(err error) error {
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write memo", Err: err}
	}
	tmp, err := os.CreateTemp(s.dir, "."+m.ID+".*.tmp")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), s.path(m.ID)); err != nil {
		return fail(err)
	}
	return syncDir(s.dir)
}

// Get returns the memo with id. It returns NotFound for an unknown or
// malformed id (both look the same to the caller).
func (s *Store) Get(ctx context.Context, id string) (*memo.Memo, error) {
	const op = "memo store get"
	if !ValidID(id) {
		return nil, assist.Errorf(assist.NotFound, op, "Vermerk %q nicht gefunden", clip(id, 64))
	}
	if err := ctx.Err(); err != nil {
		return nil, assist.E(assist.KindOf(err), op, err)
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, assist.Errorf(assist.NotFound, op, "Vermerk %q nicht gefunden", id)
	}
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot read memo", Err: err}
	}
	defer f.Close()
	var m memo.Memo
	dec := json.NewDecoder(&limitedReader{f: f, n: maxMemoFileBytes})
	if err := dec.Decode(&m); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Internal, Msg: fmt.Sprintf("memo %s is damaged", id), Err: err}
	}
	return &m, nil
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".json") }

// syncDir makes a rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return &assist.Error{Op: "memo store put", Kind: assist.Unavailable, Msg: "cannot sync memo directory", Err: err}
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return &assist.Error{Op: "memo store put", Kind: assist.Unavailable, Msg: "cannot sync memo directory", Err: err}
	}
	return nil
}

type limitedReader struct {
	f *os.File
	n int64
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("memo file exceeds 16 MiB")
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n, err := r.f.Read(p)
	r.n -= int64(n)
	return n, err
}

// Package local is the embedded index: the product's default index, kept in
// the data directory, and the index every test uses. Documents, chunks and
// vectors live in a bbolt file (dir/index.db) whose transactions give crash
// safety; the lexical index, the filter attributes and the normalised vectors
// are held in memory and rebuilt from the file on Open. Dense search is a
// brute-force cosine scan, which is exact and fast enough for the corpora an
// office ingests (tens of thousands of chunks).
package local

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"amtsassist/assist"
	"amtsassist/rag"
	"amtsassist/rag/lexical"
)

// FileName is the name of the index file inside the data directory.
const FileName = "index.db"

// schemaVersion is bumped when the on-disk layout changes incompatibly.
const schemaVersion = "1"

// DefaultLockTimeout is how long Open waits for another process to release
// the index file before it gives up.
const DefaultLockTimeout = time.Second

var (
	bucketManifest  = []byte("manifest")   // doc id → DocInfo JSON
	bucketChunks    = []byte("chunks")     // chunk id → Chunk JSON without vector
	bucketVectors   = []byte("vectors")    // chunk id → float32 little-endian, as given
	bucketDocChunks = []byte("doc_chunks") // doc id → JSON []string of chunk ids, in order
	bucketMeta      = []byte("meta")       // schema version, embedding model
	keySchema       = []byte("schema")
	keyEmbedding    = []byte("embedding")
)

// Config configures an Index.
type Config struct {
	// Analyzer tokenises text for the lexical index; nil means
	// lexical.German().
	Analyzer *lexical.Analyzer
	// LockTimeout bounds the wait for the file lock held by another
	// process; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
}

// Index is the embedded rag.Index. It is safe for concurrent use: searches
// run in parallel, writes are serialised and become visible to searches only
// after they are committed to disk.
type Index struct {
	dir string
	db  *bolt.DB
	log *slog.Logger
	lex *lexical.Index

	// writeMu serialises writers (and Close): a write reserves slots,
	// analyses texts into the lexical index without holding mu, and then
	// commits, so searches wait only for the disk write.
	writeMu sync.Mutex
	// mu guards everything below. Writers hold it for the bbolt
	// transaction and the memory update, so searches never see memory that
	// disagrees with the file they read chunk texts from. Slots that are
	// not live may be in the lexical index; searches skip them.
	mu      sync.RWMutex
	closed  bool
	model   *assist.ModelInfo // nil until BindEmbedding or the first vectors
	docs    map[string]*docState
	slots   []slot
	free    []uint32
	byID    map[string]uint32   // chunk id → slot
	cites   map[string][]uint32 // citationKey → slots, in insertion order
	vectors int
	nextDoc uint32
}

type docState struct {
	info   rag.DocInfo
	num    uint32   // groups chunks of one document in searches
	chunks []uint32 // slots, in the order they were stored
}

// slot is the in-memory part of one chunk; the text stays on disk.
type slot struct {
	live  bool
	id    string
	doc   *docState
	attrs assist.Chunk // only the fields rag.Filter.Match reads
	vec   []float32    // normalised; nil when the chunk has no vector
	cite  string       // citationKey of the chunk, "" without section or law
}

var (
	_ rag.Index           = (*Index)(nil)
	_ rag.EmbeddingBinder = (*Index)(nil)
)

// Open opens the index in dir, creating dir and the index file when they do
// not exist, and rebuilds the in-memory structures from the file. It returns
// Unavailable when another process holds the index or the file cannot be
// opened, and Conflict when the file was written by an incompatible version.
func Open(dir string, cfg Config, logger *slog.Logger) (*Index, error) {
	const op = "local open"
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Analyzer == nil {
		cfg.Analyzer = lexical.German()
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = DefaultLockTimeout
	}
	if dir == "" {
		return nil, assist.Errorf(assist.Invalid, op, "no index directory given")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot create index directory %s", dir), Err: err}
	}
	start := time.Now()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: cfg.LockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("index at %s is in use by another process", dir), Err: err}
		}
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot open index at %s", dir), Err: err}
	}
	ix := &Index{
		dir:   dir,
		db:    db,
		log:   logger,
		lex:   lexical.NewIndex(cfg.Analyzer),
		docs:  make(map[string]*docState),
		byID:  make(map[string]uint32),
		cites: make(map[string][]uint32),
	}
	if err := ix.init(); err != nil {
		db.Close()
		return nil, err
	}
	if err := ix.load(); err != nil {
		db.Close()
		return nil, err
	}
	logger.Info("local index opened", "dir", dir, "documents", len(ix.docs),
		"chunks", len(ix.byID), "vectors", ix.vectors, "duration", time.Since(start))
	return ix, nil
}

// init creates the buckets of a new file and checks the schema of an old one.
func (ix *Index) init() error {
	const op = "local open"
	var found string
	err := ix.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketManifest, bucketChunks, bucketVectors, bucketDocChunks, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v != nil {
			found = string(v)
			return nil
		}
		found = schemaVersion
		return meta.Put(keySchema, []byte(schemaVersion))
	})
	if err != nil {
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot initialise index at %s", ix.dir), Err: err}
	}
	if found != schemaVersion {
		return assist.Errorf(assist.Conflict, op, "index at %s has schema version %s, this program reads version %s", ix.dir, found, schemaVersion)
	}
	return nil
}

// load rebuilds memory from the file. Chunks are reached through their
// document's chunk list, so the per-document order is kept. Text analysis
// for the lexical index is the expensive part of opening, so it runs on
// every core while the file is read.
func (ix *Index) load() error {
	const op = "local open"
	type job struct {
		n    uint32
		text string
	}
	jobs := make(chan job, 256)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ix.lex.Add(j.n, j.text)
			}
		}()
	}
	err := ix.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyEmbedding); v != nil {
			var m assist.ModelInfo
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("embedding model: %w", err)
			}
			ix.model = &m
		}
		chunks, vectors, lists := tx.Bucket(bucketChunks), tx.Bucket(bucketVectors), tx.Bucket(bucketDocChunks)
		return tx.Bucket(bucketManifest).ForEach(func(k, v []byte) error {
			var info rag.DocInfo
			if err := json.Unmarshal(v, &info); err != nil {
				return fmt.Errorf("manifest entry %q: %w", k, err)
			}
			d := &docState{info: info, num: ix.nextDoc}
			ix.nextDoc++
			ix.docs[info.ID] = d
			var ids []string
			if raw := lists.Get(k); raw != nil {
				if err := json.Unmarshal(raw, &ids); err != nil {
					return fmt.Errorf("chunk list of %q: %w", k, err)
				}
			}
			for _, id := range ids {
				raw := chunks.Get([]byte(id))
				if raw == nil {
					return fmt.Errorf("chunk %q of document %q is missing", id, info.ID)
				}
				var c assist.Chunk
				if err := json.Unmarshal(raw, &c); err != nil {
					return fmt.Errorf("chunk %q: %w", id, err)
				}
				if raw := vectors.Get([]byte(id)); raw != nil {
					c.Vector = decodeVector(raw)
				}
				jobs <- job{n: ix.addSlot(d, &c), text: lexicalText(&c)}
			}
			return nil
		})
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		return &assist.Error{Op: op, Kind: assist.Internal, Msg: fmt.Sprintf("index at %s is damaged", ix.dir), Err: err}
	}
	return nil
}

// addSlot records c in a new slot and returns it; the caller adds its text
// to the lexical index. Callers hold mu (or own ix exclusively).
func (ix *Index) addSlot(d *docState, c *assist.Chunk) uint32 {
	n := ix.allocSlot()
	ix.fillSlot(n, d, c)
	return n
}

// allocSlot reserves a slot. It stays dead (invisible to searches) until
// fillSlot, so its text may enter the lexical index before the write
// commits. Callers hold mu.
func (ix *Index) allocSlot() uint32 {
	if k := len(ix.free); k > 0 {
		n := ix.free[k-1]
		ix.free = ix.free[:k-1]
		ix.slots[n] = slot{}
		return n
	}
	ix.slots = append(ix.slots, slot{})
	return uint32(len(ix.slots) - 1)
}

// fillSlot makes slot n hold c and be searchable. Callers hold mu.
func (ix *Index) fillSlot(n uint32, d *docState, c *assist.Chunk) {
	s := slot{
		live: true,
		id:   c.ID,
		doc:  d,
		attrs: assist.Chunk{
			DocID: c.DocID, Corpus: c.Corpus, Authority: c.Authority, Source: c.Source, Meta: c.Meta,
		},
		cite: citationKey(c.Citation.Section, c.Citation.Law),
	}
	if len(c.Vector) > 0 {
		s.vec = normalized(c.Vector)
		ix.vectors++
	}
	ix.slots[n] = s
	ix.byID[c.ID] = n
	d.chunks = append(d.chunks, n)
	if s.cite != "" {
		ix.cites[s.cite] = append(ix.cites[s.cite], n)
	}
}

// retire makes the chunks of d invisible and returns their slots, which
// are still in the lexical index: the caller removes them there (outside mu,
// it is slow) and only then frees them. Callers hold mu.
func (ix *Index) retire(d *docState) []uint32 {
	for _, n := range d.chunks {
		s := &ix.slots[n]
		if s.vec != nil {
			ix.vectors--
		}
		delete(ix.byID, s.id)
		if s.cite != "" {
			rest := slices.DeleteFunc(ix.cites[s.cite], func(m uint32) bool { return m == n })
			if len(rest) == 0 {
				delete(ix.cites, s.cite)
			} else {
				ix.cites[s.cite] = rest
			}
		}
		*s = slot{}
	}
	dead := d.chunks
	d.chunks = nil
	return dead
}

// release removes dead slots from the lexical index and frees them. Callers
// hold writeMu but not mu: searches go on meanwhile and skip the slots,
// which are no longer live.
func (ix *Index) release(dead []uint32) {
	if len(dead) == 0 {
		return
	}
	for _, n := range dead {
		ix.lex.Remove(n)
	}
	ix.mu.Lock()
	ix.free = append(ix.free, dead...)
	ix.mu.Unlock()
}

// lexicalText is what the lexical index sees of a chunk: its citation and
// heading, then its text, so that "§ 19 WoGG" or heading words find it even
// when the body does not repeat them. The citation line plays the part of the
// title the retrieval benchmark indexes with each passage (eval/retrieval),
// so the product ranks as measured there.
func lexicalText(c *assist.Chunk) string {
	head := c.Citation.String()
	if h := c.Citation.Heading; h != "" {
		head += "\n" + h
	}
	if head == "" {
		return c.Text
	}
	return head + "\n" + c.Text
}

// Close releases the index file. Later calls of any method return
// Unavailable; closing twice is harmless.
func (ix *Index) Close() error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	if err := ix.db.Close(); err != nil {
		return &assist.Error{Op: "local close", Kind: assist.Internal, Msg: fmt.Sprintf("closing index at %s failed", ix.dir), Err: err}
	}
	return nil
}

// ready reports Unavailable after Close and the context's error when it is
// done. Callers hold mu.
func (ix *Index) ready(ctx context.Context, op string) error {
	if ix.closed {
		return assist.Errorf(assist.Unavailable, op, "index at %s is closed", ix.dir)
	}
	return ctxErr(ctx, op)
}

func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		kind := assist.Canceled
		if errors.Is(err, context.DeadlineExceeded) {
			kind = assist.Timeout
		}
		return assist.E(kind, op, err)
	}
	return nil
}

// Document returns the manifest entry for id, or NotFound.
func (ix *Index) Document(ctx context.Context, id string) (rag.DocInfo, error) {
	const op = "local document"
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if err := ix.ready(ctx, op); err != nil {
		return rag.DocInfo{}, err
	}
	d, ok := ix.docs[id]
	if !ok {
		return rag.DocInfo{}, assist.Errorf(assist.NotFound, op, "document %q not found", id)
	}
	return cloneInfo(d.info), nil
}

// Documents lists the manifest entries matching f, ordered by ID. Corpus,
// Authority, Source and DocID are matched against the entry; Status and Meta
// against the entry's Meta.
func (ix *Index) Documents(ctx context.Context, f rag.Filter) ([]rag.DocInfo, error) {
	const op = "local documents"
	if err := validateFilter(op, f); err != nil {
		return nil, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if err := ix.ready(ctx, op); err != nil {
		return nil, err
	}
	out := []rag.DocInfo{}
	for _, d := range ix.docs {
		if docMatch(f, &d.info) {
			out = append(out, cloneInfo(d.info))
		}
	}
	slices.SortFunc(out, func(a, b rag.DocInfo) int { return compareStrings(a.ID, b.ID) })
	return out, nil
}

// docMatch applies f to a manifest entry with the semantics of
// rag.Filter.Match: the document stands in for a chunk with its attributes.
func docMatch(f rag.Filter, info *rag.DocInfo) bool {
	c := assist.Chunk{DocID: info.ID, Corpus: info.Corpus, Authority: info.Authority, Source: info.Source, Meta: info.Meta}
	return f.Match(&c)
}

func validateFilter(op string, f rag.Filter) error {
	for _, c := range f.Corpus {
		if _, err := assist.ParseCorpus(string(c)); err != nil {
			return assist.Errorf(assist.Invalid, op, "filter names unknown corpus %q (valid: regulations, cases, tickets)", c)
		}
	}
	return nil
}

func cloneInfo(info rag.DocInfo) rag.DocInfo {
	info.Meta = maps.Clone(info.Meta)
	return info
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Chunk returns one stored chunk by id, with its vector as stored, or
// NotFound.
func (ix *Index) Chunk(ctx context.Context, id string) (assist.Chunk, error) {
	const op = "local chunk"
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if err := ix.ready(ctx, op); err != nil {
		return assist.Chunk{}, err
	}
	var c assist.Chunk
	found := false
	err := ix.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketChunks).Get([]byte(id))
		if raw == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		if raw := tx.Bucket(bucketVectors).Get([]byte(id)); raw != nil {
			c.Vector = decodeVector(raw)
		}
		return nil
	})
	if err != nil {
		return assist.Chunk{}, &assist.Error{Op: op, Kind: assist.Internal, Msg: fmt.Sprintf("reading chunk %q failed", id), Err: err}
	}
	if !found {
		return assist.Chunk{}, assist.Errorf(assist.NotFound, op, "chunk %q not found", id)
	}
	return c, nil
}

// Stats summarises the index; Bytes is the size of the index file.
func (ix *Index) Stats(ctx context.Context) (rag.Stats, error) {
	const op = "local stats"
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if err := ix.ready(ctx, op); err != nil {
		return rag.Stats{}, err
	}
	st := rag.Stats{
		Documents: len(ix.docs),
		Chunks:    len(ix.byID),
		Vectors:   ix.vectors,
		ByCorpus:  make(map[assist.Corpus]int),
	}
	for _, n := range ix.byID {
		st.ByCorpus[ix.slots[n].attrs.Corpus]++
	}
	if ix.model != nil {
		m := *ix.model
		st.Embedding = &m
	}
	_ = ix.db.View(func(tx *bolt.Tx) error {
		st.Bytes = tx.Size()
		return nil
	})
	return st, nil
}

// BindEmbedding records the embedding model. It returns Conflict when the
// index holds another model's name or dimension and Invalid for a model
// without a name. A model bound without a dimension takes the dimension of
// the first vectors stored.
func (ix *Index) BindEmbedding(ctx context.Context, m assist.ModelInfo) error {
	const op = "local bind embedding"
	if m.Name == "" {
		return assist.Errorf(assist.Invalid, op, "embedding model has no name")
	}
	if m.Dimension < 0 {
		return assist.Errorf(assist.Invalid, op, "embedding model %s has a negative dimension %d", m.Name, m.Dimension)
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.ready(ctx, op); err != nil {
		return err
	}
	merged := m
	if old := ix.model; old != nil {
		if old.Name != "" && old.Name != m.Name || old.Dimension > 0 && m.Dimension > 0 && old.Dimension != m.Dimension {
			return assist.Errorf(assist.Conflict, op,
				"index at %s was built with embedding model %s, not %s; re-ingest into a new data directory or configure %s",
				ix.dir, describeModel(*old), describeModel(m), describeModel(*old))
		}
		if merged.Dimension == 0 {
			merged.Dimension = old.Dimension
		}
		if old.Digest != "" && m.Digest != "" && old.Digest != m.Digest {
			ix.log.Warn("embedding model digest changed since the index was built", "model", m.Name, "stored", old.Digest, "now", m.Digest)
		}
		if merged == *old {
			return nil
		}
	}
	if err := ix.db.Update(func(tx *bolt.Tx) error { return putModel(tx, merged) }); err != nil {
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot write the index at %s", ix.dir), Err: err}
	}
	ix.model = &merged
	return nil
}

func describeModel(m assist.ModelInfo) string {
	name := m.Name
	if name == "" {
		name = "(unnamed)"
	}
	if m.Dimension > 0 {
		return fmt.Sprintf("%s (dimension %d)", name, m.Dimension)
	}
	return name
}

func putModel(tx *bolt.Tx, m assist.ModelInfo) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyEmbedding, raw)
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// normalized returns v scaled to unit length, so that cosine similarity is
// a dot product. Callers have rejected zero and non-finite vectors.
func normalized(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}

// checkVector returns a description of what is wrong with v, or "".
func checkVector(v []float32, dim int) string {
	if dim > 0 && len(v) != dim {
		return fmt.Sprintf("has dimension %d, the index holds dimension %d", len(v), dim)
	}
	var sum float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "contains NaN or infinite values"
		}
		sum += f * f
	}
	if sum == 0 {
		return "is all zeros"
	}
	return ""
}

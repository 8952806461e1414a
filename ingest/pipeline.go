package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"amtsassist/assist"
	"amtsassist/rag"
)

// Config configures a Pipeline.
type Config struct {
	Index rag.Index
	// Embedder, when set, embeds every new or changed chunk; nil ingests
	// lexically only (and says so in the report).
	Embedder assist.Embedder
	// Workers loads that many sources in parallel; 0 means GOMAXPROCS.
	Workers int
	// MaxFileBytes rejects larger sources with TooLarge; 0 means 64 MiB.
	MaxFileBytes int64
	// EmbedBatch is the number of texts per Embed call; 0 means 32.
	EmbedBatch int
	Logger   *slog.Logger
}

// DefaultMaxFileBytes bounds a single source.
const DefaultMaxFileBytes = 64 << 20

// Pipeline ingests sources into an index. Safe for concurrent use; writes
// to the index are serialised by the index itself.
type Pipeline struct {
	cfg Config
	log *slog.Logger
	// bindOnce records the embedding model with the index on first use.
	bindMu sync.Mutex
	bound  bool
}

// New returns a pipeline writing to cfg.Index.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Index == nil {
		return nil, assist.Errorf(assist.Invalid, "ingest", "no index configured")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	if cfg.EmbedBatch <= 0 {
		cfg.EmbedBatch = 32
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{cfg: cfg, log: log}, nil
}

// source is one unit of work: a file on disk or an in-memory input.
type source struct {
	name   string // absolute path or upload name
	path   string // set for files; data is read lazily by the worker
	data   []byte
	id     string // forced document id (uploads)
	title  string
	format Format
}

// loaded is what a worker hands to the writer.
type loaded struct {
	idx    int
	src    source
	format Format
	docs   []assist.Document
	err    error
}

// IngestPaths ingests files and folders. Folders are walked; a folder
// holding a gesetze-im-internet.de law (source.xml with meta.json) is read
// from source.xml alone. A source that fails is reported and skipped; the
// rest continue. The returned error is non-nil only when the run itself
// failed (canceled, index unusable); per-source failures are in the report.
func (p *Pipeline) IngestPaths(ctx context.Context, paths []string, opts Options) (Report, error) {
	start := time.Now()
	if len(paths) == 0 {
		return Report{}, assist.Errorf(assist.Invalid, "ingest", "no paths given")
	}
	var srcs []source
	var roots []string
	for _, p0 := range paths {
		abs, err := filepath.Abs(p0)
		if err != nil {
			return Report{}, assist.E(assist.Invalid, "ingest", err)
		}
		found, err := collect(abs)
		if err != nil {
			return Report{}, err
		}
		roots = append(roots, abs)
		srcs = append(srcs, found...)
	}
	rep, seen, failed, err := p.run(ctx, srcs, opts)
	if err == nil && opts.Prune {
		rep.Deleted, err = p.prune(ctx, roots, seen, failed)
	}
	rep.Duration = time.Since(start)
	return rep, err
}

// IngestInputs ingests in-memory sources such as uploads. It returns an
// Invalid (or TooLarge) error naming the first input that failed; nothing of
// a failed input is written, and the report lists every input.
func (p *Pipeline) IngestInputs(ctx context.Context, inputs []Input, opts Options) (Report, error) {
	start := time.Now()
	if len(inputs) == 0 {
		return Report{}, assist.Errorf(assist.Invalid, "ingest", "no input given")
	}
	srcs := make([]source, len(inputs))
	for i, in := range inputs {
		name := strings.TrimSpace(in.Name)
		if name == "" {
			name = "upload"
		}
		srcs[i] = source{name: name, data: in.Data, id: in.ID, title: in.Title}
	}
	rep, _, failed, err := p.run(ctx, srcs, opts)
	rep.Duration = time.Since(start)
	if err != nil {
		return rep, err
	}
	for _, f := range rep.Files {
		if ferr := failed[f.Source]; ferr != nil {
			kind := assist.KindOf(ferr)
			if kind != assist.TooLarge {
				kind = assist.Invalid
			}
			return rep, assist.Errorf(kind, "ingest", "%s: %s", f.Source, f.Error)
		}
	}
	return rep, nil
}

// run loads sources in parallel and stores them one at a time. It returns
// the ids of the documents produced by successful sources and the error of
// every source that failed.
func (p *Pipeline) run(ctx context.Context, srcs []source, opts Options) (Report, map[string]bool, map[string]error, error) {
	rep := Report{Files: make([]FileResult, len(srcs)), Embedded: p.cfg.Embedder != nil}
	seen := map[string]bool{}    // document ids produced by successful sources
	failed := map[string]error{} // sources that failed: their documents are never pruned
	if opts.Corpus != "" {
		if _, err := assist.ParseCorpus(string(opts.Corpus)); err != nil {
			return rep, nil, nil, err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	results := make(chan loaded)
	var wg sync.WaitGroup
	workers := min(p.cfg.Workers, len(srcs))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				l := p.load(ctx, i, srcs[i], opts)
				select {
				case results <- l:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range srcs {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	done := 0
	var runErr error
	for l := range results {
		fr := &rep.Files[l.idx]
		fr.Source, fr.Format = l.src.name, l.format
		if l.err == nil {
			l.err = p.store(ctx, l, opts, fr)
			// A loader's error concerns its source alone; a store error
			// means the index or the embedder is unusable, and later
			// sources would fail the same way.
			if k := assist.KindOf(l.err); l.err != nil && k != assist.Invalid && k != assist.TooLarge && runErr == nil {
				runErr = l.err
				cancel()
			}
		} else if ctx.Err() != nil && runErr == nil {
			runErr = assist.E(assist.Canceled, "ingest", ctx.Err())
		}
		if l.err != nil {
			fr.Error = assist.Message(l.err)
			failed[l.src.name] = l.err
			rep.Failed++
			p.log.InfoContext(ctx, "ingest source failed", "source", l.src.name, "err", l.err)
		} else {
			for _, id := range fr.DocIDs {
				seen[id] = true
			}
			p.log.DebugContext(ctx, "source indexed", "source", l.src.name, "documents", fr.Documents,
				"new", fr.New, "changed", fr.Changed, "chunks", fr.Chunks)
		}
		rep.Documents += fr.Documents
		rep.New += fr.New
		rep.Changed += fr.Changed
		rep.Unchanged += fr.Unchanged
		rep.Chunks += fr.Chunks
		done++
		if opts.Progress != nil {
			opts.Progress(Progress{Done: done, Total: len(srcs), Source: l.src.name})
		}
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = assist.E(assist.Canceled, "ingest", ctx.Err())
	}
	return rep, seen, failed, runErr
}

// load reads, detects and parses one source. It never panics: a loader
// panic becomes an Internal error for that source.
func (p *Pipeline) load(ctx context.Context, i int, src source, opts Options) (l loaded) {
	l = loaded{idx: i, src: src}
	defer func() {
		if r := recover(); r != nil {
			p.log.ErrorContext(ctx, "loader panicked", "source", src.name, "panic", r)
			l.docs, l.err = nil, assist.Errorf(assist.Invalid, "ingest", "the file could not be parsed (loader failure)")
		}
	}()
	data, err := p.readSource(src)
	if err != nil {
		l.err = err
		return l
	}
	format := opts.Format
	if src.format != "" {
		format = src.format
	}
	if format == FormatAuto {
		format, err = Detect(src.name, data)
		if err != nil {
			l.err = err
			return l
		}
	}
	l.format = format
	l.docs, l.err = loadFormat(ctx, format, src, data, opts)
	return l
}

func (p *Pipeline) readSource(src source) ([]byte, error) {
	const op = "read"
	limit := p.cfg.MaxFileBytes
	data := src.data
	if src.path != "" {
		f, err := os.Open(src.path)
		if err != nil {
			return nil, assist.Errorf(assist.Invalid, op, "cannot open: %v", errors.Unwrap(err))
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, limit+1)); err != nil {
			return nil, assist.Errorf(assist.Invalid, op, "cannot read: %v", err)
		}
	}
	if int64(len(data)) > limit {
		return nil, assist.Errorf(assist.TooLarge, op, "file is larger than the limit (limit is %d bytes)", limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "empty file")
	}
	return data, nil
}

// store normalises the loaded documents, skips unchanged ones, embeds the
// rest and writes them in one atomic batch, so a source is either fully
// written or not at all.
func (p *Pipeline) store(ctx context.Context, l loaded, opts Options, fr *FileResult) error {
	if len(l.docs) == 0 {
		return assist.Errorf(assist.Invalid, "ingest", "no content found")
	}
	var batch []rag.DocumentData
	for i := range l.docs {
		d := &l.docs[i]
		fr.Warnings = append(fr.Warnings, d.Warnings...)
		if err := p.normalise(d, l.src, opts, len(l.docs)); err != nil {
			return err
		}
		if len(d.Chunks) == 0 {
			fr.Warnings = append(fr.Warnings, fmt.Sprintf("%s: no text to index", d.ID))
			continue
		}
		fr.Documents++
		fr.DocIDs = append(fr.DocIDs, d.ID)
		old, err := p.cfg.Index.Document(ctx, d.ID)
		unchanged := err == nil && old.Hash == d.Hash && (old.Embedded || p.cfg.Embedder == nil)
		switch {
		case err == nil && (old.Authority != d.Authority || old.Corpus != d.Corpus):
			// A document of another authority or corpus is never replaced
			// by an upload that happens to produce the same id.
			return assist.Errorf(assist.Invalid, "ingest", "document %q already exists in corpus %s of authority %q; not replaced by one of corpus %s of authority %q",
				d.ID, old.Corpus, old.Authority, d.Corpus, d.Authority)
		case unchanged && old.Source == d.Source:
			fr.Unchanged++
			continue
		case unchanged:
			// Moved: rewrite the manifest entry with the stored vectors, so
			// that a later --prune of the old location does not delete what
			// still exists here.
			fr.Unchanged++
			if err := p.keepVectors(ctx, d.Chunks); err != nil {
				return err
			}
		case err == nil:
			fr.Changed++
		case assist.KindOf(err) == assist.NotFound:
			fr.New++
		default:
			return err
		}
		info := rag.DocInfo{ID: d.ID, Corpus: d.Corpus, Title: d.Title, Source: d.Source, Format: d.Format,
			Authority: d.Authority, Hash: d.Hash, Chunks: len(d.Chunks), Meta: d.Meta, Embedded: p.cfg.Embedder != nil}
		batch = append(batch, rag.DocumentData{Info: info, Chunks: d.Chunks})
		if !unchanged {
			fr.Chunks += len(d.Chunks)
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if err := p.embed(ctx, batch); err != nil {
		return err
	}
	return p.cfg.Index.PutDocuments(ctx, batch)
}

// normalise fills in what loaders leave to the pipeline: ids, corpus,
// authority, source, chunk ids and hashes.
func (p *Pipeline) normalise(d *assist.Document, src source, opts Options, ndocs int) error {
	if src.id != "" && ndocs == 1 {
		d.ID = src.id
	}
	if d.ID == "" {
		prefix := "doc:"
		if src.path == "" {
			prefix = "upload:"
		}
		base := filepath.Base(src.name)
		base = strings.TrimSuffix(base, filepath.Ext(base))
		sum := sha256.Sum256([]byte(opts.Authority + "\x00" + src.name))
		d.ID = prefix + base + "-" + hex.EncodeToString(sum[:4])
	}
	if src.title != "" && ndocs == 1 {
		d.Title = src.title
	}
	if opts.Corpus != "" {
		d.Corpus = opts.Corpus
	}
	if d.Corpus == "" {
		d.Corpus = assist.CorpusCases
	}
	if opts.Authority != "" {
		d.Authority = opts.Authority
	}
	// Ids a loader chose (a law abbreviation, a ticket number) are unique
	// within one authority only: namespace them for case documents and
	// tickets, so that two authorities' documents never replace each other.
	if d.Corpus == assist.CorpusCases && d.Authority != "" && src.id == "" && !strings.HasPrefix(d.ID, "doc:") &&
		!strings.HasPrefix(d.ID, "upload:") && !strings.HasPrefix(d.ID, d.Authority+"/") {
		d.ID = d.Authority + "/" + d.ID
	}
	if d.Format == "ticket" && d.Authority != "" && strings.HasPrefix(d.ID, "ticket:") && src.id == "" {
		d.ID = "ticket:" + d.Authority + "/" + strings.TrimPrefix(d.ID, "ticket:")
	}
	d.Source = src.name
	docHash := sha256.New()
	fmt.Fprintf(docHash, "%s\x00%s\x00%s\x00%s\x00", d.ID, d.Corpus, d.Authority, d.Title)
	writeMeta(docHash, d.Meta)
	ids := make(map[string]int, len(d.Chunks))
	kept := d.Chunks[:0]
	for _, c := range d.Chunks {
		if strings.TrimSpace(c.Text) == "" {
			continue
		}
		anchor := c.ID
		if anchor == "" {
			anchor = fmt.Sprintf("c%d", len(kept))
		}
		if !strings.HasPrefix(anchor, d.ID+"#") {
			anchor = d.ID + "#" + anchor
		}
		if n := ids[anchor]; n > 0 { // loaders should not, but must never collide
			ids[anchor] = n + 1
			anchor = fmt.Sprintf("%s~%d", anchor, n+1)
		}
		ids[anchor]++
		c.ID, c.DocID, c.Corpus, c.Authority, c.Source = anchor, d.ID, d.Corpus, d.Authority, d.Source
		c.Ordinal = len(kept)
		if c.Citation.Document == "" && c.Citation.Law == "" {
			c.Citation.Document = d.Title
		}
		cit, _ := json.Marshal(c.Citation)
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00", c.ID, c.Text)
		h.Write(cit)
		writeMeta(h, c.Meta)
		c.Hash = hex.EncodeToString(h.Sum(nil))
		docHash.Write([]byte(c.Hash))
		kept = append(kept, c)
	}
	d.Chunks = kept
	d.Hash = hex.EncodeToString(docHash.Sum(nil))
	return nil
}

func writeMeta(w io.Writer, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s=%s\x00", k, m[k])
	}
}

// embed fills in the vectors of every chunk in batch.
func (p *Pipeline) embed(ctx context.Context, batch []rag.DocumentData) error {
	e := p.cfg.Embedder
	if e == nil {
		return nil
	}
	var texts []string
	var refs []*assist.Chunk
	for i := range batch {
		for j := range batch[i].Chunks {
			c := &batch[i].Chunks[j]
			if c.Vector != nil {
				continue // kept from the index (a moved, unchanged document)
			}
			texts = append(texts, embedText(c))
			refs = append(refs, c)
		}
	}
	for off := 0; off < len(texts); off += p.cfg.EmbedBatch {
		end := min(off+p.cfg.EmbedBatch, len(texts))
		vecs, err := e.Embed(ctx, texts[off:end])
		if err != nil {
			if assist.KindOf(err) == assist.NotFound { // the embedding model is missing: the service, not the input, is at fault
				return &assist.Error{Op: "embed", Kind: assist.Unavailable, Msg: assist.Message(err), Err: err}
			}
			return err
		}
		if len(vecs) != end-off {
			return assist.Errorf(assist.Internal, "embed", "embedder returned %d vectors for %d texts", len(vecs), end-off)
		}
		for k, v := range vecs {
			refs[off+k].Vector = v
		}
		if err := p.bind(ctx); err != nil {
			return err
		}
	}
	return nil
}

// keepVectors copies the stored vectors of an unchanged document's chunks,
// so that rewriting its manifest entry costs no embedding.
func (p *Pipeline) keepVectors(ctx context.Context, chunks []assist.Chunk) error {
	if p.cfg.Embedder == nil {
		return nil
	}
	for i := range chunks {
		stored, err := p.cfg.Index.Chunk(ctx, chunks[i].ID)
		if err != nil {
			return err
		}
		chunks[i].Vector = stored.Vector
	}
	return nil
}

// embedText is what the embedder sees: the citation gives a passage its
// context ("§ 19 WoGG Höhe des Wohngeldes"), which short Absätze lack.
func embedText(c *assist.Chunk) string {
	head := c.Citation.String()
	if c.Citation.Heading != "" {
		head += " " + c.Citation.Heading
	}
	if head == "" || strings.HasPrefix(c.Text, head) {
		return c.Text
	}
	return head + "\n" + c.Text
}

func (p *Pipeline) bind(ctx context.Context) error {
	p.bindMu.Lock()
	defer p.bindMu.Unlock()
	if p.bound {
		return nil
	}
	b, ok := p.cfg.Index.(rag.EmbeddingBinder)
	if !ok {
		p.bound = true
		return nil
	}
	if err := b.BindEmbedding(ctx, p.cfg.Embedder.Model()); err != nil {
		return err
	}
	p.bound = true
	return nil
}

// prune deletes documents whose source lies below one of roots but which
// this run did not produce. Documents of sources that failed are kept: a
// broken file must not erase what was indexed from it before.
func (p *Pipeline) prune(ctx context.Context, roots []string, seen map[string]bool, failed map[string]error) (int, error) {
	docs, err := p.cfg.Index.Documents(ctx, rag.Filter{})
	if err != nil {
		return 0, err
	}
	var stale []string
	for _, d := range docs {
		if seen[d.ID] || failed[d.Source] != nil || !filepath.IsAbs(d.Source) {
			continue
		}
		for _, r := range roots {
			if d.Source == r || strings.HasPrefix(d.Source, r+string(filepath.Separator)) {
				stale = append(stale, d.ID)
				break
			}
		}
	}
	if len(stale) == 0 {
		return 0, nil
	}
	return p.cfg.Index.DeleteDocuments(ctx, rag.Filter{DocID: stale})
}

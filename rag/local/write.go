package local

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"amtsassist/assist"
	"amtsassist/rag"
)

// MaxIDBytes bounds document and chunk ids; bbolt keys are limited to
// 32 KiB, and an id that long is a bug in a loader, not a name.
const MaxIDBytes = 1024

// encodedDoc is one validated entry of a batch, serialised before the lock
// is taken so that searches wait only for the disk write.
type encodedDoc struct {
	data    *rag.DocumentData
	info    rag.DocInfo
	infoRaw []byte
	listRaw []byte
	chunks  [][]byte // JSON without vector
	vectors [][]byte // nil where the chunk has no vector
}

// PutDocuments replaces, in one transaction, everything stored under each
// entry's ID with its chunks, and records the entry in the manifest with
// Chunks set to the number of chunks and Embedded to whether all of them
// carry vectors. It returns Invalid for an entry without ID, a duplicate ID,
// an unknown corpus, a chunk whose DocID or Corpus differs from its entry, a
// chunk without ID or with an ID used twice or by another document, and a
// vector of the wrong dimension, with zeros only or with NaN, and TooLarge
// for an id longer than MaxIDBytes; nothing of the batch is stored then.
func (ix *Index) PutDocuments(ctx context.Context, docs []rag.DocumentData) error {
	const op = "local put documents"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	enc, dim, err := encodeBatch(op, docs)
	if err != nil {
		return err
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()

	// Check the batch against the index and reserve slots for its chunks.
	newModel, slots, err := ix.preparePut(ctx, op, enc, dim)
	if err != nil || slots == nil {
		return err
	}
	// Analyse the texts while searches go on: the reserved slots are not
	// live, so searches skip them until the commit below.
	for i := range enc {
		for j := range enc[i].data.Chunks {
			ix.lex.Add(slots[i][j], lexicalText(&enc[i].data.Chunks[j]))
		}
	}

	ix.mu.Lock()
	err = ix.db.Update(func(tx *bolt.Tx) error {
		manifest, chunks, vectors, lists := tx.Bucket(bucketManifest), tx.Bucket(bucketChunks), tx.Bucket(bucketVectors), tx.Bucket(bucketDocChunks)
		// Remove every old version first: a chunk id may move between two
		// documents of the same batch.
		for i := range enc {
			if err := deleteStored(tx, enc[i].info.ID); err != nil {
				return err
			}
		}
		for i := range enc {
			e := &enc[i]
			key := []byte(e.info.ID)
			for j, c := range e.data.Chunks {
				if err := chunks.Put([]byte(c.ID), e.chunks[j]); err != nil {
					return err
				}
				if e.vectors[j] != nil {
					if err := vectors.Put([]byte(c.ID), e.vectors[j]); err != nil {
						return err
					}
				}
			}
			if err := lists.Put(key, e.listRaw); err != nil {
				return err
			}
			if err := manifest.Put(key, e.infoRaw); err != nil {
				return err
			}
		}
		if newModel != nil {
			return putModel(tx, *newModel)
		}
		return nil
	})
	if err != nil {
		ix.mu.Unlock()
		var reserved []uint32
		for _, s := range slots {
			reserved = append(reserved, s...)
		}
		ix.release(reserved)
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot write the index at %s", ix.dir), Err: err}
	}
	// Committed: now memory follows.
	if newModel != nil {
		ix.model = newModel
	}
	var dead []uint32
	for i := range enc {
		if d, ok := ix.docs[enc[i].info.ID]; ok {
			dead = append(dead, ix.retire(d)...)
		}
	}
	for i := range enc {
		e := &enc[i]
		d, ok := ix.docs[e.info.ID]
		if !ok {
			d = &docState{num: ix.nextDoc}
			ix.nextDoc++
			ix.docs[e.info.ID] = d
		}
		d.info = e.info
		for j := range e.data.Chunks {
			c := e.data.Chunks[j]
			c.Meta = cloneMeta(c.Meta)
			ix.fillSlot(slots[i][j], d, &c)
		}
	}
	ix.mu.Unlock()
	ix.release(dead)
	ix.log.Debug("local documents stored", "documents", len(enc))
	return nil
}

// preparePut checks the batch against the index (embedding dimension,
// chunk ids owned by other documents) and reserves a slot for every chunk.
// It returns the model to record, if the batch fixes the dimension, and nil
// slots for an empty batch. Callers hold writeMu.
func (ix *Index) preparePut(ctx context.Context, op string, enc []encodedDoc, dim int) (*assist.ModelInfo, [][]uint32, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.ready(ctx, op); err != nil {
		return nil, nil, err
	}
	if len(enc) == 0 {
		return nil, nil, nil
	}
	var newModel *assist.ModelInfo
	switch {
	case dim == 0:
	case ix.model == nil:
		newModel = &assist.ModelInfo{Dimension: dim}
	case ix.model.Dimension == 0:
		m := *ix.model
		m.Dimension = dim
		newModel = &m
	case ix.model.Dimension != dim:
		return nil, nil, assist.Errorf(assist.Invalid, op, "vectors have dimension %d, the index holds %s", dim, describeModel(*ix.model))
	}
	inBatch := make(map[string]bool, len(enc))
	for i := range enc {
		inBatch[enc[i].info.ID] = true
	}
	for i := range enc {
		for _, c := range enc[i].data.Chunks {
			if n, ok := ix.byID[c.ID]; ok {
				if owner := ix.slots[n].doc.info.ID; owner != c.DocID && !inBatch[owner] {
					return nil, nil, assist.Errorf(assist.Invalid, op, "chunk id %q of document %q already belongs to document %q", c.ID, c.DocID, owner)
				}
			}
		}
	}
	slots := make([][]uint32, len(enc))
	for i := range enc {
		slots[i] = make([]uint32, len(enc[i].data.Chunks))
		for j := range slots[i] {
			slots[i][j] = ix.allocSlot()
		}
	}
	return newModel, slots, nil
}

func cloneMeta(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// encodeBatch validates docs and serialises them. It returns the dimension
// of the batch's vectors (0 when it has none).
func encodeBatch(op string, docs []rag.DocumentData) ([]encodedDoc, int, error) {
	enc := make([]encodedDoc, len(docs))
	seenDoc := make(map[string]bool, len(docs))
	seenChunk := make(map[string]string)
	dim := 0
	for i := range docs {
		d := &docs[i]
		info := d.Info
		if info.ID == "" {
			return nil, 0, assist.Errorf(assist.Invalid, op, "document %d of the batch has no id", i+1)
		}
		if len(info.ID) > MaxIDBytes {
			return nil, 0, assist.Errorf(assist.TooLarge, op, "document id %.40q… is %d bytes long, the limit is %d", info.ID, len(info.ID), MaxIDBytes)
		}
		if seenDoc[info.ID] {
			return nil, 0, assist.Errorf(assist.Invalid, op, "document %q appears twice in the batch", info.ID)
		}
		seenDoc[info.ID] = true
		if _, err := assist.ParseCorpus(string(info.Corpus)); err != nil {
			return nil, 0, assist.Errorf(assist.Invalid, op, "document %q has unknown corpus %q (valid: regulations, cases, tickets)", info.ID, info.Corpus)
		}
		e := encodedDoc{data: d, chunks: make([][]byte, len(d.Chunks)), vectors: make([][]byte, len(d.Chunks))}
		ids := make([]string, len(d.Chunks))
		withVectors := 0
		for j := range d.Chunks {
			c := d.Chunks[j] // a copy: the vector is stored apart
			switch {
			case c.ID == "":
				return nil, 0, assist.Errorf(assist.Invalid, op, "chunk %d of document %q has no id", j+1, info.ID)
			case c.DocID != info.ID:
				return nil, 0, assist.Errorf(assist.Invalid, op, "chunk %q has document id %q, but belongs to entry %q", c.ID, c.DocID, info.ID)
			case c.Corpus != info.Corpus:
				return nil, 0, assist.Errorf(assist.Invalid, op, "chunk %q has corpus %q, but its document %q has corpus %q", c.ID, c.Corpus, info.ID, info.Corpus)
			}
			if len(c.ID) > MaxIDBytes {
				return nil, 0, assist.Errorf(assist.TooLarge, op, "chunk id %.40q… of document %q is %d bytes long, the limit is %d", c.ID, info.ID, len(c.ID), MaxIDBytes)
			}
			if other, dup := seenChunk[c.ID]; dup {
				return nil, 0, assist.Errorf(assist.Invalid, op, "chunk id %q is used twice in the batch (documents %q and %q)", c.ID, other, info.ID)
			}
			seenChunk[c.ID] = info.ID
			if len(c.Vector) > 0 {
				if dim == 0 {
					dim = len(c.Vector)
				}
				if problem := checkVector(c.Vector, dim); problem != "" {
					if len(c.Vector) != dim {
						problem = fmt.Sprintf("has dimension %d, other vectors of the batch have %d", len(c.Vector), dim)
					}
					return nil, 0, assist.Errorf(assist.Invalid, op, "vector of chunk %q %s", c.ID, problem)
				}
				e.vectors[j] = encodeVector(c.Vector)
				withVectors++
			}
			c.Vector = nil
			raw, err := json.Marshal(c)
			if err != nil {
				return nil, 0, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("chunk %q cannot be encoded", c.ID), Err: err}
			}
			e.chunks[j] = raw
			ids[j] = c.ID
		}
		info.Chunks = len(d.Chunks)
		info.Embedded = len(d.Chunks) > 0 && withVectors == len(d.Chunks)
		e.info = info
		var err error
		if e.infoRaw, err = json.Marshal(info); err != nil {
			return nil, 0, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("document %q cannot be encoded", info.ID), Err: err}
		}
		if e.listRaw, err = json.Marshal(ids); err != nil {
			return nil, 0, &assist.Error{Op: op, Kind: assist.Internal, Msg: "encoding a chunk list failed", Err: err}
		}
		enc[i] = e
	}
	return enc, dim, nil
}

// deleteStored removes a document's manifest entry, chunk list, chunks and
// vectors inside tx.
func deleteStored(tx *bolt.Tx, id string) error {
	key := []byte(id)
	lists := tx.Bucket(bucketDocChunks)
	if raw := lists.Get(key); raw != nil {
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			return fmt.Errorf("chunk list of %q: %w", id, err)
		}
		chunks, vectors := tx.Bucket(bucketChunks), tx.Bucket(bucketVectors)
		for _, c := range ids {
			if err := chunks.Delete([]byte(c)); err != nil {
				return err
			}
			if err := vectors.Delete([]byte(c)); err != nil {
				return err
			}
		}
		if err := lists.Delete(key); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketManifest).Delete(key)
}

// DeleteDocuments removes the documents matching f (with the semantics of
// Documents) and their chunks in one transaction, and returns how many were
// removed. An empty filter is Invalid.
func (ix *Index) DeleteDocuments(ctx context.Context, f rag.Filter) (int, error) {
	const op = "local delete documents"
	if f.IsEmpty() {
		return 0, assist.Errorf(assist.Invalid, op, "empty filter: refusing to delete every document")
	}
	if err := validateFilter(op, f); err != nil {
		return 0, err
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.mu.Lock()
	locked := true
	defer func() {
		if locked {
			ix.mu.Unlock()
		}
	}()
	if err := ix.ready(ctx, op); err != nil {
		return 0, err
	}
	var victims []*docState
	for _, d := range ix.docs {
		if docMatch(f, &d.info) {
			victims = append(victims, d)
		}
	}
	if len(victims) == 0 {
		return 0, nil
	}
	err := ix.db.Update(func(tx *bolt.Tx) error {
		for _, d := range victims {
			if err := deleteStored(tx, d.info.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot write the index at %s", ix.dir), Err: err}
	}
	var dead []uint32
	for _, d := range victims {
		dead = append(dead, ix.retire(d)...)
		delete(ix.docs, d.info.ID)
	}
	ix.mu.Unlock()
	locked = false
	ix.release(dead)
	return len(victims), nil
}

package ollamatest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/ollama/ollama/fs/ggml"
)

// Shape of the tiny model. Small enough that the GGUF is about half a
// megabyte and a CPU answers in milliseconds, large enough that llama.cpp
// loads it as an ordinary llama model.
const (
	// EmbeddingLength is the length of the vectors the tiny model embeds to.
	EmbeddingLength = 64
	// ContextLength is the tiny model's context window in tokens.
	ContextLength = 512
	// LongContextLength is the context window of the long variant, for
	// use cases whose prompts (system prompt plus retrieved sources) need
	// many thousand tokens: the byte-level vocabulary makes every byte a
	// token.
	LongContextLength = 32768

	blockCount  = 2
	headCount   = 4
	ffnLength   = 128
	vocabLength = 256 + 2 // every byte plus bos and eos
	bosID       = 256
	eosID       = 257
	seed        = 20261128
)

type ggufResult struct {
	once sync.Once
	data []byte
	err  error
}

var ggufs = map[int]*ggufResult{ContextLength: {}, LongContextLength: {}}

// tinyGGUF returns the GGUF bytes of the tiny model with the given context
// length, generated once per process: the weights come from a fixed seed,
// so every test process serves the same model.
func tinyGGUF(contextLength int) ([]byte, error) {
	r := ggufs[contextLength]
	r.once.Do(func() { r.data, r.err = buildGGUF(contextLength) })
	return r.data, r.err
}

func buildGGUF(contextLength int) ([]byte, error) {
	// WriteGGUF needs an *os.File (it seeks and writes tensors in parallel),
	// so the model goes through a temporary file that is removed right away.
	dir, err := os.MkdirTemp("", "amtsassist-gguf-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := ggml.WriteGGUF(f, tinyKV(contextLength), tinyTensors()); err != nil {
		f.Close()
		return nil, fmt.Errorf("write tiny gguf: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func tinyKV(contextLength int) ggml.KV {
	tokens := make([]string, vocabLength)
	types := make([]int32, vocabLength)
	for b, r := range byteRunes() {
		tokens[b] = string(r)
		types[b] = 1 // normal
	}
	tokens[bosID], types[bosID] = "<s>", 3 // control
	tokens[eosID], types[eosID] = "</s>", 3
	return ggml.KV{
		"general.architecture":                   "llama",
		"general.name":                           "amtsassist-tiny",
		"general.file_type":                      uint32(0), // all F32
		"llama.block_count":                      uint32(blockCount),
		"llama.context_length":                   uint32(contextLength),
		"llama.embedding_length":                 uint32(EmbeddingLength),
		"llama.feed_forward_length":              uint32(ffnLength),
		"llama.attention.head_count":             uint32(headCount),
		"llama.attention.head_count_kv":          uint32(headCount),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.rope.dimension_count":             uint32(EmbeddingLength / headCount),
		"llama.rope.freq_base":                   float32(10000),
		"llama.vocab_size":                       uint32(vocabLength),
		"tokenizer.ggml.model":                   "gpt2",
		"tokenizer.ggml.pre":                     "default",
		"tokenizer.ggml.tokens":                  tokens,
		"tokenizer.ggml.token_type":              types,
		// No merges: every text tokenizes to its bytes, which is all the
		// mechanics under test need.
		"tokenizer.ggml.merges":           []string{},
		"tokenizer.ggml.bos_token_id":     uint32(bosID),
		"tokenizer.ggml.eos_token_id":     uint32(eosID),
		"tokenizer.ggml.add_bos_token":    false,
		"tokenizer.ggml.add_eos_token":    false,
		"tokenizer.ggml.padding_token_id": uint32(eosID),
	}
}

// byteRunes is GPT-2's byte-to-unicode table: printable bytes stand for
// themselves, the others are shifted above U+00FF, so that every byte has a
// visible, unique token.
func byteRunes() []rune {
	table := make([]rune, 256)
	n := 0
	for b := range 256 {
		if ('!' <= b && b <= '~') || ('¡' <= b && b <= '¬') || ('®' <= b && b <= 'ÿ') {
			table[b] = rune(b)
			continue
		}
		table[b] = rune(256 + n)
		n++
	}
	return table
}

func tinyTensors() []*ggml.Tensor {
	rng := rand.New(rand.NewPCG(seed, seed))
	// Shapes are in GGML order: the first dimension is the row length.
	var ts []*ggml.Tensor
	add := func(name string, fill func() float32, shape ...uint64) {
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		buf := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(fill()))
		}
		ts = append(ts, &ggml.Tensor{Name: name, Kind: uint32(ggml.TensorTypeF32), Shape: shape, WriterTo: bytes.NewReader(buf)})
	}
	random := func() float32 { return float32(rng.NormFloat64() * 0.02) }
	one := func() float32 { return 1 }

	const e, f, v = EmbeddingLength, ffnLength, vocabLength
	add("token_embd.weight", random, e, v)
	add("output_norm.weight", one, e)
	add("output.weight", random, e, v)
	for i := range blockCount {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", one, e)
		add(p+"attn_q.weight", random, e, e)
		add(p+"attn_k.weight", random, e, e)
		add(p+"attn_v.weight", random, e, e)
		add(p+"attn_output.weight", random, e, e)
		add(p+"ffn_norm.weight", one, e)
		add(p+"ffn_gate.weight", random, e, f)
		add(p+"ffn_up.weight", random, e, f)
		add(p+"ffn_down.weight", random, f, e)
	}
	return ts
}

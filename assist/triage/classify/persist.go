package classify

import (
	"compress/gzip"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"amtsassist/assist"
)

// wireFormat is bumped whenever wireModel changes incompatibly.
const wireFormat = 1

// maxModelBytes bounds the decompressed size Load reads, so that a hostile
// file cannot exhaust memory.
const maxModelBytes = 1 << 30

type wireModel struct {
	Format int
	Info   Info
	Labels []string
	Feat   featureConfig
	Keys   []uint64 // hashed feature keys in id order (sorted)
	IDF    []float32
	W      [][]float32
	B      []float32
	Temp   float64
}

// Save writes m as gzip-compressed gob.
func Save(w io.Writer, m *Model) error { return save(w, m, m.infoCopy()) }

func save(w io.Writer, m *Model, info Info) error {
	const op = "save classifier"
	keys := make([]uint64, len(m.vec.idf))
	for k, id := range m.vec.ids {
		keys[id] = k
	}
	info.SizeBytes = 0
	zw := gzip.NewWriter(w)
	err := gob.NewEncoder(zw).Encode(wireModel{Format: wireFormat, Info: info, Labels: m.labels, Feat: m.vec.cfg,
		Keys: keys, IDF: m.vec.idf, W: m.w, B: m.b, Temp: m.temp})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return assist.E(assist.Internal, op, err)
	}
	return nil
}

// Load reads a model written by Save. It returns Invalid when the data is
// not a model or is inconsistent.
func Load(r io.Reader) (*Model, error) {
	const op = "load classifier"
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "not a classifier model (not gzip data)", Err: err}
	}
	var wm wireModel
	if err := gob.NewDecoder(io.LimitReader(zr, maxModelBytes)).Decode(&wm); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "not a classifier model (cannot decode)", Err: err}
	}
	if wm.Format != wireFormat {
		return nil, assist.Errorf(assist.Invalid, op, "model format %d is not supported (want %d)", wm.Format, wireFormat)
	}
	n := len(wm.Keys)
	switch {
	case len(wm.Labels) < 2:
		return nil, assist.Errorf(assist.Invalid, op, "model has %d labels, need at least 2", len(wm.Labels))
	case len(wm.W) != len(wm.Labels) || len(wm.B) != len(wm.Labels):
		return nil, assist.Errorf(assist.Invalid, op, "model has %d labels but %d weight rows and %d biases", len(wm.Labels), len(wm.W), len(wm.B))
	case len(wm.IDF) != n:
		return nil, assist.Errorf(assist.Invalid, op, "model has %d features but %d idf weights", n, len(wm.IDF))
	case !(wm.Temp > 0) || math.IsInf(wm.Temp, 0):
		return nil, assist.Errorf(assist.Invalid, op, "model temperature %v is not positive", wm.Temp)
	}
	for k, row := range wm.W {
		if len(row) != n {
			return nil, assist.Errorf(assist.Invalid, op, "weight row %d has %d entries, want %d", k, len(row), n)
		}
	}
	vec := &vectorizer{cfg: wm.Feat, ids: make(map[uint64]int32, n), idf: wm.IDF}
	for i, k := range wm.Keys {
		vec.ids[k] = int32(i)
	}
	return &Model{info: wm.Info, labels: wm.Labels, vec: vec, w: wm.W, b: wm.B, temp: wm.Temp}, nil
}

// Store keeps versioned models on disk: dir/<name>/v001.gob.gz, v002, ...
// Writes go to a temporary file that is synced and then linked into place,
// so a crash never leaves a partial version and two writers never share one.
type Store struct{ dir string }

// OpenStore opens (creating) the store at dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &assist.Error{Op: "open model store", Kind: assist.Unavailable, Msg: "cannot create model directory " + dir, Err: err}
	}
	return &Store{dir: dir}, nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName returns Invalid unless name can name a model in a Store.
func CheckName(name string) error { return checkName("check model name", name) }

func checkName(op, name string) error {
	if !validName.MatchString(name) || strings.Contains(name, "..") {
		return assist.Errorf(assist.Invalid, op, "model name %q is invalid (use 1–64 letters, digits, '.', '_', '-')", name)
	}
	return nil
}

var versionFile = regexp.MustCompile(`^v(\d{3,9})\.gob\.gz$`)

// Versions lists the stored versions of name, oldest first ("v001", ...).
// It returns NotFound when there are none.
func (s *Store) Versions(name string) ([]string, error) {
	const op = "list model versions"
	if err := checkName(op, name); err != nil {
		return nil, err
	}
	nums, err := s.versionNumbers(name)
	if err != nil {
		return nil, err
	}
	if len(nums) == 0 {
		return nil, assist.Errorf(assist.NotFound, op, "no model named %q", name)
	}
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = fmt.Sprintf("v%03d", n)
	}
	return out, nil
}

func (s *Store) versionNumbers(name string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &assist.Error{Op: "list model versions", Kind: assist.Unavailable, Msg: "cannot read model directory", Err: err}
	}
	var nums []int
	for _, e := range ents {
		if m := versionFile.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// Put stores m as the next version of name and returns that version. It
// sets the model's name and version in its Info.
func (s *Store) Put(name string, m *Model) (string, error) {
	const op = "store model"
	if err := checkName(op, name); err != nil {
		return "", err
	}
	dir := filepath.Join(s.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot create model directory", Err: err}
	}
	nums, err := s.versionNumbers(name)
	if err != nil {
		return "", err
	}
	next := 1
	if len(nums) > 0 {
		next = nums[len(nums)-1] + 1
	}
	for range 100 {
		version := fmt.Sprintf("v%03d", next)
		info := m.infoCopy()
		info.Name, info.Version = name, version
		tmp, err := os.CreateTemp(dir, ".tmp-*")
		if err != nil {
			return "", &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write model file", Err: err}
		}
		err = save(tmp, m, info)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
			return "", &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write model file", Err: err}
		}
		// Link fails if the version exists, unlike Rename: a concurrent
		// writer that took the same number makes us try the next one.
		err = os.Link(tmp.Name(), filepath.Join(dir, version+".gob.gz"))
		os.Remove(tmp.Name())
		if errors.Is(err, fs.ErrExist) {
			next++
			continue
		}
		if err != nil {
			return "", &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write model file", Err: err}
		}
		syncDir(dir)
		m.mu.Lock()
		m.info.Name, m.info.Version = name, version
		m.mu.Unlock()
		return version, nil
	}
	return "", assist.Errorf(assist.Conflict, op, "too many concurrent writers for model %q", name)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Get loads a version of name ("v002", "2"); "" or "latest" is the newest.
// It returns NotFound when the model or version does not exist.
func (s *Store) Get(name, version string) (*Model, error) {
	const op = "get model"
	if err := checkName(op, name); err != nil {
		return nil, err
	}
	var num int
	if version == "" || version == "latest" {
		nums, err := s.versionNumbers(name)
		if err != nil {
			return nil, err
		}
		if len(nums) == 0 {
			return nil, assist.Errorf(assist.NotFound, op, "no model named %q", name)
		}
		num = nums[len(nums)-1]
	} else {
		n, err := strconv.Atoi(strings.TrimPrefix(version, "v"))
		if err != nil || n <= 0 {
			return nil, assist.Errorf(assist.Invalid, op, "model version %q is invalid (want e.g. v003 or latest)", version)
		}
		num = n
	}
	v := fmt.Sprintf("v%03d", num)
	f, err := os.Open(filepath.Join(s.dir, name, v+".gob.gz"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, assist.Errorf(assist.NotFound, op, "model %q has no version %s", name, v)
	}
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot read model file", Err: err}
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, err
	}
	m.info.Name, m.info.Version = name, v
	return m, nil
}

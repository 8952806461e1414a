// Package ollamatest runs a real Ollama server with a tiny generated model for
// tests.
//
// No model registry is reachable from the machines the tests run on, so the
// harness writes a tiny llama-architecture GGUF (random weights from a fixed
// seed, byte-level vocabulary) and serves it with an Ollama binary built by
// deploy/ollama/install-test-server.sh. The model embeds and chats, but its
// text is gibberish: tests assert on mechanics, never on content.
//
// Use StartShared in most tests (one server per test process, so the
// project's test run stays fast) and Start when a test needs a server of its
// own, for example to Stop it and observe the outage. A package using
// StartShared stops the shared server when its tests are done:
//
//	func TestMain(m *testing.M) { ollamatest.Main(m) }
//
// Without an Ollama binary the tests skip, naming the script that builds
// one; under CI=true they fail instead.
package ollamatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ModelName is the name under which the tiny model is created.
const ModelName = "tiny"

// LongModelName is the name of the long-context variant.
const LongModelName = "tiny-long"

// Server is a running Ollama server serving the tiny model.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:40123".
	URL string
	// Model is the name of the tiny chat-and-embedding model, already
	// created on the server.
	Model string
	// EmbeddingLength is the length of the model's embedding vectors.
	EmbeddingLength int
	// ContextLength is the model's context window in tokens.
	ContextLength int
	// LongModel is the same tiny model with a context window of
	// LongContextLength tokens, for prompts of many thousand bytes.
	LongModel string

	dir      string // OLLAMA_MODELS and HOME of the server
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the server process has exited
	waitErr  error         // valid after exited is closed
	log      *lockedBuffer
	stopOnce sync.Once
}

// binaryEnv names the environment variable that points the harness at an
// Ollama binary. Only this test harness reads it; the service itself never
// reads the environment outside cmd/.
const binaryEnv = "AMTSASSIST_OLLAMA_BIN"

// Start starts a server of the test's own, with the tiny model created, and
// stops it when the test ends. Without an Ollama binary it skips the test,
// except under CI=true, where a missing binary is a broken setup and fails
// the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	s, err := start(bin, t.TempDir())
	if err != nil {
		t.Fatalf("ollamatest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	mu  sync.Mutex
	srv *Server
	err error
}

// StartShared returns the server shared by all tests of the process,
// starting it on first use. Tests must not Stop it. It runs until
// StopShared is called (call it from TestMain after m.Run) or, failing that,
// until the test process exits: the server gets SIGTERM when its parent dies.
func StartShared(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		removeStaleDirs()
		dir, err := os.MkdirTemp("", sharedDirPrefix+"*")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
		}
		if err == nil {
			shared.srv, err = start(bin, dir)
		}
		if err != nil {
			os.RemoveAll(dir)
			shared.err = err
		}
	}
	if shared.err != nil {
		t.Fatalf("ollamatest: shared server: %v", shared.err)
	}
	return shared.srv
}

// StopShared stops the shared server, if one was started, and removes its
// files. Call it from TestMain after m.Run.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.Stop()
		os.RemoveAll(shared.srv.dir)
		shared.srv = nil
	}
}

// Main runs the tests of a package that uses StartShared, stops the shared
// server and exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

const sharedDirPrefix = "amtsassist-ollamatest-"

// removeStaleDirs deletes the model directories of shared servers whose test
// process died without calling StopShared.
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// Stop stops the server and its model runners. Requests afterwards fail as
// they would against a server that went away. Stop is idempotent; it must
// not be called on the shared server.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		// The server's runners are in its process group; signal them all.
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	})
}

// Log returns what the server wrote to stdout and stderr so far; useful in
// failure messages.
func (s *Server) Log() string { return s.log.String() }

func findBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(binaryEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("ollamatest: %s=%s: %v", binaryEnv, bin, err)
		}
		return bin
	}
	if root, ok := repoRoot(); ok {
		bin := filepath.Join(root, ".cache", "bin", "ollama")
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	if bin, err := exec.LookPath("ollama"); err == nil {
		return bin
	}
	const msg = "no ollama binary: run deploy/ollama/install-test-server.sh (or set " + binaryEnv + ")"
	if os.Getenv("CI") == "true" {
		// CI installs the binary before the tests; its absence is a bug.
		t.Fatal("ollamatest: " + msg)
	}
	t.Skip("ollamatest: " + msg)
	return ""
}

// repoRoot finds the module root by walking up from the working directory,
// which go test sets to the package directory.
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// start serves dir's models with bin and creates the tiny model. A port
// taken between choosing and binding it is retried.
func start(bin, dir string) (*Server, error) {
	for _, m := range []struct {
		name string
		ctx  int
	}{{ModelName, ContextLength}, {LongModelName, LongContextLength}} {
		gguf, err := tinyGGUF(m.ctx)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, m.name+".gguf"), gguf, 0o644); err != nil {
			return nil, err
		}
		modelfile := "FROM ./" + m.name + ".gguf\n" +
			"PARAMETER num_ctx " + strconv.Itoa(m.ctx) + "\n" +
			"TEMPLATE \"\"\"" + chatTemplate + "\"\"\"\n"
		if err := os.WriteFile(filepath.Join(dir, m.name+".Modelfile"), []byte(modelfile), 0o644); err != nil {
			return nil, err
		}
	}

	var s *Server
	var err error
	for attempt := 0; ; attempt++ {
		s, err = serve(bin, dir)
		if err == nil {
			break
		}
		if attempt == 2 {
			return nil, err
		}
	}
	for _, name := range []string{ModelName, LongModelName} {
		if err := s.create(bin, name); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// chatTemplate renders chat messages in a simple role-tagged format, so that
// chat requests with system prompts and history work on the tiny model.
const chatTemplate = `{{- if .System }}<|system|>{{ .System }}
{{ end }}{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}
{{ end }}<|assistant|>`

func serve(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &Server{
		URL:             "http://" + addr,
		Model:           ModelName,
		EmbeddingLength: EmbeddingLength,
		ContextLength:   ContextLength,
		LongModel:       LongModelName,
		dir:             dir,
		exited:          make(chan struct{}),
		log:             &lockedBuffer{},
	}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir
	s.cmd.Env = serverEnv(dir, addr)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// A test process that dies without cleanup takes the server along.
		Pdeathsig: syscall.SIGTERM,
	}
	if err := spawn(s.cmd); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// serverEnv is the parent's environment without any OLLAMA_ settings, which
// could point the server elsewhere, plus the server's own.
func serverEnv(dir, addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OLLAMA_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+dir, // the server writes its key pair under $HOME/.ollama
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"OLLAMA_NOPRUNE=1",
		"OLLAMA_NUM_PARALLEL=2",
		"OLLAMA_MAX_LOADED_MODELS=1",
		"OLLAMA_KEEP_ALIVE=10m",
	)
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("ollama serve exited before it was ready (%v); its log:\n%s", s.waitErr, s.Log())
		default:
		}
		resp, err := client.Get(s.URL + "/api/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ollama serve at %s not ready after %v; its log:\n%s", s.URL, limit, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// create runs `ollama create` the way a user would, through the CLI of the
// same binary, so the harness does not depend on the client library's
// create API matching the server's version.
func (s *Server) create(bin, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "create", name, "-f", name+".Modelfile")
	cmd.Dir = s.dir
	cmd.Env = serverEnv(s.dir, strings.TrimPrefix(s.URL, "http://"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ollama create %s: %v: %s\nserver log:\n%s", name, err, out, s.Log())
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawn starts cmd from one OS thread that lives as long as the process.
// Pdeathsig fires when the thread that started the child exits, not the
// process; Go may retire threads, so the starting thread is pinned.
func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must not be reused or retired
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error)
	spawner.reqs <- spawnRequest{cmd, done}
	return <-done
}

// lockedBuffer collects the server's output, written by exec's copying
// goroutines and read by tests.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Package config builds the one configuration struct of both binaries from,
// in rising precedence, defaults, an optional YAML file, AMTSASSIST_*
// environment variables and command-line flags. Every option is declared
// once (in bind); its environment variable and YAML key derive from the
// flag name, so --help documents all three.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration.
type Config struct {
	ConfigFile string
	DataDir    string
	Listen     string
	LogLevel   string
	LogFormat  string

	OllamaURL     string
	EmbedModel    string
	OllamaTimeout time.Duration
	EmbedBatch    int

	ChatBackend     string // "ollama" or "openai"
	ChatModel       string
	ChatTimeout     time.Duration
	ChatKeepAlive   time.Duration
	OpenAIURL       string
	OpenAIKey       Secret
	MemoTemperature float64
	MemoSeed        int
	MemoNumCtx      int
	MemoNumPredict  int
	PromptsDir      string

	TriageTaxonomy  string
	TriageThreshold float64

	MaxUploadBytes int64
	MaxBodyBytes   int64
	IngestWorkers  int
	APIToken       Secret
	Demo           bool
}

// Secret is a string that never appears in logs or printed configs.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue keeps secrets out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		DataDir:         "./data",
		Listen:          "127.0.0.1:8080",
		LogLevel:        "info",
		LogFormat:       "text",
		OllamaURL:       "http://127.0.0.1:11434",
		OllamaTimeout:   2 * time.Minute,
		EmbedBatch:      32,
		ChatBackend:     "ollama",
		ChatTimeout:     10 * time.Minute,
		MemoTemperature: 0.2,
		MemoSeed:        -1,
		MemoNumPredict:  1536,
		TriageThreshold: 0.6,
		MaxUploadBytes:  32 << 20,
		MaxBodyBytes:    1 << 20,
	}
}

// Scope selects which options a binary offers.
type Scope int

const (
	Common Scope = 1 << iota // data, logging, Ollama: every binary and subcommand
	Server                   // listening, limits, auth, demo: assistd only
)

// bind declares every option on fs, writing into c.
func bind(fs *flag.FlagSet, c *Config, scope Scope) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "YAML configuration file (keys are the flag names with _ for -)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory holding the index and all other state")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.OllamaURL, "ollama-url", c.OllamaURL, "base URL of the Ollama server")
	fs.StringVar(&c.EmbedModel, "embed-model", c.EmbedModel, "Ollama embedding model for dense retrieval (empty: lexical retrieval only)")
	fs.DurationVar(&c.OllamaTimeout, "ollama-timeout", c.OllamaTimeout, "timeout of one Ollama request")
	fs.IntVar(&c.EmbedBatch, "embed-batch", c.EmbedBatch, "texts per embedding request")
	fs.StringVar(&c.ChatBackend, "chat-backend", c.ChatBackend, "chat model server: ollama, or openai for OpenAI-compatible servers (vLLM, llama.cpp)")
	fs.StringVar(&c.ChatModel, "chat-model", c.ChatModel, "chat model for memo drafting (empty: extractive memos only)")
	fs.DurationVar(&c.ChatTimeout, "chat-timeout", c.ChatTimeout, "timeout of one chat generation")
	fs.DurationVar(&c.ChatKeepAlive, "chat-keep-alive", c.ChatKeepAlive, "how long Ollama keeps the chat model loaded (0: server default)")
	fs.StringVar(&c.OpenAIURL, "openai-url", c.OpenAIURL, "base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (with --chat-backend openai)")
	fs.Func("openai-api-key", "API key of the OpenAI-compatible server (prefer the environment variable)", func(s string) error {
		c.OpenAIKey = Secret(s)
		return nil
	})
	fs.Float64Var(&c.MemoTemperature, "memo-temperature", c.MemoTemperature, "sampling temperature for memo drafts")
	fs.IntVar(&c.MemoSeed, "memo-seed", c.MemoSeed, "sampling seed for memo drafts (-1: random)")
	fs.IntVar(&c.MemoNumCtx, "memo-num-ctx", c.MemoNumCtx, "context window in tokens for memo drafts (0: the model's context length)")
	fs.IntVar(&c.MemoNumPredict, "memo-num-predict", c.MemoNumPredict, "maximum tokens of a memo draft")
	fs.StringVar(&c.PromptsDir, "prompts-dir", c.PromptsDir, "directory with per-authority prompt overrides (<dir>/<authority-slug>/<template>.tmpl)")
	fs.StringVar(&c.TriageTaxonomy, "triage-taxonomy", c.TriageTaxonomy, "YAML file with the categories and priorities of each service desk (empty: the labels of the trained models)")
	fs.Float64Var(&c.TriageThreshold, "triage-threshold", c.TriageThreshold, "confidence below which a triage suggestion says \"unsicher\" and lists alternatives")
	fs.IntVar(&c.IngestWorkers, "ingest-workers", c.IngestWorkers, "files loaded in parallel during ingest (0: number of CPUs)")
	if scope&Server != 0 {
		fs.StringVar(&c.Listen, "listen", c.Listen, "address the HTTP service listens on")
		fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", c.MaxUploadBytes, "largest accepted upload (documents, ticket imports)")
		fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest accepted JSON request body")
		fs.Func("api-token", "bearer token required on /v1 routes (empty: no authentication; prefer the environment variable)", func(s string) error {
			c.APIToken = Secret(s)
			return nil
		})
		fs.BoolVar(&c.Demo, "demo", c.Demo, "index the bundled demo corpus at start when the index is empty")
	}
}

// Load parses args (without the program name) into a Config. getenv is
// os.Getenv in production and a map in tests.
func Load(name string, scope Scope, args []string, getenv func(string) string) (Config, *flag.FlagSet, error) {
	// First pass: find out which flags were given (and --config).
	c := Defaults()
	fs := NewFlagSet(name, scope, &c)
	if err := fs.Parse(args); err != nil {
		return c, fs, err
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	// Func flags do not print their values.
	if _, ok := given["api-token"]; ok {
		given["api-token"] = string(c.APIToken)
	}
	if _, ok := given["openai-api-key"]; ok {
		given["openai-api-key"] = string(c.OpenAIKey)
	}

	// Second pass: defaults < file < environment < flags.
	out := Defaults()
	if scope&Server == 0 {
		out.LogLevel = "warn" // the CLI reports through its own output
	}
	fs2 := flag.NewFlagSet(name, flag.ContinueOnError)
	bind(fs2, &out, scope)
	file := c.ConfigFile
	if file == "" {
		file = getenv("AMTSASSIST_CONFIG")
	}
	if file != "" {
		if err := applyFile(fs2, file); err != nil {
			return out, fs, err
		}
		out.ConfigFile = file
	}
	var envErr error
	fs2.VisitAll(func(f *flag.Flag) {
		key := EnvName(f.Name)
		if v := getenv(key); v != "" && envErr == nil {
			if err := fs2.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("environment variable %s: %v", key, err)
			}
		}
	})
	if envErr != nil {
		return out, fs, envErr
	}
	for k, v := range given {
		if err := fs2.Set(k, v); err != nil {
			return out, fs, fmt.Errorf("flag --%s: %v", k, err)
		}
	}
	return out, fs, out.Validate(scope)
}

// NewFlagSet returns a flag set with every option of scope bound to c and
// a usage text that names the environment variables.
func NewFlagSet(name string, scope Scope, c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	bind(fs, c, scope)
	return fs
}

// EnvName is the environment variable of a flag: data-dir → AMTSASSIST_DATA_DIR.
func EnvName(flagName string) string {
	return "AMTSASSIST_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func applyFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file %s: %v", path, errors.Unwrap(err))
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("config file %s: %v", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.ReplaceAll(k, "_", "-")
		if name == "config" || fs.Lookup(name) == nil {
			return fmt.Errorf("config file %s: unknown key %q", path, k)
		}
		v := ""
		if m[k] != nil { // "key:" with nothing after it means empty, not "<nil>"
			v = fmt.Sprint(m[k])
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("config file %s: key %s: %v", path, k, err)
		}
	}
	return nil
}

// Validate checks the configuration once, at start.
func (c Config) Validate(scope Scope) error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	if u, err := url.Parse(c.OllamaURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("ollama-url %q: want an http(s) URL such as http://127.0.0.1:11434", c.OllamaURL))
	}
	if c.OllamaTimeout <= 0 {
		errs = append(errs, errors.New("ollama-timeout must be positive"))
	}
	if c.EmbedBatch < 1 || c.EmbedBatch > 1024 {
		errs = append(errs, errors.New("embed-batch must be between 1 and 1024"))
	}
	switch c.ChatBackend {
	case "ollama":
	case "openai":
		if u, err := url.Parse(c.OpenAIURL); c.ChatModel != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			errs = append(errs, fmt.Errorf("openai-url %q: want an http(s) URL such as http://127.0.0.1:8000/v1", c.OpenAIURL))
		}
	default:
		errs = append(errs, fmt.Errorf("chat-backend %q: want ollama or openai", c.ChatBackend))
	}
	if c.ChatTimeout <= 0 {
		errs = append(errs, errors.New("chat-timeout must be positive"))
	}
	if c.MemoTemperature < 0 || c.MemoTemperature > 2 {
		errs = append(errs, errors.New("memo-temperature must be between 0 and 2"))
	}
	if c.MemoNumCtx < 0 || c.MemoNumPredict < 1 {
		errs = append(errs, errors.New("memo-num-ctx must not be negative and memo-num-predict must be positive"))
	}
	if c.TriageThreshold < 0 || c.TriageThreshold > 1 {
		errs = append(errs, errors.New("triage-threshold must be between 0 and 1"))
	}
	if c.IngestWorkers < 0 {
		errs = append(errs, errors.New("ingest-workers must not be negative"))
	}
	if scope&Server != 0 {
		if c.MaxUploadBytes < 1024 {
			errs = append(errs, errors.New("max-upload-bytes must be at least 1024"))
		}
		if c.MaxBodyBytes < 1024 {
			errs = append(errs, errors.New("max-body-bytes must be at least 1024"))
		}
		if strings.TrimSpace(c.Listen) == "" {
			errs = append(errs, errors.New("listen must not be empty"))
		}
	}
	return errors.Join(errs...)
}

// LogValue lists the configuration for the start-up log line, with the
// secrets redacted and the Ollama URL stripped of credentials.
func (c Config) LogValue() slog.Value {
	ollama := c.OllamaURL
	if u, err := url.Parse(ollama); err == nil && u.User != nil {
		u.User = url.User("redacted")
		ollama = u.String()
	}
	return slog.GroupValue(
		slog.String("data_dir", c.DataDir),
		slog.String("listen", c.Listen),
		slog.String("ollama_url", ollama),
		slog.String("embed_model", c.EmbedModel),
		slog.Duration("ollama_timeout", c.OllamaTimeout),
		slog.Int64("max_upload_bytes", c.MaxUploadBytes),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Any("api_token", c.APIToken),
		slog.String("chat_backend", c.ChatBackend),
		slog.String("chat_model", c.ChatModel),
		slog.String("openai_url", c.OpenAIURL),
		slog.Any("openai_api_key", c.OpenAIKey),
		slog.Float64("memo_temperature", c.MemoTemperature),
		slog.Int("memo_num_ctx", c.MemoNumCtx),
		slog.Int("memo_num_predict", c.MemoNumPredict),
		slog.String("prompts_dir", c.PromptsDir),
		slog.Bool("demo", c.Demo),
		slog.String("config_file", c.ConfigFile),
	)
}

// Logger builds the process logger.
func (c Config) Logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// IsCommon reports whether name is one of the Common options, so that a
// subcommand can pass them on to Load and keep its own flags to itself.
func IsCommon(name string) bool {
	var c Config
	return NewFlagSet("", Common, &c).Lookup(name) != nil
}

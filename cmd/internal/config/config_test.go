package config_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtsassist/cmd/internal/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedenceIsDefaultsFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "amtsassist.yaml")
	if err := os.WriteFile(file, []byte("data_dir: /from/file\nlisten: 127.0.0.1:9000\nembed_model: file-model\nollama_timeout: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Load("assistd", config.Common|config.Server,
		[]string{"--config", file, "--listen", "127.0.0.1:9999"},
		env(map[string]string{"AMTSASSIST_EMBED_MODEL": "env-model", "AMTSASSIST_LISTEN": "127.0.0.1:9001"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from/file" || c.EmbedModel != "env-model" || c.Listen != "127.0.0.1:9999" || c.OllamaTimeout != 5*time.Second {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadRejectsBadValuesWithTheOptionName(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"bad ollama url", nil, map[string]string{"AMTSASSIST_OLLAMA_URL": "localhost"}, "ollama-url"},
		{"bad duration in env", nil, map[string]string{"AMTSASSIST_OLLAMA_TIMEOUT": "soon"}, "AMTSASSIST_OLLAMA_TIMEOUT"},
		{"tiny upload limit", []string{"--max-upload-bytes", "10"}, nil, "max-upload-bytes"},
		{"missing config file", []string{"--config", "/nonexistent.yaml"}, nil, "/nonexistent.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := config.Load("assistd", config.Common|config.Server, tc.args, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("data_dri: x\n"), 0o644)
	_, _, err := config.Load("assist", config.Common, []string{"--config", file}, env(nil))
	if err == nil || !strings.Contains(err.Error(), `"data_dri"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestAPITokenIsRedactedInLogs(t *testing.T) {
	c, _, err := config.Load("assistd", config.Common|config.Server, []string{"--api-token", "s3cret", "--openai-api-key", "sk-geheim"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIToken != "s3cret" || c.OpenAIKey != "sk-geheim" {
		t.Fatalf("token not applied: %q", c.APIToken)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), "s3cret") || strings.Contains(buf.String(), "sk-geheim") || !strings.Contains(buf.String(), "redacted") {
		t.Fatalf("log line leaks or lacks redaction: %s", buf.String())
	}
}

func TestAnEmptyFileKeyMeansEmptyNotNil(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("api_token:\nembed_model:\n"), 0o644)
	c, _, err := config.Load("assistd", config.Common|config.Server, []string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIToken != "" || c.EmbedModel != "" {
		t.Fatalf("empty keys became %q / %q", c.APIToken, c.EmbedModel)
	}
}

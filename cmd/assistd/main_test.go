package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtsassist/cmd/internal/config"
)

// start runs the real service on 127.0.0.1:0 with a fresh data directory.
func start(t *testing.T, args ...string) *Main {
	t.Helper()
	args = append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--max-upload-bytes", "1048576"}, args...)
	cfg, _, err := config.Load("assistd", config.Common|config.Server, args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

type apiError struct {
	Error struct {
		Kind, Message string
		RequestID     string `json:"request_id"`
	}
}

func get(t *testing.T, m *Main, path string, into any) int {
	t.Helper()
	resp, err := http.Get("http://" + m.Addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %d, body is not JSON: %v\n%s", path, resp.StatusCode, err, body)
		}
	}
	return resp.StatusCode
}

type hits struct {
	Hits []struct {
		DocID    string `json:"doc_id"`
		ChunkID  string `json:"chunk_id"`
		Citation string
		Text     string
		Score    float64
	}
}

func TestFreshServiceServesTheDemoCorpus(t *testing.T) {
	m := start(t, "--demo")
	if code := get(t, m, "/healthz", nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code := get(t, m, "/readyz", nil); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	var h hits
	if code := get(t, m, "/v1/search?q=Meldebescheinigung+Geb%C3%BChr&k=3", &h); code != 200 || len(h.Hits) == 0 {
		t.Fatalf("search: %d %+v", code, h)
	}
	if !strings.Contains(h.Hits[0].Citation, "§ 3") || !strings.Contains(h.Hits[0].Text, "8 Euro") {
		t.Fatalf("the fee norm is not the first hit: %+v", h.Hits[0])
	}
	h = hits{}
	if code := get(t, m, "/v1/search?q=Passwort+abgelaufen&corpus=tickets&k=3", &h); code != 200 || len(h.Hits) == 0 || !strings.Contains(h.Hits[0].DocID, "DEMO-1001") {
		t.Fatalf("ticket search: %d %+v", code, h)
	}
}

func upload(t *testing.T, m *Main, name string, data []byte, fields map[string]string) (int, apiError) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	resp, err := http.Post("http://"+m.Addr+"/v1/documents", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e apiError
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &e)
	return resp.StatusCode, e
}

func TestBadUploadsGetAPreciseClientErrorAndLoseNothing(t *testing.T) {
	m := start(t)
	code, e := upload(t, m, "vermerk.md", []byte("# Vermerk\n\nRückruf der Antragstellerin zum Az. 32-0815/2024 am 4. November.\n"), map[string]string{"corpus": "cases", "authority": "Stadt Musterstadt"})
	if code != 200 && code != 201 {
		t.Fatalf("good upload: %d %+v", code, e)
	}

	var truncated []byte
	if pdfs, _ := filepath.Glob("../../../shared/data/pdf/bgbl/bgbl-1_2024_17/*.pdf"); len(pdfs) > 0 {
		whole, _ := os.ReadFile(pdfs[0])
		truncated = whole[:len(whole)/3]
	}
	for _, tc := range []struct {
		name   string
		file   string
		data   []byte
		status int
		msg    string
	}{
		{"random bytes named .pdf", "scan.pdf", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 300), 400, "PDF"},
		{"a truncated PDF", "bescheid.pdf", truncated, 400, "PDF"},
		{"an XML entity bomb", "gesetz.xml", []byte(`<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><dokumente>&b;</dokumente>`), 400, "entit"},
		{"an empty file", "leer.txt", []byte{}, 400, "empty"},
		{"an upload over the size limit", "gross.txt", bytes.Repeat([]byte("Wohngeld "), 200_000), 413, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.data == nil {
				t.Skip("shared PDF data not present")
			}
			code, e := upload(t, m, tc.file, tc.data, nil)
			if code != tc.status || !strings.Contains(strings.ToLower(e.Error.Message), strings.ToLower(tc.msg)) || e.Error.RequestID == "" {
				t.Fatalf("got %d %+v, want %d mentioning %q", code, e, tc.status, tc.msg)
			}
		})
	}

	resp, err := http.Post("http://"+m.Addr+"/v1/tickets/import?columns=subject%3Dtitle,body%3Dbeschreibung", "text/csv", strings.NewReader("title,text\nDrucker,kaputt\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "beschreibung") {
		t.Fatalf("CSV missing a mapped column: %d %s", resp.StatusCode, b)
	}

	var h hits
	if code := get(t, m, "/v1/search?q=R%C3%BCckruf+Antragstellerin", &h); code != 200 || len(h.Hits) != 1 {
		t.Fatalf("the first document was lost: %d %+v", code, h)
	}
}

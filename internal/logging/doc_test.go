package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestJSONLineIsRuncShaped(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(NewHandler(&b, JSON, slog.LevelDebug))
	l.Error("container not running", "id", "c1")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %q: %v", b.String(), err)
	}
	if m["level"] != "error" || m["msg"] != "container not running" || m["time"] == nil || m["id"] != "c1" {
		t.Fatalf("unexpected fields: %v", m)
	}
}

func TestTextLine(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(NewHandler(&b, Text, slog.LevelInfo))
	l.Debug("hidden")
	l.Warn(`say "hi"`)
	s := b.String()
	if strings.Contains(s, "hidden") {
		t.Fatalf("debug line written at info level: %q", s)
	}
	if !strings.HasPrefix(s, `time="`) || !strings.Contains(s, `level=warning msg="say \"hi\""`) {
		t.Fatalf("unexpected text line %q", s)
	}
}

func TestParseFormat(t *testing.T) {
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Fatalf("want error naming the value, got %v", err)
	}
}

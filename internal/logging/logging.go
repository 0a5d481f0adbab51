// Package logging writes hako's log lines in the format runc uses, so that
// clients which parse runc's --log file (containerd shows the "msg" of the
// last error line to its user) can parse ours unchanged.
//
// Text lines look like logrus' text formatter:
//
//	time="2026-11-28T19:34:40Z" level=error msg="container not running"
//
// JSON lines look like logrus' JSON formatter:
//
//	{"level":"error","msg":"container not running","time":"2026-11-28T19:34:40Z"}
package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Format is the --log-format value.
type Format string

const (
	Text Format = "text"
	JSON Format = "json"
)

// ParseFormat checks a --log-format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Text, JSON:
		return Format(s), nil
	}
	return "", fmt.Errorf("--log-format %q is not supported: use \"text\" or \"json\"", s)
}

// Handler is a slog.Handler producing runc-compatible lines.
type Handler struct {
	mu     *sync.Mutex
	w      io.Writer
	format Format
	level  slog.Leveler
	attrs  []slog.Attr
}

// NewHandler returns a handler writing to w.
func NewHandler(w io.Writer, format Format, level slog.Leveler) *Handler {
	return &Handler{mu: new(sync.Mutex), w: w, format: format, level: level}
}

func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &n
}

func (h *Handler) WithGroup(string) slog.Handler { return h }

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	ts := t.Format(time.RFC3339Nano)
	var attrs []slog.Attr
	attrs = append(attrs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	var line []byte
	if h.format == JSON {
		m := map[string]any{"level": levelName(r.Level), "msg": r.Message, "time": ts}
		for _, a := range attrs {
			m[a.Key] = a.Value.Any()
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		line = append(b, '\n')
	} else {
		var sb strings.Builder
		sb.WriteString("time=" + strconv.Quote(ts) + " level=" + levelName(r.Level) + " msg=" + strconv.Quote(r.Message))
		for _, a := range attrs {
			sb.WriteString(" " + a.Key + "=" + strconv.Quote(a.Value.String()))
		}
		sb.WriteByte('\n')
		line = []byte(sb.String())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(line)
	return err
}

// Setup installs the default logger. path "" means stderr. It returns a
// closer for the log file.
func Setup(path string, format Format, debug bool) (io.Closer, error) {
	var w io.Writer = os.Stderr
	var c io.Closer = io.NopCloser(nil)
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening log file %s: %w", path, err)
		}
		w, c = f, f
	}
	lvl := slog.LevelInfo
	if debug {
		lvl = slog.LevelDebug
	}
	slog.SetDefault(slog.New(NewHandler(w, format, lvl)))
	return c, nil
}

package image

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress reports blob transfers. Implementations must be safe for
// concurrent use: layers are fetched in parallel.
type Progress interface {
	// Blob announces a blob of the given size about to be fetched.
	Blob(d v1.Hash, size int64) BlobProgress
	// Wait returns once every report is written.
	Wait()
}

// BlobProgress follows one blob.
type BlobProgress interface {
	Reader(r io.Reader) io.Reader // wraps the blob's content while it is copied
	Present()                     // the blob was already in the store
	Done(err error)               // the transfer ended
}

func short(d v1.Hash) string {
	if len(d.Hex) < 12 {
		return d.String()
	}
	return d.Hex[:12]
}

// Quiet reports nothing.
type Quiet struct{}

func (Quiet) Blob(v1.Hash, int64) BlobProgress { return quietBlob{} }
func (Quiet) Wait()                            {}

type quietBlob struct{}

func (quietBlob) Reader(r io.Reader) io.Reader { return r }
func (quietBlob) Present()                     {}
func (quietBlob) Done(error)                   {}

// Lines reports one line per blob event, for logs and pipes.
type Lines struct {
	mu sync.Mutex
	W  io.Writer
}

func (l *Lines) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.W, format, a...)
}

func (l *Lines) Blob(d v1.Hash, size int64) BlobProgress { return &lineBlob{l: l, d: d, size: size} }
func (l *Lines) Wait()                                   {}

type lineBlob struct {
	l    *Lines
	d    v1.Hash
	size int64
}

func (b *lineBlob) Reader(r io.Reader) io.Reader {
	b.l.printf("%s: fetching %s\n", short(b.d), humanSize(b.size))
	return r
}
func (b *lineBlob) Present() { b.l.printf("%s: already present\n", short(b.d)) }
func (b *lineBlob) Done(err error) {
	if err != nil {
		b.l.printf("%s: failed: %v\n", short(b.d), err)
		return
	}
	b.l.printf("%s: done\n", short(b.d))
}

// Bars draws one progress bar per blob (for a terminal).
type Bars struct{ p *mpb.Progress }

// NewBars draws bars on w.
func NewBars(w io.Writer) *Bars {
	return &Bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithAutoRefresh())}
}

func (b *Bars) Blob(d v1.Hash, size int64) BlobProgress {
	status := new(atomic.Pointer[string])
	setStatus(status, "fetching")
	bar := b.p.AddBar(size,
		mpb.PrependDecorators(
			decor.Name(short(d)+" "),
			decor.Any(func(st decor.Statistics) string {
				s := *status.Load()
				if s == "fetching" && st.Completed {
					return "done"
				}
				return s
			}, decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")),
	)
	return &barBlob{bar: bar, size: size, status: status}
}

func (b *Bars) Wait() { b.p.Wait() }

type barBlob struct {
	bar    *mpb.Bar
	size   int64
	status *atomic.Pointer[string]
}

func setStatus(p *atomic.Pointer[string], s string) { p.Store(&s) }

func (b *barBlob) Reader(r io.Reader) io.Reader {
	pr, err := b.bar.ProxyReader(r)
	if err != nil {
		return r
	}
	return pr
}
func (b *barBlob) Present() {
	setStatus(b.status, "already present")
	b.bar.SetCurrent(b.size)
	b.bar.SetTotal(b.size, true)
}
func (b *barBlob) Done(err error) {
	if err != nil {
		setStatus(b.status, "failed")
		b.bar.Abort(false)
		return
	}
	setStatus(b.status, "done")
	b.bar.SetTotal(-1, true)
}

// humanSize prints a byte count with a binary unit.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// HumanSize is humanSize for the CLI.
func HumanSize(n int64) string { return humanSize(n) }

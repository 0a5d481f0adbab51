package unpack

import (
	"context"
	"io"
	"log/slog"
)

// Applier applies one layer to a root filesystem. The rootfs directory must
// exist; layers are applied one after the other, lowest first.
type Applier interface {
	Apply(ctx context.Context, rootfs string, layer io.Reader, opts Options) (Stats, error)
}

// Defaults for the zero values of [Options].
const (
	DefaultMaxBytes   int64 = 64 << 30 // 64 GiB decompressed per layer
	DefaultMaxEntries       = 2_000_000
	DefaultMaxNameLen       = 4096 // PATH_MAX
	maxComponentLen         = 255  // NAME_MAX
	maxID                   = 1<<31 - 1
)

// Ownership says whether entries get the owner the layer gives them.
type Ownership int

const (
	// OwnershipAuto changes ownership when running as root (uid 0), and
	// skips it otherwise. An id that the current user namespace does not
	// map is skipped with a warning.
	OwnershipAuto Ownership = iota
	// OwnershipAlways changes ownership and fails on any error.
	OwnershipAlways
	// OwnershipNever leaves every entry owned by the caller.
	OwnershipNever
)

// Options bound and tune one Apply. The zero value is usable.
type Options struct {
	// MaxBytes bounds the decompressed bytes read from the layer (tar
	// headers included): the defence against decompression bombs.
	MaxBytes int64
	// MaxEntries bounds the number of tar entries.
	MaxEntries int
	// MaxNameLen bounds the length of an entry's name and link target.
	MaxNameLen int
	// Ownership: see [Ownership].
	Ownership Ownership
	// Logger receives warnings (skipped entries); nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxNameLen <= 0 {
		o.MaxNameLen = DefaultMaxNameLen
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Stats describe an applied layer.
type Stats struct {
	Entries     int   // tar entries read
	Bytes       int64 // decompressed bytes read
	Compression string
	// Skipped counts entries not applied: device nodes that may not be
	// created here, AUFS metadata, unknown types. Each is warned about.
	Skipped int
	// Warnings counts warnings, skipped entries included (for example
	// owners or extended attributes that could not be set here).
	Warnings int
}

// New returns hako's layer applier.
func New() Applier { return tarApplier{} }

// Apply applies layer to rootfs with hako's applier.
func Apply(ctx context.Context, rootfs string, layer io.Reader, opts Options) (Stats, error) {
	return New().Apply(ctx, rootfs, layer, opts)
}

package unpack

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicBzip2 = []byte{'B', 'Z', 'h'}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// decompress detects the layer's compression from its first bytes and
// returns the decompressed stream and the compression's name.
func decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(6)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("reading layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("layer looks gzip-compressed but its header is invalid: %w", err)
		}
		zr.Multistream(true)
		return zr, "gzip", nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(false))
		if err != nil {
			return nil, "", fmt.Errorf("layer looks zstd-compressed but cannot be read: %w", err)
		}
		return zr.IOReadCloser(), "zstd", nil
	case bytes.HasPrefix(head, magicBzip2):
		return io.NopCloser(bzip2.NewReader(br)), "bzip2", nil
	case bytes.HasPrefix(head, magicXz):
		return nil, "", fmt.Errorf("layer is xz-compressed, which OCI images do not use: decompress it first (xz -d) or use gzip or zstd")
	}
	return io.NopCloser(br), "none", nil
}

// limitReader counts bytes and fails once more than max were read.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, &LimitError{What: "decompressed size", Limit: l.max, Field: "MaxBytes"}
	}
	if rest := l.max - l.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, &LimitError{What: "decompressed size", Limit: l.max, Field: "MaxBytes"}
	}
	return n, err
}

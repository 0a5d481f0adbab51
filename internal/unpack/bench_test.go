package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// benchLayer is a gzip layer shaped like a small distribution: 3,000
// files in 150 directories (most under 16 KiB, a few of 1 MiB), symlinks
// and hard links.
func benchLayer(b *testing.B) ([]byte, int64) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	content := make([]byte, 1<<20)
	for i := range content {
		content[i] = byte(i*7 + i/4096)
	}
	for d := range 150 {
		dir := fmt.Sprintf("usr/share/pkg%03d", d)
		tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: testTime})
		for f := range 20 {
			size := int64((d*31+f*17)%16) << 10
			if f == 0 && d%10 == 0 {
				size = 1 << 20
			}
			name := fmt.Sprintf("%s/file%02d", dir, f)
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: testTime})
			tw.Write(content[:size])
			if f == 1 {
				tw.WriteHeader(&tar.Header{Name: name + ".link", Typeflag: tar.TypeSymlink, Linkname: "file01", ModTime: testTime})
				tw.WriteHeader(&tar.Header{Name: name + ".hard", Typeflag: tar.TypeLink, Linkname: name, ModTime: testTime})
			}
		}
	}
	tw.Close()
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(raw.Bytes())
	gw.Close()
	return gz.Bytes(), int64(raw.Len())
}

func BenchmarkUnpack(b *testing.B) {
	layer, size := benchLayer(b)
	tmp := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		rootfs := filepath.Join(tmp, fmt.Sprint(i))
		os.Mkdir(rootfs, 0o755)
		b.StartTimer()
		if _, err := Apply(context.Background(), rootfs, bytes.NewReader(layer), Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(rootfs)
		b.StartTimer()
	}
}

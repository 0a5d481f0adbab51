package image

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/hako-dev/hako/internal/image/imagetest"
)

func pushBusybox(t *testing.T, auth imagetest.Auth) *imagetest.Registry {
	t.Helper()
	reg := imagetest.NewRegistry(t, auth)
	reg.PushIndex(t, "hako/busybox:1.0", imagetest.Index(t))
	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, imagetest.Password))
	return reg
}

func TestPullBasicAuth(t *testing.T) {
	reg := pushBusybox(t, imagetest.Basic)
	s := newStore(t)
	var lines bytes.Buffer
	rec, err := s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{Progress: &Lines{W: &lines}})
	if err != nil {
		t.Fatal(err)
	}
	host := imagetest.Platforms()[0]
	if rec.Name != reg.Ref("hako/busybox:1.0") || rec.Platform != platformString(host) || !rec.Created.Equal(imagetest.Created) {
		t.Errorf("record = %+v", rec)
	}
	if !strings.Contains(lines.String(), ": fetching") || !strings.Contains(lines.String(), ": done") {
		t.Errorf("progress lines:\n%s", lines.String())
	}
	// The store is an OCI layout other tools read.
	if _, err := layout.ImageIndexFromPath(s.Root()); err != nil {
		t.Fatalf("store is not an OCI layout: %v", err)
	}
	imagetest.CheckRootfs(t, unpackImage(t, s, rec), host)

	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Digest != rec.Digest || list[0].Size != rec.Size {
		t.Fatalf("List = %+v, %v; want the pulled image %+v", list, err, rec)
	}
}

func TestPullBearerTokenFlow(t *testing.T) {
	reg := pushBusybox(t, imagetest.Bearer)
	tokens := reg.Tokens()
	s := newStore(t)
	rec, err := s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Tokens() == tokens {
		t.Error("the pull never asked /token for a Bearer token")
	}
	imagetest.CheckRootfs(t, unpackImage(t, s, rec), imagetest.Platforms()[0])
}

func TestPullBadCredentials(t *testing.T) {
	for _, auth := range []imagetest.Auth{imagetest.Basic, imagetest.Bearer} {
		reg := pushBusybox(t, auth)
		t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, "wrong"))
		s := newStore(t)
		_, err := s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{})
		if err == nil || !strings.Contains(err.Error(), "refused access") || !strings.Contains(err.Error(), "docker login "+reg.Host) {
			t.Errorf("auth %d: err = %v, want a 'refused access ... docker login' error", auth, err)
		}
		// Anonymous: no credentials at all.
		_, err = s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{Keychain: authn.NewMultiKeychain()})
		if err == nil || !strings.Contains(err.Error(), "refused access") {
			t.Errorf("auth %d anonymous: err = %v", auth, err)
		}
		if list, _ := s.List(); len(list) != 0 {
			t.Errorf("a failed pull recorded %v", list)
		}
	}
}

func TestPullPlatform(t *testing.T) {
	reg := pushBusybox(t, imagetest.Basic)
	s := newStore(t)
	other := imagetest.Platforms()[1]
	rec, err := s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{Platform: platformString(other)})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Platform != platformString(other) {
		t.Errorf("platform = %s, want %s", rec.Platform, platformString(other))
	}
	imagetest.CheckRootfs(t, unpackImage(t, s, rec), other)

	_, err = s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{Platform: "linux/s390x"})
	if err == nil || !strings.Contains(err.Error(), "no image for linux/s390x") || !strings.Contains(err.Error(), platformString(other)) {
		t.Errorf("err = %v, want one listing the platforms there are", err)
	}
	if _, err := s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{Platform: "linux"}); err == nil {
		t.Error("platform \"linux\" accepted")
	}
}

func TestPullSinglePlatformImageChecksPlatform(t *testing.T) {
	reg := imagetest.NewRegistry(t, imagetest.Basic)
	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, imagetest.Password))
	other := imagetest.Platforms()[1]
	reg.PushImage(t, "single:1", imagetest.Image(t, other))
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.Ref("single:1"), PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "is an image for "+platformString(other)) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Pull(context.Background(), reg.Ref("single:1"), PullOptions{Platform: platformString(other)}); err != nil {
		t.Fatal(err)
	}
}

func TestPullDoesNotRefetchBlobs(t *testing.T) {
	reg := pushBusybox(t, imagetest.Basic)
	s := newStore(t)
	ref := reg.Ref("hako/busybox:1.0")
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	first := reg.TotalBlobGets()
	if first == 0 {
		t.Fatal("the registry counted no blob fetch")
	}
	var lines bytes.Buffer
	if _, err := s.Pull(context.Background(), ref, PullOptions{Progress: &Lines{W: &lines}}); err != nil {
		t.Fatal(err)
	}
	if again := reg.TotalBlobGets() - first; again > 1 { // the config may be read again
		t.Errorf("second pull fetched %d blobs, want at most the config", again)
	}
	if strings.Count(lines.String(), "already present") != 2 {
		t.Errorf("progress:\n%s\nwant both layers already present", lines.String())
	}
	// The other platform shares the busybox layer: only its upper layer
	// is fetched.
	img := imagetest.Image(t, imagetest.Platforms()[1])
	base := layerDigests(t, img)[0]
	before := reg.BlobGets(base)
	if _, err := s.Pull(context.Background(), ref, PullOptions{Platform: platformString(imagetest.Platforms()[1])}); err != nil {
		t.Fatal(err)
	}
	if reg.BlobGets(base) != before {
		t.Error("the shared base layer was fetched again")
	}
}

func TestPullRefusesTamperedBlobs(t *testing.T) {
	reg := pushBusybox(t, imagetest.Basic)
	reg.Corrupt = true
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.Ref("hako/busybox:1.0"), PullOptions{})
	if err == nil {
		t.Fatal("a pull of corrupted blobs succeeded")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "digest") {
		t.Errorf("err = %v, want it to say the digest does not match", err)
	}
	if n := blobCount(t, s); n != 0 {
		t.Errorf("%d blobs stored from a corrupted pull", n)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("a failed pull recorded %v", list)
	}
}

func TestPullNotFound(t *testing.T) {
	reg := pushBusybox(t, imagetest.Basic)
	_, err := newStore(t).Pull(context.Background(), reg.Ref("hako/nothing:1"), PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestPullUnreachable(t *testing.T) {
	_, err := newStore(t).Pull(context.Background(), "127.0.0.1:1/x:1", PullOptions{Keychain: authn.NewMultiKeychain()})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the registry 127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveAndRemove(t *testing.T) {
	reg := pushBusybox(t, imagetest.Basic)
	s := newStore(t)
	ref := reg.Ref("hako/busybox:1.0")
	host, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reg.PushIndex(t, "hako/other:2", imagetest.Index(t))
	other, err := s.Pull(context.Background(), reg.Ref("hako/other:2"), PullOptions{Platform: platformString(imagetest.Platforms()[1])})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{ref, host.Digest.String(), host.Digest.Hex[:8]} {
		if r, err := s.Resolve(q); err != nil || r.Digest != host.Digest {
			t.Errorf("Resolve(%q) = %v, %v", q, r.Digest, err)
		}
	}
	_, err = s.Resolve(reg.Ref("hako/busybox:2.0"))
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Resolve of a missing tag: %v", err)
	}
	blobs := blobCount(t, s)
	if _, err := s.Remove(ref); err != nil {
		t.Fatal(err)
	}
	// The other image shares the base layer: it stays, the rest goes.
	if n := blobCount(t, s); n != blobs-3 {
		t.Errorf("after rmi: %d blobs, want %d (manifest, config, upper layer removed)", n, blobs-3)
	}
	unpackImage(t, s, other) // still whole
	if _, err := s.Remove(other.Digest.Hex[:12]); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, s); n != 0 {
		t.Errorf("after removing every image: %d blobs left", n)
	}
	if _, err := s.Remove(ref); !errors.As(err, &nf) {
		t.Errorf("rmi of a removed image: %v", err)
	}
}

func TestListMissingStore(t *testing.T) {
	s := newStore(t)
	list, err := s.List()
	if err != nil || len(list) != 0 {
		t.Fatalf("List of a store never written = %v, %v", list, err)
	}
	if _, err := os.Stat(s.Root()); !os.IsNotExist(err) {
		t.Error("List created the store")
	}
}

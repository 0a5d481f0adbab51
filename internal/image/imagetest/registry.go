package imagetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Auth is how the registry checks clients.
type Auth int

const (
	// Basic: every /v2/ request carries the user and password.
	Basic Auth = iota
	// Bearer: /v2/ answers 401 with a Bearer challenge naming /token,
	// which gives a token for the user and password (the flow public
	// registries use).
	Bearer
)

// User and Password are the registry's only credentials.
const (
	User     = "hako"
	Password = "s3cret"
	token    = "tok-8d1f0c"
)

// Registry is an in-process registry on 127.0.0.1.
type Registry struct {
	Host   string // 127.0.0.1:PORT
	auth   Auth
	inner  http.Handler
	mu     sync.Mutex
	blobs  map[string]int // GETs of each blob digest
	tokens int
	// Corrupt, when set, flips a byte in every blob served.
	Corrupt bool
}

// NewRegistry starts a registry for the test's lifetime.
func NewRegistry(t testing.TB, auth Auth) *Registry {
	t.Helper()
	r := &Registry{auth: auth, inner: registry.New(registry.Logger(log.New(io.Discard, "", 0))), blobs: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/token" {
		if u, p, ok := req.BasicAuth(); !ok || u != User || p != Password {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.tokens++
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":%q,"access_token":%q,"expires_in":300}`, token, token)
		return
	}
	if !r.authorized(req) {
		if r.auth == Bearer {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="hako-test"`, r.Host))
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="hako-test"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	if i := strings.Index(req.URL.Path, "/blobs/sha256:"); i >= 0 && req.Method == http.MethodGet {
		r.mu.Lock()
		r.blobs[req.URL.Path[i+len("/blobs/"):]]++
		r.mu.Unlock()
		if r.Corrupt {
			r.inner.ServeHTTP(&corrupter{ResponseWriter: w}, req)
			return
		}
	}
	r.inner.ServeHTTP(w, req)
}

func (r *Registry) authorized(req *http.Request) bool {
	h := req.Header.Get("Authorization")
	switch r.auth {
	case Bearer:
		return h == "Bearer "+token
	default:
		u, p, ok := req.BasicAuth()
		return ok && u == User && p == Password
	}
}

// corrupter flips the first byte of a response body.
type corrupter struct {
	http.ResponseWriter
	done bool
}

func (c *corrupter) Write(b []byte) (int, error) {
	if !c.done && len(b) > 0 {
		c.done = true
		b = append([]byte{b[0] ^ 0xff}, b[1:]...)
	}
	return c.ResponseWriter.Write(b)
}

// BlobGets is how many times each blob was fetched.
func (r *Registry) BlobGets(d v1.Hash) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobs[d.String()]
}

// TotalBlobGets counts every blob fetch.
func (r *Registry) TotalBlobGets() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.blobs {
		n += c
	}
	return n
}

// Tokens is how many tokens /token handed out.
func (r *Registry) Tokens() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens
}

// Ref is "HOST/repo:tag" on this registry.
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

var pushAuth = remote.WithAuth(&authn.Basic{Username: User, Password: Password})

// PushIndex pushes an index (and its images) as repoTag.
func (r *Registry) PushIndex(t testing.TB, repoTag string, idx v1.ImageIndex) {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, pushAuth); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// PushImage pushes a single image as repoTag.
func (r *Registry) PushImage(t testing.TB, repoTag string, img v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, pushAuth); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// DockerConfig writes a docker config.json with the registry's
// credentials (password given) into a new directory and returns it: set
// DOCKER_CONFIG to it.
func (r *Registry) DockerConfig(t testing.TB, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(User + ":" + password))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{r.Host: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

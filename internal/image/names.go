package image

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// normalizeName turns a reference as a person writes it into the full
// form the store records (registry, repository, and tag or digest), with
// go-containerregistry's defaults for a missing registry or tag.
func normalizeName(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not an image reference: %w", ref, err)
	}
	return r.Name(), nil
}

// HostPlatform is the platform pulled by default: linux and this
// machine's architecture.
func HostPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p
}

// ParsePlatform reads "os/arch[/variant]"; "" means HostPlatform.
func ParsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return HostPlatform(), nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch or os/arch/variant, e.g. linux/arm64", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// platformMatches: OS and architecture equal, and the variant too when
// want names one.
func platformMatches(want, have v1.Platform) bool {
	return want.OS == have.OS && want.Architecture == have.Architecture &&
		(want.Variant == "" || want.Variant == have.Variant)
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pickManifest chooses the image of an index for a platform.
func pickManifest(what string, im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	var have []string
	for _, d := range im.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() {
			continue
		}
		if platformMatches(want, *d.Platform) {
			return d, nil
		}
		if d.Platform.OS != "unknown" {
			have = append(have, platformString(*d.Platform))
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%s has no image for %s; it has %s: choose one with --platform",
		what, platformString(want), strings.Join(have, ", "))
}

// checkConfigPlatform refuses a single-platform image built for another
// platform than the one asked for.
func checkConfigPlatform(what string, cf *v1.ConfigFile, want v1.Platform) error {
	if cf.OS == "" && cf.Architecture == "" {
		return nil // nothing to compare
	}
	have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if !platformMatches(want, have) {
		return fmt.Errorf("%s is an image for %s, not %s: pass --platform %s to take it anyway",
			what, platformString(have), platformString(want), platformString(have))
	}
	return nil
}

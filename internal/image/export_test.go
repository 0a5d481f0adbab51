package image

import "os/exec"

// ParseDigestForTest exposes parseDigest.
func ParseDigestForTest(s string) (any, error) { return parseDigest(s) }

func runTar(args ...string) ([]byte, error) { return exec.Command("tar", args...).CombinedOutput() }

//go:build !(linux && amd64)

package sigfwd

import "testing"

func currentHandler(t *testing.T, sig int) uintptr { return 0 }

func handlerAddr() uintptr { return 1 }

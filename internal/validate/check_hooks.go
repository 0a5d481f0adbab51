package validate

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

type hookList struct {
	name  string
	hooks []specs.Hook
	// inContainer: the path resolves in the container's mount namespace
	// (startContainer), not the runtime's.
	inContainer bool
}

func (c *checker) hookLists() []hookList {
	h := c.s.Hooks
	if h == nil {
		return nil
	}
	return []hookList{
		{"prestart", h.Prestart, false},
		{"createRuntime", h.CreateRuntime, false},
		{"createContainer", h.CreateContainer, false},
		{"startContainer", h.StartContainer, true},
		{"poststart", h.Poststart, false},
		{"poststop", h.Poststop, false},
	}
}

func (c *checker) checkHooks() {
	for _, l := range c.hookLists() {
		if l.name == "prestart" && len(l.hooks) > 0 {
			c.warnf("hooks.prestart", ruleHooks, "move them to createRuntime (same moment, same namespace)", "prestart hooks are DEPRECATED")
		}
		for i, h := range l.hooks {
			p := indexPath("hooks."+l.name, i)
			switch {
			case h.Path == "":
				c.errorf(p+".path", ruleHooks, "write the absolute path of the program", "missing: a hook's path is REQUIRED")
			case !isAbs(h.Path):
				c.errorf(p+".path", ruleHooks, "write the absolute path, e.g. /usr/bin/"+h.Path, "the hook path %q must be absolute", h.Path)
			}
			if h.Timeout != nil && *h.Timeout <= 0 {
				c.errorf(p+".timeout", ruleHooks, "give a number of seconds greater than zero, or leave timeout out", "timeout %d must be greater than zero", *h.Timeout)
			}
			c.checkEnv(p+".env", h.Env, ruleHooks)
		}
	}
}

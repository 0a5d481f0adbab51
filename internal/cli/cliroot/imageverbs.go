package cliroot

// ImageHelper is the name of the helper binary that implements the image
// verbs; hako looks for it next to itself, then in $PATH.
const ImageHelper = "hako-image"

// ImageHelperEnv names the variable that points hako at the helper binary
// explicitly (e.g. to test an installed pair).
const ImageHelperEnv = "HAKO_IMAGE_BINARY"

// Verb is one command of the image helper as hako's help lists it.
type Verb struct {
	Name  string // the command name, e.g. "pull"
	Use   string // cobra's one-line usage
	Short string // the line `hako --help` shows
}

// ImageVerbs are the commands of the image half. The lean hako lists them in
// its help and hands them to the helper; the helper defines them with
// exactly these Use and Short lines (a test checks both sides).
var ImageVerbs = []Verb{
	{"pull", "pull [flags] REF", "pull an image from a registry into the image store"},
	{"images", "images [flags]", "list the images in the image store"},
	{"rmi", "rmi [flags] REF...", "remove images from the image store"},
	{"import", "import [flags] FILE|DIR", "import a docker save or docker export archive, or an OCI image layout"},
	{"bundle", "bundle [flags] REF DIR [-- ARGS...]", "make an OCI bundle (rootfs/ and config.json) from an image"},
}

// ImageVerb returns the verb called name; ok is false if there is none.
func ImageVerb(name string) (v Verb, ok bool) {
	for _, v := range ImageVerbs {
		if v.Name == name {
			return v, true
		}
	}
	return Verb{}, false
}

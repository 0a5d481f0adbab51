// Package imagecli is the command line of hako's image half: pull, images,
// rmi, import and bundle, one file per subcommand. It is linked into the
// helper binary hako-image only, so that the runtime binary hako does not
// pay for the registry client, HTTP, TLS and decompressors at every start;
// hako lists these verbs and execs the helper with the same arguments.
package imagecli

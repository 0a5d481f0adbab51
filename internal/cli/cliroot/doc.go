// Package cliroot is what hako's two command lines share: the lean runtime
// binary (cmd/hako, package internal/cli) and its image helper
// (cmd/hako-image, package internal/cli/imagecli). It holds the root
// command with runc's global flags, logging set-up, exit codes, the version
// string and the table of verbs the helper implements.
//
// It must stay cheap: both binaries link it, and the runtime binary's start
// time is paid by every `hako run`. It imports no hako package but logging,
// and nothing of the image half.
package cliroot

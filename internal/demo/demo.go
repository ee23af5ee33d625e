// Package demo carries the small checkpoint that `rwkv-tools demo` runs the
// whole pipeline on, so a fresh clone can try the tool with no download.
// testdata/make_demo.py made it with PyTorch (random weights, byte-level
// vocabulary of 256, RWKV-4, bf16, saved the way published checkpoints are).
package demo

import _ "embed"

// CheckpointName is the file name the demo writes the checkpoint under.
const CheckpointName = "tiny-rwkv4-demo-bf16.pth"

//go:embed testdata/tiny-rwkv4-demo-bf16.pth
var Checkpoint []byte

// Command rwkv-tools converts, quantizes, runs and evaluates RWKV models.
package main

import (
	"os"

	"github.com/rwkv-tools/rwkv-tools/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

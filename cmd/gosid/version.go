package main

import (
	"context"
	"fmt"

	"github.com/gosid/gosid/internal/cmdline"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(_ context.Context, env *cmdline.Env, _ []string) int {
	fmt.Fprintln(env.Stdout, cmdline.VersionLine("gosid", version))
	return exitOK
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
)

// Exit codes, documented in every command's help.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const exitStatusHelp = `Exit status:
  0  success
  1  the command failed; the message says what and what to do
  2  invalid command line`

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	help    string
	// run executes the command with its flags already parsed.
	run func(ctx context.Context, env *cmdEnv, args []string) error
	// flags declares the command's flags on fs.
	flags func(fs *flag.FlagSet, env *cmdEnv)
}

// cmdEnv is what a command runs with: output streams and global flags.
type cmdEnv struct {
	stdout, stderr io.Writer
	configPath     string
	logFormat      string
	appendOnly     bool
	// opts holds the command's own flag values, set by its flags func.
	opts any
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is a command-line mistake; it exits with exitUsage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	defer stop()
	err := dispatch(ctx, args, stdout, stderr)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "lifeline: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

func dispatch(ctx context.Context, args []string, stdout,
	stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" ||
		args[0] == "--help" {
		if len(args) > 1 {
			if c := findCommand(args[1]); c != nil {
				printHelp(stdout, c, newFlagSet(c, &cmdEnv{}, stdout))
				return nil
			}
		}
		printOverview(stdout)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return nil
	}
	c := findCommand(args[0])
	if c == nil {
		return usagef("unknown command %q; run 'lifeline help' for the "+
			"list", args[0])
	}
	env := &cmdEnv{stdout: stdout, stderr: stderr}
	fs := newFlagSet(c, env, stderr)
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, c, fs)
			return err
		}
		return usagef("%s: %v", c.name, err)
	}
	return c.run(ctx, env, positional)
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(c *command, env *cmdEnv, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&env.configPath, "config", "",
		"configuration `file` (default $LIFELINE_CONFIG, else ./lifeline.yaml)")
	fs.StringVar(&env.logFormat, "log-format", "auto",
		"log `format`: text, json, or auto (text on a terminal, else json)")
	fs.BoolVar(&env.appendOnly, "append-only", false,
		"never delete or overwrite anything in the repository, as "+
			"repository.append_only does")
	if c.flags != nil {
		c.flags(fs, env)
	}
	return fs
}

func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\n", c.usage, strings.TrimSpace(c.help))
	fmt.Fprintln(w, "Options:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\n%s\n", exitStatusHelp)
}

func printOverview(w io.Writer) {
	fmt.Fprint(w, `lifeline backs up key-value data (Redis, bbolt, Cloudflare Workers KV,
etcd, NATS KV, snapshot endpoints, S3 bucket listings) into encrypted,
compressed backups in a local folder or S3-compatible storage, and
restores them.

Usage: lifeline COMMAND [OPTIONS]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun 'lifeline help COMMAND' or 'lifeline COMMAND "+
		"--help' for details.\n\n%s\n", exitStatusHelp)
}

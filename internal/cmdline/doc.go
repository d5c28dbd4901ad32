// Package cmdline is the command line of Gosid's binaries: it loads the options
// of one subcommand from the command line, the environment and an optional
// YAML file and validates them all at once, and it runs subcommands
// ([Command], [Dispatch], [Env]) with the exit codes and output shapes
// (problems on stderr, --json or aligned text on stdout) every subcommand
// shares. It imports nothing of Gosid.
//
// # One name, three sources
//
// Every option has a single name such as data-dir, and that name is used in
// all three sources:
//
//   - the flag --data-dir (also -data-dir, --data-dir=VALUE, -data-dir=VALUE);
//   - the environment variable GOSID_DATA_DIR: "GOSID_", then the name in
//     upper case with "-" replaced by "_";
//   - the key data-dir in the YAML file named by --config FILE or
//     GOSID_CONFIG.
//
// # Precedence
//
// A flag wins over the environment, the environment over the file, and the
// file over the default. A list given by a higher source replaces the lower
// one's list; it is never merged. An environment variable set to the empty
// string counts as unset, so that "GOSID_X=${X}" in a deployment file does
// not override anything when X is empty.
//
// # Problems
//
// Go's flag package stops at the first error; Parse does not. It checks every
// value in every source (including values that a higher source overrides) and
// returns every problem as one [Problems] value, one line per problem, each
// naming where it came from ("flag --log-format", "GOSID_LOG_FORMAT",
// "config file /etc/gosid.yaml: line 3: log-format"). The caller appends its
// own semantic problems with [Problems.Add] and reports the whole list.
// Environment variables starting with GOSID_ that name no option of the set
// are ignored, because tests and other subcommands use them; unknown flags
// and unknown keys in the file are problems.
//
// Values of secret options ([Set.SecretString]) are never written into a
// problem or the usage text.
package cmdline

package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Load builds a Config from command-line flags (args, without the
// subcommand's name) and environment variables read through getenv, usually
// os.Getenv; it never reads the process environment itself. A flag given in
// args wins over its variable, which wins over the default; an empty value
// counts as unset. Electric variables listed by Unsupported fail the load
// when set to a value that matters; those listed by Ignored are never read.
//
// Load returns the Config once Validate accepts it. Otherwise it returns every
// problem as a *FieldError, joined with errors.Join; for a value given by a
// flag, the message says so. -h or --help prints the usage, which lists the
// environment variables, to stderr and returns flag.ErrHelp; other flag
// syntax errors are printed there too and returned as they are.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if stderr == nil {
		stderr = io.Discard
	}
	table := settings()

	fs := flag.NewFlagSet("galvani serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { writeUsage(fs.Output(), table) }
	values := make([]flagValue, len(table))
	for i, s := range table {
		values[i].isBool = s.isBool
		fs.Var(&values[i], s.flag, s.help)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: galvani serve takes only flags (see --help)", fs.Arg(0))
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	c := Default()
	var errs []*FieldError
	sources := make(map[string]source, len(table)) // by setting's env
	for i, s := range table {
		var src source
		var v string
		if given[s.flag] {
			src, v = source{env: s.env, flag: s.flag}, values[i].value
		} else {
			for _, name := range s.names() {
				if v = getenv(name); v != "" {
					src = source{env: name}
					break
				}
			}
		}
		sources[s.env] = src
		if strings.TrimSpace(v) == "" {
			continue // unset: keep the default
		}
		if err := s.apply(&c, v); err != nil {
			errs = append(errs, src.attribute(&FieldError{Name: s.env, Value: s.shown(v), Err: err}))
		}
	}
	errs = append(errs, checkElectricVars(getenv)...)
	if len(errs) > 0 {
		// Skip Validate: a field that failed to parse still holds its
		// default, and checks on it would mislead.
		return Config{}, joinFieldErrors(errs)
	}

	if c.PooledDatabaseURL == "" {
		c.PooledDatabaseURL = c.DatabaseURL
	}
	for _, fe := range c.check() {
		errs = append(errs, sources[fe.Name].attribute(fe))
	}
	if len(errs) > 0 {
		return Config{}, joinFieldErrors(errs)
	}
	return c, nil
}

// source records where a setting's value came from.
type source struct {
	env  string // variable that was read, or the setting's own when flag is set
	flag string // flag that gave the value, if any
}

// attribute points fe at the source: the older variable name when that is
// the one set, and a note when a flag gave the value.
func (s source) attribute(fe *FieldError) *FieldError {
	if s.env != "" {
		fe.Name = s.env
	}
	if s.flag != "" {
		fe.Err = fmt.Errorf("%w (given by --%s)", fe.Err, s.flag)
	}
	return fe
}

// flagValue holds a flag's text as given; Load parses it exactly as it
// parses the environment variable, so both accept the same spellings.
type flagValue struct {
	value  string
	isBool bool
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return f.value
}

func (f *flagValue) Set(s string) error {
	f.value = s
	return nil
}

// IsBoolFlag lets a boolean flag be given alone (--insecure means
// --insecure=true), as the flag package does for its own booleans.
func (f *flagValue) IsBoolFlag() bool { return f.isBool }

// writeUsage prints the help for galvani serve: every setting with its flag,
// variable and default, then the Electric variables ignored and refused.
func writeUsage(w io.Writer, table []setting) {
	var b strings.Builder
	b.WriteString("Usage: galvani serve [flags]\n\n")
	b.WriteString("Each setting comes from a flag or from Electric's environment variable; a flag\n")
	b.WriteString("wins over its variable. An empty value counts as unset.\n\n")
	for _, s := range table {
		fmt.Fprintf(&b, "  --%s, %s", s.flag, s.env)
		if s.def != "" {
			fmt.Fprintf(&b, " (default %s)", s.def)
		}
		fmt.Fprintf(&b, "\n        %s\n", s.help)
	}
	b.WriteString("\nAccepted and ignored:\n")
	writeWrapped(&b, Ignored())
	b.WriteString("\nNot supported yet (galvani serve refuses to start when one is set to a value\nthat would change behaviour):\n")
	writeWrapped(&b, Unsupported())
	_, _ = io.WriteString(w, b.String()) // nothing to do if stderr fails
}

// writeWrapped writes names as a comma-separated list indented by two
// spaces, wrapped before 80 columns.
func writeWrapped(b *strings.Builder, names []string) {
	const width = 80
	line := 0
	for i, name := range names {
		word := name
		if i < len(names)-1 {
			word += ","
		}
		if line > 0 && line+1+len(word) > width {
			b.WriteByte('\n')
			line = 0
		}
		if line == 0 {
			b.WriteString("  ")
			line = 2
		} else {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	b.WriteByte('\n')
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// applyConfig fills every flag of cmd that the command line left unset:
// first from the environment (COMPUTESCALE_ and the flag name in capitals,
// '-' as '_': --metrics-listen is COMPUTESCALE_METRICS_LISTEN), then from the
// JSON file named by --config, whose keys are flag names. So the precedence
// is: command line > environment > config file > built-in default. A key
// that names no flag of the command, or a value the flag rejects, fails at
// once, naming its origin.
func applyConfig(cmd *cobra.Command, env func(string) (string, bool)) error {
	file := map[string]any{}
	if path, _ := cmd.Flags().GetString("config"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&file); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
		for key := range file {
			if f := cmd.Flags().Lookup(key); f == nil || key == "config" {
				return fmt.Errorf("config %s: %q is not a flag of %q", path, key, cmd.CommandPath())
			}
		}
	}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		if v, ok := env(name); ok {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("$%s: %w", name, serr)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if serr := f.Value.Set(fmt.Sprint(v)); serr != nil {
				err = fmt.Errorf("config key %q: %w", f.Name, serr)
			}
		}
	})
	return err
}

// envName is the environment variable of a flag: --dial-timeout is
// COMPUTESCALE_DIAL_TIMEOUT.
func envName(flag string) string {
	return "COMPUTESCALE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

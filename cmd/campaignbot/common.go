package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
)

// commonFlags are accepted by every command that loads configuration.
type commonFlags struct {
	configFile string
	logFormat  string
	logLevel   string
}

func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &commonFlags{}
	fs.StringVar(&c.configFile, "config", "", "YAML configuration file")
	fs.StringVar(&c.logFormat, "log-format", "", "json or console")
	fs.StringVar(&c.logLevel, "log-level", "", "trace, debug, info, warn or error")
	return fs, c
}

// load reads configuration for role, applies the flags, validates it and
// builds the logger. Every configuration problem comes back in one error.
func (c *commonFlags) load(role config.Role, stderr io.Writer) (config.Config, zerolog.Logger, error) {
	cfg, err := config.Load(c.configFile, nil)
	if c.logFormat != "" {
		cfg.Log.Format = c.logFormat
	}
	if c.logLevel != "" {
		cfg.Log.Level = c.logLevel
	}
	if err == nil {
		err = cfg.Validate(role)
	} else if verr := cfg.Validate(role); verr != nil {
		err = append(err.(config.Problems), verr.(config.Problems)...)
	}
	if err != nil {
		return cfg, zerolog.Nop(), exitError{2, err}
	}
	logger, err := app.NewLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return cfg, zerolog.Nop(), exitError{2, fmt.Errorf("logging: %w", err)}
	}
	return cfg, logger.With().Str("role", string(role)).Logger(), nil
}
